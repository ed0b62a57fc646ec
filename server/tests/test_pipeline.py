"""The authentication pipeline with a real SQLite store and a scripted AD answer."""

from __future__ import annotations

import asyncio

import pytest

from factorgate.auth.model import AuthRequest, PrimaryResult, Reason
from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.directory.names import LoginName
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.auth.model import DirectoryUser
from factorgate.factors.otp import totp
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.store.base import EnrollmentStatus, TotpToken, UserRecord
from factorgate.store.sqlite import SqliteStore

NOW = 1_700_000_000.0
SEED = b"12345678901234567890"
BASE = "OU=Staff,DC=corp,DC=example,DC=test"
ALICE = UserRecord("11111111-1111-1111-1111-111111111111", f"CN=Alice,{BASE}", "alice", "alice@corp.example.test", "CORP", "+15550100", EnrollmentStatus.ENROLLED)
BOB = UserRecord("22222222-2222-2222-2222-222222222222", f"CN=Bob,{BASE}", "bob", "bob@corp.example.test", "CORP", "", EnrollmentStatus.NOT_ENROLLED)
PAT = UserRecord("33333333-3333-3333-3333-333333333333", f"CN=Pat,{BASE}", "pat", "", "CORP", "+15550101", EnrollmentStatus.PENDING)
SVC_DN = "CN=svc-netscaler,OU=Service Accounts,DC=corp,DC=example,DC=test"


class ScriptedAd:
    """A primary check that accepts one password and counts the attempts."""

    def __init__(self, good_password: bytes, result_code: int = 49) -> None:
        self.good_password = good_password
        self.result_code = result_code
        self.attempts: list[bytes] = []

    async def __call__(self, password: bytes) -> PrimaryResult:
        self.attempts.append(password)
        if password == self.good_password:
            return PrimaryResult(ok=True, detail=b"ok")
        return PrimaryResult(ok=False, result_code=self.result_code, diagnostic="80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563", detail=b"ad-failure")


class DirectoryStub:
    """AD look-ups for users that were not imported."""

    def __init__(self, users: dict[str, DirectoryUser], groups: dict[str, set[str]]) -> None:
        self.users = users
        self.groups = groups
        self.lookups = 0

    def find_user(self, login: LoginName, raw_login: str) -> DirectoryUser | None:
        self.lookups += 1
        return self.users.get(raw_login.lower())

    def is_member_nested(self, user_dn: str, group_dn: str) -> bool:
        return user_dn in self.groups.get(group_dn, set())


@pytest.fixture
def store(tmp_path):
    box_path = tmp_path / "secret.key"
    SecretBox.generate_key_file(box_path)
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(box_path))
    for record in (ALICE, BOB, PAT):
        store.upsert_user(record)
    store.set_totp(TotpToken(ALICE.guid, SEED))
    yield store
    store.close()


def make_pipeline(store, directory=None, exempt=ExemptRules(), **policy) -> Pipeline:
    resolver = Resolver(store, directory, exempt, netbios_domain="CORP", upn_suffixes=("corp.example.test",))
    verifier = TotpVerifier(store, clock=lambda: NOW, window=1)
    return Pipeline(resolver, store, verifier, PipelinePolicy(**policy))


def login(name: str, password: bytes) -> AuthRequest:
    return AuthRequest(login=name, password=password, client_address="127.0.0.1", protocol="ldap")


def code(at: float = NOW) -> bytes:
    return totp(SEED, at, 6, "SHA1", 30).encode()


async def test_enrolled_user_with_right_code_accepted(store):
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login("alice", b"pw" + code()), ad)
    assert decision.accepted
    assert decision.reason is Reason.TOTP_OK
    assert ad.attempts == [b"pw"]


@pytest.mark.parametrize("name", [ALICE.dn, ALICE.dn.upper(), "alice@corp.example.test", "CORP\\alice", "ALICE"])
async def test_resolver_finds_imported_user_by_every_login_form(store, name):
    resolver = Resolver(store, None, ExemptRules(), netbios_domain="CORP", upn_suffixes=("corp.example.test",))
    resolution = await resolver.resolve(name)
    assert resolution.user is not None
    assert resolution.user.guid == ALICE.guid


async def test_resolver_other_domain_is_unknown(store):
    resolver = Resolver(store, None, ExemptRules(), netbios_domain="CORP")
    resolution = await resolver.resolve("OTHER\\alice")
    assert resolution.user is None


async def test_wrong_code_rejected_after_ad_accepts(store):
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login("alice", b"pw000000"), ad)
    assert not decision.accepted
    assert decision.reason is Reason.INVALID_CODE
    assert decision.message == "second factor failed: invalid code"


async def test_reused_code_rejected(store):
    pipeline = make_pipeline(store)
    first = await pipeline.authenticate(login("alice", b"pw" + code()), ScriptedAd(b"pw"))
    second = await pipeline.authenticate(login("alice", b"pw" + code()), ScriptedAd(b"pw"))
    assert first.accepted
    assert second.reason is Reason.REPLAYED_CODE


