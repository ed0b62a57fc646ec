"""The LDAP front end end to end: `ldapsearch` through a real node to the test AD.

Each test reproduces what a NetScaler (or any LDAP client) does: bind as the
gateway's service account, search the user, bind as the user with password
and code, read the groups.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time

import ldap3
import pytest

from factorgate.factors.otp import totp
from support.node import Node

pytestmark = pytest.mark.ad

ALICE_SEED = b"alice-seed-for-tests-0001"[:20]
DORA_SEED = b"dora-seed-for-tests-00001"[:20]


@pytest.fixture(scope="module")
def node(tmp_path_factory, test_ad):
    node = Node(tmp_path_factory.mktemp("fg-ldap"), test_ad)
    node.cli("users", "import")
    node.cli("users", "enroll", "alice", "--method", "totp", "--secret-file", "-", input=base64.b32encode(ALICE_SEED).decode())
    node.cli("users", "enroll", "dora", "--method", "totp", "--secret-file", "-", input=base64.b32encode(DORA_SEED).decode())
    node.start()
    yield node
    assert node.stop() == 0
    assert "Traceback" not in node.log_text


@pytest.fixture(scope="module")
def strict_node(tmp_path_factory, test_ad):
    """A node with require_tls and no cleartext exception."""
    node = Node(tmp_path_factory.mktemp("fg-strict"), test_ad, cleartext_clients=[])
    node.start()
    yield node
    node.stop()


class Codes:
    """Hand out each TOTP step once, waiting for the next step when needed."""

    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.last_step = -1

    def next(self) -> str:
        while int(time.time() // 30) <= self.last_step:
            time.sleep(0.2)
        self.last_step = int(time.time() // 30)
        return totp(self.seed, time.time(), 6, "SHA1", 30)


@pytest.fixture(scope="module")
def alice_codes():
    return Codes(ALICE_SEED)


def ldapsearch(url: str, bind_dn: str, password: str, base: str, *args: str, env_extra: dict | None = None, filter_: str = "(objectClass=*)") -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    command = ["ldapsearch", "-x", "-LLL", "-H", url, "-D", bind_dn, "-w", password, "-b", base, *args, filter_]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)


def users(test_ad):
    return test_ad["users"]


def test_netscaler_flow_with_code(node, test_ad, alice_codes):
    alice, svc = users(test_ad)["alice"], users(test_ad)["svc-netscaler"]
    search = ldapsearch(node.url, svc["dn"], svc["password"], test_ad["base_dn"], "dn", filter_="(sAMAccountName=alice)")
    assert search.returncode == 0, search.stderr
    assert f"dn: {alice['dn']}" in search.stdout

    bind = ldapsearch(node.url, alice["dn"], alice["password"] + alice_codes.next(), alice["dn"], "-s", "base", "memberOf")
    assert bind.returncode == 0, bind.stderr
    assert test_ad["groups"]["vpn_staff"] in bind.stdout


def test_wrong_code_rejected(node, test_ad):
    alice = users(test_ad)["alice"]
    result = ldapsearch(node.url, alice["dn"], alice["password"] + "000000", alice["dn"], "-s", "base")
    assert result.returncode == 49
    assert "second factor failed: invalid code" in result.stderr


def test_missing_code_rejected(node, test_ad):
    alice = users(test_ad)["alice"]
    result = ldapsearch(node.url, alice["dn"], alice["password"], alice["dn"], "-s", "base")
    assert result.returncode == 49
    assert "missing code" in result.stderr


def test_reused_code_rejected(node, test_ad, alice_codes):
    alice = users(test_ad)["alice"]
    code = alice_codes.next()
    first = ldapsearch(node.url, alice["dn"], alice["password"] + code, alice["dn"], "-s", "base")
    second = ldapsearch(node.url, alice["dn"], alice["password"] + code, alice["dn"], "-s", "base")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 49
    assert "code already used" in second.stderr


def test_empty_password_rejected(node, test_ad):
    alice = users(test_ad)["alice"]
    result = ldapsearch(node.url, alice["dn"], "", alice["dn"], "-s", "base")
    assert result.returncode == 49


def test_wrong_password_gets_ad_diagnostic(node, test_ad, alice_codes):
    alice = users(test_ad)["alice"]
    result = ldapsearch(node.url, alice["dn"], "Wrong-Password-1" + alice_codes.next(), alice["dn"], "-s", "base")
    assert result.returncode == 49
    assert "data 52e" in result.stderr


def test_not_enrolled_user_with_ad_password_alone(node, test_ad):
    bob = users(test_ad)["bob"]
    result = ldapsearch(node.url, bob["upn"], bob["password"], bob["dn"], "-s", "base", "dn")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("login,code", [("mustchange", "773"), ("disabled", "533"), ("locked", "775")])
def test_ad_failures_pass_through(node, test_ad, login, code):
    user = users(test_ad)[login]
    result = ldapsearch(node.url, user["upn"], user["password"], test_ad["base_dn"], "-s", "base")
    assert result.returncode == 49
    assert f"data {code}" in result.stderr


def test_non_ascii_password_with_code(node, test_ad):
    dora = users(test_ad)["dora"]
    code = totp(DORA_SEED, time.time(), 6, "SHA1", 30)
    result = ldapsearch(node.url, dora["dn"], dora["password"] + code, dora["dn"], "-s", "base", "dn")
    assert result.returncode == 0, result.stderr


def test_ldaps_verified_against_node_ca(node, test_ad):
    svc = users(test_ad)["svc-netscaler"]
    result = ldapsearch(node.ldaps_url, svc["dn"], svc["password"], test_ad["base_dn"], "-s", "base", "dn",
                        env_extra={"LDAPTLS_CACERT": str(node.ca_file), "LDAPTLS_REQCERT": "demand"})
    assert result.returncode == 0, result.stderr


def test_starttls(node, test_ad):
    svc = users(test_ad)["svc-netscaler"]
    result = ldapsearch(node.url, svc["dn"], svc["password"], test_ad["base_dn"], "-ZZ", "-s", "base", "dn",
                        env_extra={"LDAPTLS_CACERT": str(node.ca_file), "LDAPTLS_REQCERT": "demand"})
    assert result.returncode == 0, result.stderr


def test_cleartext_bind_refused_without_exception(strict_node, test_ad):
    bob = users(test_ad)["bob"]
    result = ldapsearch(strict_node.url, bob["dn"], bob["password"], bob["dn"], "-s", "base")
    assert result.returncode == 13
    assert "requires TLS" in result.stderr


def test_starttls_bind_accepted_without_exception(strict_node, test_ad):
    bob = users(test_ad)["bob"]
    result = ldapsearch(strict_node.url, bob["dn"], bob["password"], bob["dn"], "-ZZ", "-s", "base", "dn",
                        env_extra={"LDAPTLS_CACERT": str(strict_node.ca_file)})
    assert result.returncode == 0, result.stderr


def test_sasl_bind_refused(node):
    result = subprocess.run(["ldapsearch", "-Y", "DIGEST-MD5", "-U", "bob", "-w", "x", "-H", node.url, "-b", "", "-s", "base"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "Traceback" not in node.log_text


def test_failed_second_factor_leaves_connection_anonymous(node, test_ad):
    """After AD accepted the password but the code failed, a search must not run as the user."""
    alice = users(test_ad)["alice"]
    server = ldap3.Server(node.address, port=node.ldap_port, get_info=ldap3.NONE)
    connection = ldap3.Connection(server, user=alice["dn"], password=(alice["password"] + "000000").encode())
    connection.open()
    assert not connection.bind()
    assert connection.result["result"] == 49
    connection.search(alice["dn"], "(objectClass=*)", ldap3.BASE, attributes=["memberOf"])
    # Samba answers an anonymous search of a user entry with an error or nothing.
    assert not connection.entries
    connection.unbind()


def test_search_controls_pass_through(node, test_ad):
    """Paged results (a control) behave as against AD."""
    svc = users(test_ad)["svc-netscaler"]
    result = ldapsearch(node.url, svc["dn"], svc["password"], test_ad["ous"]["staff"], "-E", "pr=2/noprompt", "dn",
                        filter_="(objectClass=user)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("dn: ") >= 5


@pytest.mark.parametrize("attribute", ["unicodePwd", "unicodePwd;binary", "1.2.840.113556.1.4.90"])
def test_cleartext_password_change_refused(strict_node, test_ad, attribute):
    bob = users(test_ad)["bob"]
    ldif = f"dn: {bob['dn']}\nchangetype: modify\nreplace: {attribute}\n{attribute}:: IgBYACIA\n-\n"
    result = subprocess.run(["ldapmodify", "-x", "-H", strict_node.url], input=ldif, capture_output=True, text=True, timeout=30)
    assert result.returncode == 13
    assert "password changes require TLS" in result.stderr
