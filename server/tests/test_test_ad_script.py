"""Unit tests of the helpers behind scripts/test-ad; they need no running AD."""

from __future__ import annotations

import base64
import sys

from ad_env import REPOSITORY

sys.path.insert(0, str(REPOSITORY / "scripts" / "lib"))

from testad import directory  # noqa: E402
from testad.ldaptools import parse_ldif_entries  # noqa: E402
from testad.samba import set_global_options  # noqa: E402

PROVISIONED_CONF = """# Global parameters
[global]
\tinterfaces = 127.0.0.2
\tserver services = s3fs, rpc, ldap
\trealm = CORP.EXAMPLE.TEST

[sysvol]
\tpath = /x/state/sysvol
\tread only = No
"""


def test_set_global_options_replaces_and_adds() -> None:
    updated = set_global_options(PROVISIONED_CONF, {
        "Server Services": "-dns -nbt",
        "ldap server require strong auth": "no",
    })
    global_section = updated.split("[sysvol]")[0]
    assert "s3fs" not in global_section
    assert "\tserver services = -dns -nbt" in global_section
    assert "\tldap server require strong auth = no" in global_section
    assert "\trealm = CORP.EXAMPLE.TEST" in global_section
    assert "[sysvol]\n\tpath = /x/state/sysvol" in updated


def test_set_global_options_is_idempotent() -> None:
    options = {"tls enabled": "yes", "interfaces": "127.0.0.2"}
    once = set_global_options(PROVISIONED_CONF, options)
    assert set_global_options(once, options) == once


def test_unicode_pwd_is_quoted_utf16le() -> None:
    encoded = directory.encode_unicode_pwd("Grüße-€")
    assert base64.b64decode(encoded).decode("utf-16-le") == '"Grüße-€"'


def test_ldif_value_encodes_non_ascii() -> None:
    assert directory.ldif_value("cn", "Dora Dürr") == "cn:: RG9yYSBEw7xycg=="
    assert directory.ldif_value("cn", "Alice") == "cn: Alice"
    assert directory.ldif_value("cn", " leading space").startswith("cn:: ")


def test_user_ldif_sets_account_flags() -> None:
    flags = {}
    for user in directory.USERS:
        record = directory.build_user_ldif(user)
        flags[user.sam] = int(record.split("userAccountControl: ")[1].split("\n")[0])
        assert ("pwdLastSet: 0" in record) == (user.expect == "must_change"), user.sam
    assert flags["disabled"] & directory.UAC_ACCOUNTDISABLE
    assert not flags["alice"] & directory.UAC_ACCOUNTDISABLE
    assert not flags["mustchange"] & directory.UAC_DONT_EXPIRE_PASSWORD


def test_parse_ldif_entries_reads_blocks() -> None:
    text = (
        "dn: CN=Alice Anders,OU=Staff,DC=corp,DC=example,DC=test\n"
        "sAMAccountName: alice\nmember: a\nmember: b\n\n"
        "# refldap://corp.example.test/CN=Configuration,DC=corp,DC=example,DC=test\n\n"
        "dn:: Q049RG9yYSBEw7xycg==\n"
        "objectGUID:: tiDTnmVu8UqHywSyIzOjSQ==\n"
    )
    entries = parse_ldif_entries(text)
    assert len(entries) == 2
    assert entries[0]["samaccountname"] == ["alice"]
    assert entries[0]["member"] == ["a", "b"]
    assert entries[1]["dn"] == ["CN=Dora Dürr"]
    assert entries[1]["objectguid"] == ["tiDTnmVu8UqHywSyIzOjSQ=="]


def test_facts_contain_every_seeded_user() -> None:
    facts = directory.build_facts("/ca.pem", bulk_count=0)
    assert set(facts["users"]) == {user.sam for user in directory.USERS}
    assert facts["lookup_dn"] == facts["users"]["svc-factorgate"]["dn"]
    assert facts["users"]["bob"]["mobile"] is None
