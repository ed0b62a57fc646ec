"""Tests of users import and AdClient: statuses, idempotence, pruning, filter escaping, the real AD."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from factorgate.config import DirectoryConfig, ImportConfig
from factorgate.directory.adclient import (
    AdClient,
    AdUser,
    DirectoryBindError,
    DirectoryUnavailable,
    build_user_filter,
    escape_filter_value,
    guid_from_octets,
)
from factorgate.directory.importer import UserImportError, import_users, run_import
from factorgate.factors.secretbox import SecretBox
from factorgate.store.base import EnrollmentStatus, TotpToken
from factorgate.store.sqlite import SqliteStore
from support.node import Node

ALICE = AdUser("9ed320b6-656e-4af1-87cb-04b22333a349", "CN=Alice,OU=Staff,DC=corp", "alice", "alice@corp.example.test", "+1 555 0100")
BOB = AdUser("c4a63872-9fb2-4d04-a8f5-36a605080b16", "CN=Bob,OU=Staff,DC=corp", "bob", "bob@corp.example.test", "")
CAROL = AdUser("b313edf5-cfaa-4f7f-be1a-5b47c5eb245b", "CN=Carol,OU=Staff,DC=corp", "carol", "", "+1 555 0102")
SEED = b"12345678901234567890"


@pytest.fixture()
def store(tmp_path: Path) -> SqliteStore:
    key_file = tmp_path / "secret.key"
    SecretBox.generate_key_file(key_file)
    with SqliteStore(tmp_path / "factorgate.db", SecretBox.from_key_file(key_file)) as opened:
        yield opened


def statuses(store: SqliteStore) -> dict[str, EnrollmentStatus]:
    return {user.sam_account_name: user.status for user in store.list_users()}


# --- escaping and GUIDs --------------------------------------------------------------


@pytest.mark.parametrize("value, escaped", [
    ("a*b", "a\\2ab"),
    ("a(b", "a\\28b"),
    ("a)b", "a\\29b"),
    ("a\\b", "a\\5cb"),
    ("a\x00b", "a\\00b"),
    ("Dürr", "Dürr"),
])
def test_escape_filter_value_rfc4515(value: str, escaped: str) -> None:
    assert escape_filter_value(value) == escaped


def test_user_filter_escapes_injection() -> None:
    built = build_user_filter("sAMAccountName", "*)(objectClass=*")
    assert built == "(&(&(objectCategory=person)(objectClass=user))(sAMAccountName=\\2a\\29\\28objectClass=\\2a))"


def test_user_filter_guid_as_octets() -> None:
    built = build_user_filter("objectGUID", "9ed320b6-656e-4af1-87cb-04b22333a349")
    assert built.endswith("(objectGUID=\\b6\\20\\d3\\9e\\6e\\65\\f1\\4a\\87\\cb\\04\\b2\\23\\33\\a3\\49))")


def test_user_filter_rejects_attribute_injection() -> None:
    with pytest.raises(ValueError):
        build_user_filter("cn=x)(sAMAccountName", "alice")


def test_guid_from_octets_little_endian() -> None:
    # The octets AD returned for this GUID, read with ldapsearch's extended-DN control.
    octets = bytes.fromhex("b620d39e6e65f14a87cb04b22333a349")
    assert guid_from_octets(octets) == "9ed320b6-656e-4af1-87cb-04b22333a349"


# --- import logic on a real store ------------------------------------------------------------


def test_import_sets_status_from_phone(store: SqliteStore) -> None:
    summary = import_users(store, [ALICE, BOB, CAROL], "CORP")
    assert statuses(store) == {
        "alice": EnrollmentStatus.PENDING, "bob": EnrollmentStatus.NOT_ENROLLED, "carol": EnrollmentStatus.PENDING,
    }
    assert (summary.pending, summary.not_enrolled, summary.enrolled_kept, summary.added) == (2, 1, 0, 3)


def test_import_summary_line(store: SqliteStore) -> None:
    summary = import_users(store, [ALICE, BOB, CAROL], "CORP")
    assert summary.describe()[0] == "imported 3 users: 2 pending, 1 not enrolled, 0 enrolled kept (3 new)"


def test_import_stores_identity(store: SqliteStore) -> None:
    import_users(store, [ALICE], "CORP")
    record = store.find_user("upn:alice@corp.example.test")
    assert record is not None
    assert record.domain == "CORP"
    assert record.phone == "+1 555 0100"
    assert record.dn == ALICE.dn


def test_reimport_keeps_enrollment(store: SqliteStore) -> None:
    import_users(store, [ALICE, BOB], "CORP")
    store.set_totp(TotpToken(BOB.guid, SEED))
    summary = import_users(store, [ALICE, BOB], "CORP")
    assert statuses(store)["bob"] is EnrollmentStatus.ENROLLED
    assert summary.enrolled_kept == 1
    assert summary.added == 0


def test_import_follows_phone_change(store: SqliteStore) -> None:
    import_users(store, [ALICE], "CORP")
    import_users(store, [AdUser(ALICE.guid, ALICE.dn, "alice", ALICE.user_principal_name, "")], "CORP")
    assert statuses(store)["alice"] is EnrollmentStatus.NOT_ENROLLED


def test_dry_run_writes_nothing(store: SqliteStore) -> None:
    summary = import_users(store, [ALICE, BOB], "CORP", dry_run=True)
    assert store.list_users() == []
    assert summary.pending == 1
    assert summary.describe()[-1] == "dry run: nothing was written to the store"


def test_missing_users_reported_not_deleted(store: SqliteStore) -> None:
    import_users(store, [ALICE, BOB], "CORP")
    summary = import_users(store, [ALICE], "CORP")
    assert [user.sam_account_name for user in summary.missing] == ["bob"]
    assert "bob" in statuses(store)
    assert summary.describe()[-1] == "run `factorgate users import --prune` to delete them"


def test_prune_deletes_missing_users(store: SqliteStore) -> None:
    import_users(store, [ALICE, BOB], "CORP")
    summary = import_users(store, [ALICE], "CORP", prune=True)
    assert summary.pruned == 1
    assert list(statuses(store)) == ["alice"]


def test_prune_dry_run_deletes_nothing(store: SqliteStore) -> None:
    import_users(store, [ALICE, BOB], "CORP")
    summary = import_users(store, [ALICE], "CORP", prune=True, dry_run=True)
    assert summary.pruned == 0
    assert "bob" in statuses(store)
    assert summary.describe()[1] == "1 users in the store are no longer found in AD (would be deleted):"


def test_prune_rejects_empty_search(store: SqliteStore) -> None:
    import_users(store, [ALICE], "CORP")
    with pytest.raises(UserImportError, match="cannot prune"):
        import_users(store, [], "CORP", prune=True)
    assert "alice" in statuses(store)


# --- AdClient against unreachable servers ----------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_servers_raise_unavailable(tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("x\n")
    urls = (f"ldap://127.0.0.1:{closed_port()}", f"ldaps://127.0.0.1:{closed_port()}")
    config = DirectoryConfig(servers=urls, connect_timeout=2, bind_password_file=password_file)
    with pytest.raises(DirectoryUnavailable) as caught:
        AdClient(config).connect()
    assert urls[0] in str(caught.value)
    assert urls[1] in str(caught.value)


# --- the real test AD ---------------------------------------------------------------------


def ad_config(test_ad: dict[str, Any], tmp_path: Path, *, url: str | None = None, start_tls: bool = True,
              password: str | None = None, ca_file: bool = True) -> DirectoryConfig:
    password_file = tmp_path / "ad-bind.password"
    password_file.write_text((password or test_ad["lookup_password"]) + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    return DirectoryConfig(
        servers=(url or test_ad["ldaps_url"],),
        start_tls=start_tls,
        ca_file=Path(test_ad["ca_file"]) if ca_file else None,
        base_dn=test_ad["base_dn"],
        netbios_domain=test_ad["netbios_domain"],
        upn_suffixes=(test_ad["dns_domain"],),
        bind_dn=test_ad["lookup_dn"],
        bind_password_file=password_file,
    )


def staff_import(test_ad: dict[str, Any]) -> ImportConfig:
    return ImportConfig(base_dn=test_ad["ous"]["staff"], page_size=2)


@pytest.mark.ad
def test_ad_import_statuses(test_ad: dict[str, Any], tmp_path: Path, store: SqliteStore) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        summary = run_import(store, client, staff_import(test_ad), "CORP")
    found = statuses(store)
    assert found["alice"] is EnrollmentStatus.PENDING
    assert found["carol"] is EnrollmentStatus.PENDING
    assert found["bob"] is EnrollmentStatus.NOT_ENROLLED
    assert summary.imported == len(found)


@pytest.mark.ad
def test_ad_import_reads_identity(test_ad: dict[str, Any], tmp_path: Path, store: SqliteStore) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        run_import(store, client, staff_import(test_ad), "CORP")
    alice = store.find_user("sam:alice")
    assert alice is not None
    assert alice.dn == test_ad["users"]["alice"]["dn"]
    assert alice.user_principal_name == test_ad["users"]["alice"]["upn"]
    # Imported in E.164 form: "+1 555 0100" becomes "+15550100".
    assert alice.phone == test_ad["users"]["alice"]["mobile"].replace(" ", "")


@pytest.mark.ad
def test_ad_reimport_keeps_enrollment(test_ad: dict[str, Any], tmp_path: Path, store: SqliteStore) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        run_import(store, client, staff_import(test_ad), "CORP")
        bob = store.find_user("sam:bob")
        store.set_totp(TotpToken(bob.guid, SEED))
        summary = run_import(store, client, staff_import(test_ad), "CORP")
    assert statuses(store)["bob"] is EnrollmentStatus.ENROLLED
    assert summary.enrolled_kept == 1
    assert summary.added == 0


@pytest.mark.ad
def test_ad_dry_run_writes_nothing(test_ad: dict[str, Any], tmp_path: Path, store: SqliteStore) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        summary = run_import(store, client, staff_import(test_ad), "CORP", dry_run=True)
    assert store.list_users() == []
    assert summary.pending >= 2


@pytest.mark.ad
def test_ad_starttls_connects(test_ad: dict[str, Any], tmp_path: Path) -> None:
    with AdClient(ad_config(test_ad, tmp_path, url=test_ad["url"], start_tls=True)) as client:
        user = client.find_user_by("sAMAccountName", "carol")
    assert user is not None
    assert user.dn == test_ad["users"]["carol"]["dn"]


@pytest.mark.ad
def test_ad_untrusted_certificate_rejected(test_ad: dict[str, Any], tmp_path: Path) -> None:
    # Without ca_file the system store is used, and it does not trust the test CA.
    with pytest.raises(DirectoryUnavailable):
        AdClient(ad_config(test_ad, tmp_path, ca_file=False)).connect()


@pytest.mark.ad
def test_ad_wrong_password_raises_bind_error(test_ad: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(DirectoryBindError, match="rejected the look-up account"):
        AdClient(ad_config(test_ad, tmp_path, password="wrong-password")).connect()


@pytest.mark.ad
@pytest.mark.parametrize("attribute, value", [
    ("sAMAccountName", "alice"),
    ("userPrincipalName", "alice@corp.example.test"),
    ("distinguishedName", "CN=Alice Anders,OU=Staff,DC=corp,DC=example,DC=test"),
])
def test_ad_find_user_by(test_ad: dict[str, Any], tmp_path: Path, attribute: str, value: str) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        user = client.find_user_by(attribute, value, ("mobile",))
    assert user is not None
    assert user.sam_account_name == "alice"
    assert user.phone == test_ad["users"]["alice"]["mobile"]


@pytest.mark.ad
def test_ad_find_by_guid_round_trip(test_ad: dict[str, Any], tmp_path: Path) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        alice = client.find_user_by("sAMAccountName", "alice")
        again = client.find_user_by("objectGUID", alice.guid)
    assert again == alice


@pytest.mark.ad
@pytest.mark.parametrize("value", ["*", "*)(sAMAccountName=*", "al*", "alice)(|(cn=*", "\\2a"])
def test_ad_find_user_escapes_filter(test_ad: dict[str, Any], tmp_path: Path, value: str) -> None:
    # Unescaped, each value would match one user or many; escaped it matches none.
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        assert client.find_user_by("sAMAccountName", value) is None


@pytest.mark.ad
def test_ad_find_unknown_user(test_ad: dict[str, Any], tmp_path: Path) -> None:
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        assert client.find_user_by("sAMAccountName", "nobody-here") is None


@pytest.mark.ad
def test_ad_nested_membership(test_ad: dict[str, Any], tmp_path: Path) -> None:
    mfa_users = test_ad["groups"]["mfa_users"]
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        assert client.is_member_nested(test_ad["users"]["alice"]["dn"], mfa_users) is True
        assert client.is_member_nested(test_ad["users"]["bob"]["dn"], mfa_users) is True
        assert client.is_member_nested(test_ad["users"]["carol"]["dn"], mfa_users) is False


@pytest.mark.ad
def test_ad_membership_of_missing_user(test_ad: dict[str, Any], tmp_path: Path) -> None:
    missing = "CN=Nobody,OU=Staff," + test_ad["base_dn"]
    with AdClient(ad_config(test_ad, tmp_path)) as client:
        assert client.is_member_nested(missing, test_ad["groups"]["mfa_users"]) is False


@pytest.mark.ad
def test_ad_client_shared_between_threads(test_ad: dict[str, Any], tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    names = ["alice", "bob", "carol", "dora"] * 5
    with AdClient(ad_config(test_ad, tmp_path)) as client, ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda name: client.find_user_by("sAMAccountName", name), names))
    assert [user.sam_account_name for user in found] == names


@pytest.mark.ad
def test_ad_non_ascii_bind_password(test_ad: dict[str, Any], tmp_path: Path) -> None:
    # dora's password has umlauts, ß and €; the bind only works if its UTF-8 octets reach AD unchanged.
    dora = test_ad["users"]["dora"]
    config = ad_config(test_ad, tmp_path, password=dora["password"])
    config = DirectoryConfig(**{**config.__dict__, "bind_dn": dora["dn"]})
    with AdClient(config) as client:
        user = client.find_user_by("sAMAccountName", "dora")
    assert user is not None
    assert user.dn == dora["dn"]


@pytest.mark.ad
def test_import_json_reports_changes_then_none(tmp_path, test_ad):
    """The role's changed_when reads `changed`: a second import must report 0."""
    node = Node(tmp_path / "node", test_ad)
    first = json.loads(node.cli("users", "import", "--json").stdout)
    second = json.loads(node.cli("users", "import", "--json").stdout)
    assert first["changed"] == first["imported"]
    assert first["imported"] > 0
    assert second["changed"] == 0