async def test_concurrent_logins_with_one_code_only_one_passes(store):
    pipeline = make_pipeline(store)
    decisions = await asyncio.gather(*(pipeline.authenticate(login("alice", b"pw" + code()), ScriptedAd(b"pw")) for _ in range(5)))
    assert sum(d.accepted for d in decisions) == 1


async def test_missing_code_rejected_without_contacting_ad(store):
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login("alice", b"password-without-code"), ad)
    assert decision.reason is Reason.MISSING_CODE
    assert ad.attempts == []


async def test_wrong_password_costs_one_ad_attempt(store):
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login("alice", b"wrong" + code()), ad)
    assert decision.reason is Reason.AD_REJECTED
    assert decision.primary.detail == b"ad-failure"
    assert len(ad.attempts) == 1


async def test_ambiguous_password_is_tried_once(store):
    # The password itself ends in six digits; the code is missing. Only the
    # one split is tried, never the whole string as a second guess.
    ad = ScriptedAd(b"pw123456")
    decision = await make_pipeline(store).authenticate(login("alice", b"pw123456"), ad)
    assert not decision.accepted
    assert ad.attempts == [b"pw"]


async def test_empty_password_rejected_without_ad(store):
    ad = ScriptedAd(b"")
    decision = await make_pipeline(store).authenticate(login("alice", b""), ad)
    assert decision.reason is Reason.EMPTY_PASSWORD
    assert ad.attempts == []


async def test_not_enrolled_user_gets_ad_answer_alone(store):
    ad = ScriptedAd(b"bobpw")
    decision = await make_pipeline(store).authenticate(login("bob", b"bobpw"), ad)
    assert decision.accepted
    assert decision.reason is Reason.NOT_ENROLLED
    assert ad.attempts == [b"bobpw"]


async def test_pending_user_rejected_as_not_yet_enrolled(store):
    ad = ScriptedAd(b"patpw")
    decision = await make_pipeline(store).authenticate(login("pat", b"patpw"), ad)
    assert decision.reason is Reason.PENDING_ENROLLMENT
    assert decision.message == "second factor failed: not yet enrolled"
    assert ad.attempts == [b"patpw"]


async def test_pending_user_gets_ad_failure_unchanged(store):
    ad = ScriptedAd(b"patpw")
    decision = await make_pipeline(store).authenticate(login("pat", b"wrong"), ad)
    assert decision.reason is Reason.AD_REJECTED
    assert decision.primary.detail == b"ad-failure"


async def test_unknown_user_gets_ad_answer_alone(store):
    stranger = DirectoryUser("55555555-5555-5555-5555-555555555555", f"CN=Stranger,{BASE}", "stranger")
    directory = DirectoryStub({"stranger": stranger}, {})
    decision = await make_pipeline(store, directory).authenticate(login("stranger", b"pw"), ScriptedAd(b"pw"))
    assert decision.accepted
    assert decision.reason is Reason.UNKNOWN_USER


async def test_unresolved_name_rejected_even_when_ad_accepts(store):
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store, DirectoryStub({}, {})).authenticate(login("S-1-5-21-1-2-3-1104", b"pw"), ad)
    assert not decision.accepted
    assert decision.reason is Reason.UNRESOLVED_NAME
    assert ad.attempts == [b"pw"]


async def test_unresolved_name_with_wrong_password_gets_ad_failure(store):
    decision = await make_pipeline(store, DirectoryStub({}, {})).authenticate(login("nobody", b"bad"), ScriptedAd(b"pw"))
    assert decision.reason is Reason.AD_REJECTED


async def test_alias_name_finds_enrolled_user(store):
    # AD's search finds alice under a name form the store has no key for.
    alias = DirectoryUser(ALICE.guid, ALICE.dn, "alice")
    directory = DirectoryStub({"cn=alice\\2c staff": alias}, {})
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store, directory).authenticate(login("CN=Alice\\2c Staff", b"pw"), ad)
    assert decision.reason is Reason.MISSING_CODE
    assert ad.attempts == []


async def test_unknown_user_rejected_with_require_user_match(store):
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store, require_user_match=True).authenticate(login("nobody", b"pw"), ad)
    assert decision.reason is Reason.UNKNOWN_USER_REJECTED
    assert ad.attempts == []


async def test_exempt_by_dn_found_in_directory(store):
    svc = DirectoryUser("44444444-4444-4444-4444-444444444444", SVC_DN, "svc-netscaler")
    directory = DirectoryStub({"svc-netscaler": svc}, {})
    pipeline = make_pipeline(store, directory, ExemptRules.build([SVC_DN], [], []))
    decision = await pipeline.authenticate(login("svc-netscaler", b"svcpw"), ScriptedAd(b"svcpw"))
    assert decision.reason is Reason.EXEMPT


async def test_exempt_by_ou(store):
    exempt = ExemptRules.build([], [], [BASE.upper()])
    decision = await make_pipeline(store, exempt=exempt).authenticate(login("alice", b"pw"), ScriptedAd(b"pw"))
    assert decision.reason is Reason.EXEMPT


