"""Checks of the test AD itself, through ldap3 as FactorGate will use it.

When one of these fails, the AD tests of the product would fail for a reason
that is not the product's: run `scripts/test-ad check` and read
.demo/ad/log/ for the cause.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import ldap3
import pytest
from ldap3.core.exceptions import LDAPSocketOpenError

from ad_env import connect, encode_unicode_pwd, reset_password

pytestmark = pytest.mark.ad

# AD's sub-code in the diagnostic message of a failed bind, for example
# "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1".
AD_SUB_CODE = re.compile(r"\bdata ([0-9a-f]+)\b")
EXPECTED_SUB_CODE = {"must_change": "773", "disabled": "533", "locked": "775"}
IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN
UF_LOCKOUT = 0x0010
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def bind(ad: dict[str, Any], user: str, password: str, transport: str) -> ldap3.Connection:
    """Bind over "ldaps" (636) or "starttls" (389); return the connection, bound or not."""
    connection = connect(ad, user, password, ldaps=transport == "ldaps")
    connection.open()
    if transport == "starttls":
        assert connection.start_tls(), f"StartTLS failed: {connection.result}"
    connection.bind()
    return connection


def bind_sub_code(connection: ldap3.Connection) -> str | None:
    match = AD_SUB_CODE.search(connection.result.get("message") or "")
    return match.group(1) if match else None


@pytest.mark.parametrize("transport", ["ldaps", "starttls"])
def test_seeded_users_bind_as_expected(test_ad: dict[str, Any], transport: str) -> None:
    for sam, user in test_ad["users"].items():
        connection = bind(test_ad, user["dn"], user["password"], transport)
        if user["expect"] == "ok":
            assert connection.bound, f"{sam}: {connection.result}"
        else:
            assert not connection.bound, f"{sam} bound, expected {user['expect']}"
            assert connection.result["result"] == 49, f"{sam}: {connection.result}"
            assert bind_sub_code(connection) == EXPECTED_SUB_CODE[user["expect"]], sam
        connection.unbind()


def test_wrong_password_returns_52e(test_ad: dict[str, Any]) -> None:
    alice = test_ad["users"]["alice"]
    connection = bind(test_ad, alice["dn"], "Wrong-Password-1", "ldaps")
    assert not connection.bound
    assert bind_sub_code(connection) == "52e"
    connection.unbind()

    # A successful bind resets alice's bad password count to 0, so repeated
    # runs never reach the lockout threshold.
    connection = bind(test_ad, alice["dn"], alice["password"], "ldaps")
    assert connection.bound
    connection.unbind()


@pytest.mark.parametrize("name_form", ["upn", "netbios", "dn"])
def test_alice_binds_by_each_name_form(test_ad: dict[str, Any], name_form: str) -> None:
    alice = test_ad["users"]["alice"]
    names = {
        "upn": alice["upn"],
        "netbios": f"{test_ad['netbios_domain']}\\alice",
        "dn": alice["dn"],
    }
    connection = bind(test_ad, names[name_form], alice["password"], "starttls")
    assert connection.bound, connection.result
    connection.unbind()


def test_non_ascii_password_binds(test_ad: dict[str, Any]) -> None:
    dora = test_ad["users"]["dora"]
    assert not dora["password"].isascii()
    connection = bind(test_ad, dora["upn"], dora["password"], "ldaps")
    assert connection.bound, connection.result
    connection.unbind()


def test_untrusted_ca_fails_tls(test_ad: dict[str, Any]) -> None:
    untrusting = dict(test_ad, ca_file=SYSTEM_CA_BUNDLE)
    connection = connect(untrusting, test_ad["lookup_dn"], test_ad["lookup_password"])
    with pytest.raises(LDAPSocketOpenError):
        connection.open()


def search_staff(ad: dict[str, Any], ldap_filter: str, attributes: list[str]) -> list[Any]:
    connection = bind(ad, ad["lookup_dn"], ad["lookup_password"], "ldaps")
    assert connection.bound, connection.result
    connection.search(ad["ous"]["staff"], ldap_filter, attributes=attributes)
    entries = list(connection.entries)
    connection.unbind()
    return entries


def test_nested_group_member_found_in_chain(test_ad: dict[str, Any]) -> None:
    mfa_users = test_ad["groups"]["mfa_users"]
    nested = search_staff(test_ad, f"(memberOf:{IN_CHAIN}:={mfa_users})", ["sAMAccountName"])
    direct = search_staff(test_ad, f"(memberOf={mfa_users})", ["sAMAccountName"])

    nested_names = {str(entry.sAMAccountName) for entry in nested}
    assert nested_names == {"alice", "bob"}
    assert direct == []


def test_exempt_group_contains_gateway_account(test_ad: dict[str, Any]) -> None:
    connection = bind(test_ad, test_ad["lookup_dn"], test_ad["lookup_password"], "ldaps")
    connection.search(test_ad["groups"]["exempt"], "(objectClass=group)",
                      search_scope=ldap3.BASE, attributes=["member"])
    members = connection.entries[0].member.values
    connection.unbind()
    assert members == [test_ad["users"]["svc-netscaler"]["dn"]]


def test_object_guid_is_16_bytes(test_ad: dict[str, Any]) -> None:
    alice = test_ad["users"]["alice"]
    entries = search_staff(test_ad, "(sAMAccountName=alice)", ["objectGUID"])
    raw = entries[0].objectGUID.raw_values[0]
    assert len(raw) == 16

    # AD stores the GUID in little-endian layout: a <GUID=...> base search
    # with the bytes_le reading finds the same entry.
    guid = uuid.UUID(bytes_le=raw)
    connection = bind(test_ad, test_ad["lookup_dn"], test_ad["lookup_password"], "ldaps")
    connection.search(f"<GUID={guid}>", "(objectClass=*)", search_scope=ldap3.BASE)
    found = [entry.entry_dn for entry in connection.entries]
    connection.unbind()
    assert found == [alice["dn"]]


def test_mobile_numbers_match_facts(test_ad: dict[str, Any]) -> None:
    entries = search_staff(test_ad, "(objectClass=user)", ["sAMAccountName", "mobile"])
    found = {str(entry.sAMAccountName): entry.mobile.value for entry in entries}
    for sam, user in test_ad["users"].items():
        if sam.startswith("svc-"):
            continue
        assert found[sam] == user["mobile"], sam


def test_locked_user_is_locked_out(test_ad: dict[str, Any]) -> None:
    entries = search_staff(test_ad, "(sAMAccountName=locked)",
                           ["msDS-User-Account-Control-Computed"])
    computed = int(entries[0]["msDS-User-Account-Control-Computed"].value)
    assert computed & UF_LOCKOUT


def test_user_changes_own_password(test_ad: dict[str, Any]) -> None:
    sam = test_ad["password_change_user"]
    user = test_ad["users"][sam]
    new_password = "Rotated-Pw-2025!"
    connection = bind(test_ad, user["dn"], user["password"], "ldaps")
    assert connection.bound, connection.result

    # A user's own change is a delete of the old and an add of the new value.
    connection.modify(user["dn"], {"unicodePwd": [
        (ldap3.MODIFY_DELETE, [encode_unicode_pwd(user["password"])]),
        (ldap3.MODIFY_ADD, [encode_unicode_pwd(new_password)]),
    ]})
    changed = connection.result
    connection.unbind()
    try:
        assert changed["result"] == 0, changed
        after = bind(test_ad, user["dn"], new_password, "ldaps")
        assert after.bound, after.result
        after.unbind()
    finally:
        reset_password(test_ad, sam)

    restored = bind(test_ad, user["dn"], user["password"], "ldaps")
    assert restored.bound, restored.result
    restored.unbind()
