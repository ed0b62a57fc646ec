"""Phone numbers normalised to E.164 at import, and the import's default method."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from factorgate.config import ImportConfig
from factorgate.directory.adclient import AdUser
from factorgate.directory.importer import run_import
from factorgate.directory.phones import normalize_phone
from factorgate.factors.secretbox import SecretBox
from factorgate.store.sqlite import SqliteStore


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 555 0100", "US", "+15550100"),
        ("+49 30 5550103", "US", "+49305550103"),
        ("(030) 5550103", "DE", "+49305550103"),
        ("0171 5550104", "DE", "+491715550104"),
        ("415-555-2671", "US", "+14155552671"),
        ("  ", "US", ""),
        ("call me", "US", ""),
        ("+1 2", "US", ""),
    ],
)
def test_normalize_phone_cases(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@dataclass
class StubAd:
    users: list[AdUser]

    def search_users(self, base_dn, search_filter, phone_attributes, page_size):
        return iter(self.users)


ALICE = AdUser(guid="0b5e3c1a-7f1d-4e8b-9a0c-111111111111", dn="CN=Alice,DC=corp,DC=example,DC=test",
               sam_account_name="alice", phone="(030) 5550103")
CAROL = AdUser(guid="0b5e3c1a-7f1d-4e8b-9a0c-333333333333", dn="CN=Carol,DC=corp,DC=example,DC=test",
               sam_account_name="carol", phone="")


@pytest.fixture
def store(tmp_path):
    SecretBox.generate_key_file(tmp_path / "key")
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(tmp_path / "key"))
    yield store
    store.close()


def test_import_stores_e164_in_region(store):
    run_import(store, StubAd([ALICE]), ImportConfig(phone_region="DE"), "CORP")
    assert store.get_user(ALICE.guid).phone == "+49305550103"


def test_import_sets_default_method(store):
    run_import(store, StubAd([ALICE, CAROL]), ImportConfig(default_method="voice"), "CORP")
    assert store.get_method(ALICE.guid) == "voice"
    assert store.get_method(CAROL.guid) == "voice"


def test_import_keeps_admin_method(store):
    run_import(store, StubAd([ALICE]), ImportConfig(default_method="voice"), "CORP")
    store.set_method(ALICE.guid, "sms", 0)
    run_import(store, StubAd([ALICE]), ImportConfig(default_method="push"), "CORP")
    assert store.get_method(ALICE.guid) == "sms"


def test_import_dry_run_sets_no_method(store):
    run_import(store, StubAd([ALICE]), ImportConfig(default_method="voice"), "CORP", dry_run=True)
    assert store.get_method(ALICE.guid) is None
