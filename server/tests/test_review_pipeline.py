"""Review findings in the authentication pipeline, written as tests that fail while the flaw is open.

Each test asserts the correct behaviour; an xfail(strict=True) marker stays
on a test only while its flaw is open.
"""

from __future__ import annotations

import pytest

from factorgate.auth.model import AuthRequest, PrimaryResult
from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.store.base import EnrollmentStatus, TotpToken, UserRecord
from factorgate.store.sqlite import SqliteStore

NOW = 1_700_000_000.0
SEED = b"12345678901234567890"
ALICE = UserRecord("11111111-1111-1111-1111-111111111111", "CN=Alice,OU=Staff,DC=corp,DC=example,DC=test", "alice",
                   "alice@corp.example.test", "CORP", "+15550100", EnrollmentStatus.ENROLLED)

# Names that the resolver cannot find. MS-ADTS 5.1.1.1.1 says a simple bind tries
# several name forms in turn. NOTE: which of these three AD accepts is not yet
# confirmed against the full list on that page or on the test AD.
OTHER_NAME_FORMS = [
    "S-1-5-21-1004336348-1177238915-682003330-1104",   # objectSid string
    "corp.example.test/Staff/Alice",                  # canonical name
    "{11111111-1111-1111-1111-111111111111}",         # objectGUID string
]


class AdAcceptingAlice:
    """Primary check that accepts Alice's password, as AD does for a name that it maps to her."""

    async def __call__(self, password: bytes) -> PrimaryResult:
        if password == b"pw":
            return PrimaryResult(ok=True, detail=b"ok")
        return PrimaryResult(ok=False, result_code=49, diagnostic="data 52e", detail=b"fail")


@pytest.fixture
def store(tmp_path):
    SecretBox.generate_key_file(tmp_path / "key")
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(tmp_path / "key"))
    store.upsert_user(ALICE)
    store.set_totp(TotpToken(ALICE.guid, SEED))
    yield store
    store.close()


@pytest.mark.parametrize("name", OTHER_NAME_FORMS)
async def test_unresolved_name_form_not_accepted(store, name):
    resolver = Resolver(store, None, ExemptRules(), netbios_domain="CORP", upn_suffixes=("corp.example.test",))
    pipeline = Pipeline(resolver, store, TotpVerifier(store, clock=lambda: NOW), PipelinePolicy())
    request = AuthRequest(login=name, password=b"pw", client_address="127.0.0.1", protocol="ldap")

    decision = await pipeline.authenticate(request, AdAcceptingAlice())

    assert not decision.accepted
