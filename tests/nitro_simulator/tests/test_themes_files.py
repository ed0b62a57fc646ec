"""Portal themes and systemfile."""

from __future__ import annotations

import base64
import json

from conftest import Client

THEMES = "/var/netscaler/logon/themes"


def read_file(client: Client, location: str, name: str) -> bytes:
    reply = client.get("systemfile", name, query=f"args=filelocation:{location.replace('/', '%2F')}")
    assert reply.status == 200
    return base64.b64decode(reply.body["systemfile"][0]["filecontent"])


def test_theme_add_x1_creates_en_xml(client: Client) -> None:
    assert client.add("vpnportaltheme", name="fg", basetheme="X1").status == 201
    content = read_file(client, f"{THEMES}/fg/resources", "en.xml").decode()
    assert "<Title>" in content
    assert 'id="UserName"' in content


def test_theme_add_rfwebui_creates_strings_json(client: Client) -> None:
    client.add("vpnportaltheme", name="fg", basetheme="RfWebUI")
    strings = json.loads(read_file(client, f"{THEMES}/fg", "strings.en.json"))
    assert "nsg-loginTitle" in strings


def test_theme_update_is_not_supported(client: Client) -> None:
    client.add("vpnportaltheme", name="fg", basetheme="X1")
    reply = client.config("PUT", "vpnportaltheme", body={"vpnportaltheme": {"name": "fg", "basetheme": "RfWebUI"}})
    assert reply.status == 405
    assert reply.body["errorcode"] == 1240


def test_theme_reserved_name_returns_1480(client: Client) -> None:
    assert client.add("vpnportaltheme", name="EULA", basetheme="X1").body["errorcode"] == 1480
    assert client.add("vpnportaltheme", name="Custom", basetheme="X1").body["errorcode"] == 1480


def test_theme_duplicate_returns_1452(client: Client) -> None:
    client.add("vpnportaltheme", name="fg", basetheme="X1")
    assert client.add("vpnportaltheme", name="fg", basetheme="X1").body["errorcode"] == 1452


def test_theme_delete_while_bound_returns_599_1453(gateway: Client) -> None:
    gateway.add("vpnportaltheme", name="fg", basetheme="RfWebUI")
    binding = "vpnvserver_vpnportaltheme_binding"
    assert gateway.config("PUT", binding, body={binding: {"name": "gw", "portaltheme": "fg"}}).status == 201
    reply = gateway.config("DELETE", "vpnportaltheme", "fg")
    assert reply.status == 599
    assert reply.body["errorcode"] == 1453
    assert gateway.config("DELETE", binding, "gw", query="args=portaltheme:fg").status == 200
    assert gateway.config("DELETE", "vpnportaltheme", "fg").status == 200


def test_theme_delete_removes_files(client: Client) -> None:
    client.add("vpnportaltheme", name="fg", basetheme="X1")
    client.config("DELETE", "vpnportaltheme", "fg")
    location = f"{THEMES}/fg/resources".replace("/", "%2F")
    reply = client.get("systemfile", "en.xml", query=f"args=filelocation:{location}")
    assert reply.status == 404


def test_theme_binding_missing_theme_returns_1451(gateway: Client) -> None:
    binding = "vpnvserver_vpnportaltheme_binding"
    assert gateway.config("PUT", binding, body={binding: {"name": "gw", "portaltheme": "ghost"}}).body["errorcode"] == 1451


def test_theme_binding_builtin_theme_allowed(gateway: Client) -> None:
    binding = "vpnvserver_vpnportaltheme_binding"
    assert gateway.config("PUT", binding, body={binding: {"name": "gw", "portaltheme": "RfWebUI"}}).status == 201


def test_systemfile_add_get_list_delete(client: Client) -> None:
    content = base64.b64encode(b"<xml/>").decode()
    reply = client.add("systemfile", filename="a.xml", filelocation="/nsconfig/loginschema", filecontent=content, fileencoding="BASE64")
    assert reply.status == 201
    assert read_file(client, "/nsconfig/loginschema", "a.xml") == b"<xml/>"
    listing = client.get("systemfile", query="args=filelocation:%2Fnsconfig%2Floginschema").body["systemfile"]
    assert [row["filename"] for row in listing] == ["a.xml"]
    by_args = client.get("systemfile", query="args=filename:a.xml,filelocation:%2Fnsconfig%2Floginschema").body["systemfile"]
    assert by_args[0]["filecontent"] == content
    assert client.config("DELETE", "systemfile", "a.xml", query="args=filelocation:%2Fnsconfig%2Floginschema").status == 200
    assert client.get("systemfile", "a.xml", query="args=filelocation:%2Fnsconfig%2Floginschema").status == 404


def test_systemfile_duplicate_returns_409_273(client: Client) -> None:
    content = base64.b64encode(b"x").decode()
    client.add("systemfile", filename="a", filelocation="/var/tmp", filecontent=content)
    assert client.add("systemfile", filename="a", filelocation="/var/tmp", filecontent=content).status == 409


def test_systemfile_update_is_not_supported(client: Client) -> None:
    content = base64.b64encode(b"x").decode()
    client.add("systemfile", filename="a", filelocation="/var/tmp", filecontent=content)
    reply = client.config("PUT", "systemfile", body={"systemfile": {"filename": "a", "filelocation": "/var/tmp", "filecontent": content}})
    assert reply.body["errorcode"] == 1240


def test_systemfile_rejects_more_than_2_mb(client: Client) -> None:
    content = base64.b64encode(b"x" * (2 * 1024 * 1024 + 1)).decode()
    assert client.add("systemfile", filename="big", filelocation="/var/tmp", filecontent=content).body["errorcode"] == 283


def test_systemfile_rejects_other_encoding(client: Client) -> None:
    reply = client.add("systemfile", filename="a", filelocation="/var/tmp", filecontent="x", fileencoding="TEXT")
    assert reply.body["errorcode"] == 1097


def test_systemfile_get_without_location_returns_1095(client: Client) -> None:
    assert client.get("systemfile").body["errorcode"] == 1095