async def test_exempt_by_nested_group(store):
    group = "CN=FG-Exempt,DC=corp,DC=example,DC=test"
    directory = DirectoryStub({}, {group: {ALICE.dn}})
    pipeline = make_pipeline(store, directory, ExemptRules.build([], [group], []))
    decision = await pipeline.authenticate(login("alice", b"pw"), ScriptedAd(b"pw"))
    assert decision.reason is Reason.EXEMPT


async def test_directory_lookup_cached(store):
    svc = DirectoryUser("44444444-4444-4444-4444-444444444444", SVC_DN, "svc-netscaler")
    directory = DirectoryStub({"svc-netscaler": svc}, {})
    pipeline = make_pipeline(store, directory)
    for _ in range(3):
        await pipeline.authenticate(login("svc-netscaler", b"pw"), ScriptedAd(b"pw"))
    assert directory.lookups == 1


async def test_directory_lookup_failure_fails_closed(store):
    class BrokenDirectory(DirectoryStub):
        def find_user(self, login, raw_login):
            raise OSError("connection refused")

    ad = ScriptedAd(b"pw")
    pipeline = make_pipeline(store, BrokenDirectory({}, {}))
    decision = await pipeline.authenticate(login("stranger", b"pw"), ad)
    assert decision.reason is Reason.AD_UNAVAILABLE
    assert ad.attempts == []


async def test_delimiter_policy(store):
    pipeline = make_pipeline(store, code_delimiter=b",")
    decision = await pipeline.authenticate(login("alice", b"pw," + code()), ScriptedAd(b"pw"))
    assert decision.accepted


def login_mode(name: str, password: bytes, mode) -> AuthRequest:
    return AuthRequest(login=name, password=password, client_address="127.0.0.1", protocol="radius", code_mode=mode)


async def test_challenge_mode_asks_for_code_after_ad_accepts(store):
    from factorgate.auth.model import CodeMode, Verdict

    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login_mode("alice", b"pw", CodeMode.CHALLENGE), ad)
    assert decision.verdict is Verdict.CHALLENGE
    assert decision.user.guid == ALICE.guid
    assert ad.attempts == [b"pw"]


async def test_challenge_mode_wrong_password_no_challenge(store):
    from factorgate.auth.model import CodeMode

    decision = await make_pipeline(store).authenticate(login_mode("alice", b"bad", CodeMode.CHALLENGE), ScriptedAd(b"pw"))
    assert decision.reason is Reason.AD_REJECTED


async def test_answer_challenge_verifies_code_once(store):
    from factorgate.auth.model import CodeMode

    pipeline = make_pipeline(store)
    user = DirectoryUser(ALICE.guid, ALICE.dn, "alice")
    first = await pipeline.answer_challenge(login_mode("alice", code(), CodeMode.CHALLENGE), user)
    second = await pipeline.answer_challenge(login_mode("alice", code(), CodeMode.CHALLENGE), user)
    assert first.accepted
    assert second.reason is Reason.REPLAYED_CODE


async def test_code_only_mode_skips_ad(store):
    from factorgate.auth.model import CodeMode

    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login_mode("alice", code(), CodeMode.CODE_ONLY), ad)
    assert decision.accepted
    assert ad.attempts == []


async def test_code_only_mode_wrong_code(store):
    from factorgate.auth.model import CodeMode

    decision = await make_pipeline(store).authenticate(login_mode("alice", b"000000", CodeMode.CODE_ONLY), ScriptedAd(b"pw"))
    assert decision.reason is Reason.INVALID_CODE


async def test_code_only_mode_not_enrolled_accepted_without_ad(store):
    from factorgate.auth.model import CodeMode

    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store).authenticate(login_mode("bob", b"anything", CodeMode.CODE_ONLY), ad)
    assert decision.accepted
    assert ad.attempts == []


async def test_require_user_match_rejects_not_imported(store):
    stranger = DirectoryUser("55555555-5555-5555-5555-555555555555", f"CN=Stranger,{BASE}", "stranger")
    directory = DirectoryStub({"stranger": stranger}, {})
    ad = ScriptedAd(b"pw")
    decision = await make_pipeline(store, directory, require_user_match=True).authenticate(login("stranger", b"pw"), ad)
    assert decision.reason is Reason.UNKNOWN_USER_REJECTED
    assert ad.attempts == []


async def test_require_user_match_still_lets_exempt_account_through(store):
    svc = DirectoryUser("44444444-4444-4444-4444-444444444444", SVC_DN, "svc-netscaler")
    directory = DirectoryStub({"svc-netscaler": svc}, {})
    pipeline = make_pipeline(store, directory, ExemptRules.build([SVC_DN], [], []), require_user_match=True)
    decision = await pipeline.authenticate(login("svc-netscaler", b"pw"), ScriptedAd(b"pw"))
    assert decision.reason is Reason.EXEMPT
