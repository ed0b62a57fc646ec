"""Unit tests of the NITRO client: normalisation, encoding, errors, auth retry."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.factorgate.mfa.plugins.module_utils._nitro import (
    NitroClient,
    NitroError,
    Schema,
    differing_keys,
    encode_name,
    encode_pairs,
    normalise,
    read_title,
    replace_title,
    to_number,
)

LDAP = Schema(
    resource="authenticationldapaction",
    numbers=frozenset({"serverport", "authtimeout"}),
    enums=frozenset({"sectype"}),
    secrets=frozenset({"ldapbinddnpassword"}),
    defaults={"authtimeout": 3, "serverport": 389, "sectype": "PLAINTEXT"},
)
MONITOR = Schema(
    resource="lbmonitor",
    key="monitorname",
    numbers=frozenset({"interval"}),
    defaults={"interval": 5, "units3": "SEC"},
    durations={"interval": "units3"},
)


def test_to_number_double_string() -> None:
    assert to_number("3") == 3
    assert to_number("2.5") == 2.5
    assert to_number(7.0) == 7
    assert to_number("abc") == "abc"


def test_differing_keys_double_as_string_is_equal() -> None:
    assert differing_keys(LDAP, {"authtimeout": 65}, {"authtimeout": "65"}) == []


def test_differing_keys_enum_case_is_ignored() -> None:
    assert differing_keys(LDAP, {"sectype": "tls"}, {"sectype": "TLS"}) == []


def test_differing_keys_default_fills_unset_attribute() -> None:
    assert differing_keys(LDAP, {"serverport": 389}, {}) == []
    assert differing_keys(LDAP, {"serverport": 636}, {}) == ["serverport"]


def test_differing_keys_never_compares_secret() -> None:
    assert differing_keys(LDAP, {"ldapbinddnpassword": "plain"}, {"ldapbinddnpassword": "a1b2c3"}) == []


def test_differing_keys_interval_60_sec_equals_1_min() -> None:
    assert differing_keys(MONITOR, {"interval": 60, "units3": "SEC"}, {"interval": 1, "units3": "MIN"}) == []
    assert differing_keys(MONITOR, {"interval": 90, "units3": "SEC"}, {"interval": 1, "units3": "MIN"}) == ["interval"]


def test_normalise_drops_secret_and_readonly() -> None:
    row = {"name": "a", "authtimeout": "65", "ldapbinddnpassword": "hash", "success": "4", "__count": 1}
    wanted = {"name": "a", "authtimeout": 65, "ldapbinddnpassword": "x"}

    assert normalise(LDAP, row, wanted) == {"name": "a", "authtimeout": 65}


def test_encode_name_twice_and_args_once() -> None:
    assert encode_name("fg ldap/1") == "fg%2520ldap%252F1"
    assert encode_pairs({"filelocation": "/var/x y", "secondary": True}) == "filelocation:%2Fvar%2Fx%20y,secondary:true"


def test_error_sentence_names_object_and_remedy() -> None:
    error = NitroError(599, 1453, "Portal theme in use [name, t]", "vpnportaltheme", "t", "delete")

    assert str(error).startswith("NITRO delete of vpnportaltheme 't' failed (HTTP 599, errorcode 1453): Portal theme in use")
    assert "unbind the theme" in str(error)


def test_replace_title_keeps_other_labels() -> None:
    xml = "<r><Title>Please log on</Title><String id=\"U\">User &amp; name</String></r>"

    updated = replace_title("X1", xml, "Wait for <the> call")

    assert updated == "<r><Title>Wait for &lt;the&gt; call</Title><String id=\"U\">User &amp; name</String></r>"
    assert read_title("X1", updated) == "Wait for <the> call"


def test_replace_title_rfwebui_json() -> None:
    text = json.dumps({"nsg-loginTitle": "Please log on", "nsg-username": "User name"})

    updated = json.loads(replace_title("RfWebUI", text, "Wait"))

    assert updated == {"nsg-loginTitle": "Wait", "nsg-username": "User name"}


class FakeNitro(BaseHTTPRequestHandler):
    """A tiny NITRO stand-in that scripts responses per request."""

    script: list = []
    seen: list = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        FakeNitro.seen.append((self.command, self.path, self.headers.get("Cookie"), body))
        status, payload = FakeNitro.script.pop(0)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_nitro():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNitro)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeNitro.script, FakeNitro.seen = [], []
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def make_client(address: str, **kwargs) -> NitroClient:
    return NitroClient(address, "nsroot", "Nitro-Pass-123", protocol="http", timeout=5, **kwargs)


def test_client_relogs_in_once_after_444(fake_nitro: str) -> None:
    FakeNitro.script = [
        (201, {"errorcode": 0, "sessionid": "tok1"}),
        (401, {"errorcode": 444, "message": "Session expired or killed. Please login again", "severity": "ERROR"}),
        (201, {"errorcode": 0, "sessionid": "tok2"}),
        (200, {"errorcode": 0, "vpnvserver": [{"name": "gw"}]}),
    ]
    client = make_client(fake_nitro)

    rows = client.get("vpnvserver", "gw")

    assert rows == [{"name": "gw"}]
    assert FakeNitro.seen[-1][2] == "NITRO_AUTH_TOKEN=tok2"


def test_client_missing_object_is_empty(fake_nitro: str) -> None:
    FakeNitro.script = [(404, {"errorcode": 258, "message": "No such resource [name, x]", "severity": "ERROR"})]
    client = make_client(fake_nitro, use_session=False)

    assert client.get_one("lbvserver", "x") is None


def test_client_error_carries_code_without_password(fake_nitro: str) -> None:
    FakeNitro.script = [(599, {"errorcode": 1065, "message": "Internal error", "severity": "ERROR"})]
    client = make_client(fake_nitro, use_session=False)

    with pytest.raises(NitroError) as raised:
        client.write("POST", "lbvserver", {"name": "x"}, operation="add")

    assert raised.value.status == 599
    assert raised.value.errorcode == 1065
    assert "Nitro-Pass-123" not in str(raised.value)


def test_client_check_mode_sends_no_write(fake_nitro: str) -> None:
    client = make_client(fake_nitro, use_session=False, check_mode=True)

    client.write("DELETE", "lbvserver", name="x", operation="delete")

    assert client.changed
    assert FakeNitro.seen == []


def test_client_given_token_is_never_logged_out(fake_nitro: str) -> None:
    FakeNitro.script = [(200, {"errorcode": 0})]
    client = make_client(fake_nitro, auth_token="given-token")

    client.get("nsversion")
    client.close()

    assert [entry[1] for entry in FakeNitro.seen] == ["/nitro/v1/config/nsversion"]
