"""The second-factor step with every method, through the pipeline, a real store and the simulator provider."""

from __future__ import annotations

import asyncio
import threading

import pytest

from factorgate.auth.model import AuthRequest, CodeMode, PrimaryResult, Reason, Verdict
from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.auth.second_factor import SMS_SENT_MESSAGE, FactorPolicy, SecondFactors
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.factors.fraud import AlertMailSettings, FraudAlerter
from factorgate.factors.hotp_verifier import HotpVerifier
from factorgate.factors.otp import hotp, totp
from factorgate.factors.outofband import MethodSettings, OutOfBand
from factorgate.factors.providers.simulator import SimulatorProvider
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.store.base import EnrollmentStatus, HotpToken, TotpToken, UserRecord
from factorgate.store.sqlite import SqliteStore

NOW = 1_700_000_000.0
SEED = b"12345678901234567890"
BASE = "OU=Staff,DC=corp,DC=example,DC=test"
PASSWORD = b"Call-Red-Mountain-31"
CAROL = UserRecord("44444444-4444-4444-4444-444444444444", f"CN=Carol,{BASE}", "carol", "carol@corp.example.test",
                   "CORP", "+15550102", EnrollmentStatus.PENDING)
HANK = UserRecord("55555555-5555-5555-5555-555555555555", f"CN=Hank,{BASE}", "hank", "", "CORP", "",
                  EnrollmentStatus.PENDING)


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedAd:
    def __init__(self) -> None:
        self.attempts: list[bytes] = []

    async def __call__(self, password: bytes) -> PrimaryResult:
        self.attempts.append(password)
        if password == PASSWORD:
            return PrimaryResult(ok=True, detail=b"ok")
        return PrimaryResult(ok=False, result_code=49, diagnostic="data 52e", detail=b"ad-failure")


class Node:
    """A pipeline with SecondFactors over a real store, a simulator and a fixed clock."""

    def __init__(self, tmp_path, method: str = "voice", timeout: float = 2.0, mail: AlertMailSettings | None = None,
                 **policy) -> None:
        key = tmp_path / "secret.key"
        SecretBox.generate_key_file(key)
        self.clock = Clock()
        self.store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(key), clock=self.clock)
        for record in (CAROL, HANK):
            self.store.upsert_user(record)
        self.store.set_method(CAROL.guid, method, NOW)
        self.simulator = SimulatorProvider()
        methods = {name: MethodSettings("simulator", timeout) for name in ("voice", "sms", "push")}
        outofband = OutOfBand({name: self.simulator for name in methods}, methods)
        self.alerter = FraudAlerter(self.store, mail or AlertMailSettings(), "fg1", 90 * 86400, self.clock)
        self.factors = SecondFactors(
            self.store,
            TotpVerifier(self.store, clock=self.clock),
            HotpVerifier(self.store, window=5),
            outofband,
            self.alerter,
            FactorPolicy(**policy),
            clock=self.clock,
        )
        resolver = Resolver(self.store, None, ExemptRules(), netbios_domain="CORP", upn_suffixes=("corp.example.test",))
        self.pipeline = Pipeline(resolver, self.store, TotpVerifier(self.store, clock=self.clock), PipelinePolicy(),
                                 self.factors)
        self.ad = ScriptedAd()

    async def login(self, password: bytes = PASSWORD, name: str = "carol", client: str = "127.0.0.1",
                    mode: CodeMode = CodeMode.APPENDED, protocol: str = "ldap", client_name: str = ""):
        request = AuthRequest(name, password, client, protocol, client_name=client_name, code_mode=mode)
        return await self.pipeline.authenticate(request, self.ad)


@pytest.fixture
def node(tmp_path):
    node = Node(tmp_path)
    yield node
    node.store.close()


def make_node(tmp_path, **kwargs) -> Node:
    return Node(tmp_path, **kwargs)


# Voice


@pytest.mark.parametrize(
    ("answer", "verdict", "reason", "outcome"),
    [
        ("#", Verdict.ACCEPT, Reason.OOB_APPROVED, "SUCCESS_NO_PIN"),
        ("hangup", Verdict.REJECT, Reason.OOB_FAILED, "FAILED_USER_HUNGUP_ON_US"),
        ("no_answer", Verdict.REJECT, Reason.OOB_FAILED, "FAILED_NO_ANSWER"),
        ("busy", Verdict.REJECT, Reason.OOB_FAILED, "FAILED_PHONE_BUSY"),
        ("silent", Verdict.REJECT, Reason.OOB_FAILED, "SUCCESS_NO_PIN_BUT_TIMEOUT"),
        ("1234", Verdict.REJECT, Reason.OOB_FAILED, "SUCCESS_WITH_PIN_BUT_TIMEOUT"),
        ("1#", Verdict.REJECT, Reason.OOB_FAILED, "FAILED_INVALID_KEY"),
        ("0#", Verdict.REJECT, Reason.FRAUD_REPORTED, "FRAUD_REPORTED"),
    ],
)
async def test_voice_answer_maps_to_outcome(node, answer, verdict, reason, outcome):
    node.simulator.queue_answer("carol", answer)
    decision = await node.login()
    assert decision.verdict is verdict
    assert decision.reason is reason
    assert decision.outcome == outcome


async def test_voice_wrong_password_places_no_call(node):
    decision = await node.login(b"wrong")
    assert decision.reason is Reason.AD_REJECTED
    assert node.simulator.started == 0


async def test_voice_no_input_times_out(tmp_path):
    node = make_node(tmp_path, timeout=0.2)
    node.simulator.queue_answer("carol", "never")
    decision = await node.login()
    assert decision.outcome == "FAILED_NO_ANSWER"


async def test_voice_slow_answer_after_timeout_fails(tmp_path):
    node = make_node(tmp_path, timeout=0.3)
    node.simulator.queue_answer("carol", "slow:1:#")
    decision = await node.login()
    assert decision.verdict is Verdict.REJECT
    assert decision.outcome == "FAILED_NO_ANSWER"


async def test_voice_slow_answer_within_timeout_passes(tmp_path):
    node = make_node(tmp_path, timeout=2)
    node.simulator.queue_answer("carol", "slow:0.2:#")
    decision = await node.login()
    assert decision.accepted


async def test_voice_needs_phone_number(node):
    node.store.set_method(HANK.guid, "voice", NOW)
    decision = await node.login(name="hank")
    assert decision.reason is Reason.NO_PHONE
    assert node.simulator.started == 0


# Fraud


async def test_fraud_blocks_later_logins_without_call(node):
    node.simulator.queue_answer("carol", "0#")
    await node.login()
    calls = node.simulator.started
    later = await node.login()
    assert later.reason is Reason.FRAUD_BLOCKED
    assert node.simulator.started == calls


async def test_fraud_block_lasts_configured_days(node):
    node.simulator.queue_answer("carol", "0#")
    await node.login()
    block = node.store.get_block(CAROL.guid, NOW)
    assert block.blocked_until == NOW + 90 * 86400


async def test_fraud_block_ends_after_unblock(node):
    node.simulator.queue_answer("carol", "0#")
    await node.login()
    assert node.store.unblock_user(CAROL.guid)
    decision = await node.login()
    assert decision.accepted


async def test_push_report_blocks_user(tmp_path):
    node = make_node(tmp_path, method="push")
    node.simulator.queue_answer("carol", "report")
    decision = await node.login()
    assert decision.reason is Reason.FRAUD_REPORTED
    assert node.store.get_block(CAROL.guid, NOW) is not None


@pytest.mark.parametrize(("answer", "outcome"), [("approve", "SUCCESS_PUSH_APPROVED"), ("deny", "FAILED_PUSH_DENIED")])
async def test_push_answer_maps_to_outcome(tmp_path, answer, outcome):
    node = make_node(tmp_path, method="push")
    node.simulator.queue_answer("carol", answer)
    decision = await node.login()
    assert decision.outcome == outcome


async def test_push_without_answer_times_out(tmp_path):
    node = make_node(tmp_path, method="push", timeout=0.2)
    node.simulator.queue_answer("carol", "never")
    decision = await node.login()
    assert decision.outcome == "FAILED_PUSH_TIMEOUT"


# Fail mode


async def test_unreachable_provider_denies_by_default(node):
    node.simulator.queue_answer("carol", "unreachable")
    decision = await node.login()
    assert decision.reason is Reason.PROVIDER_UNAVAILABLE
    assert decision.verdict is Verdict.REJECT


async def test_unreachable_provider_safe_ldap_client_passes(tmp_path, caplog):
    import ipaddress

    node = make_node(tmp_path, safe_ldap_clients=(ipaddress.ip_network("127.0.0.0/8"),))
    node.simulator.queue_answer("carol", "unreachable")
    decision = await node.login()
    assert decision.reason is Reason.FAIL_OPEN
    assert decision.accepted
    assert "fail mode safe" in caplog.text


async def test_unreachable_provider_safe_radius_client_passes(tmp_path):
    node = make_node(tmp_path, safe_radius_clients=("legacy-vpn",))
    node.simulator.queue_answer("carol", "unreachable")
    decision = await node.login(protocol="radius", client_name="legacy-vpn")
    assert decision.reason is Reason.FAIL_OPEN


async def test_unreachable_provider_other_radius_client_denied(tmp_path):
    node = make_node(tmp_path, safe_radius_clients=("legacy-vpn",))
    node.simulator.queue_answer("carol", "unreachable")
    decision = await node.login(protocol="radius", client_name="netscaler")
    assert decision.reason is Reason.PROVIDER_UNAVAILABLE


# SMS


def sent_code(node: Node) -> str:
    message = node.simulator.sent[-1].message
    return "".join(char for char in message.split("code is ")[1][:6])


async def test_sms_first_login_sends_code(tmp_path):
    node = make_node(tmp_path, method="sms")
    decision = await node.login()
    assert decision.reason is Reason.SMS_SENT
    assert decision.message == SMS_SENT_MESSAGE
    assert node.simulator.sent[-1].method == "sms"


async def test_sms_code_appended_passes(tmp_path):
    node = make_node(tmp_path, method="sms")
    await node.login()
    decision = await node.login(PASSWORD + sent_code(node).encode())
    assert decision.reason is Reason.SMS_OK
    assert node.ad.attempts[-1] == PASSWORD


async def test_sms_code_used_once(tmp_path):
    node = make_node(tmp_path, method="sms")
    await node.login()
    code = sent_code(node).encode()
    await node.login(PASSWORD + code)
    again = await node.login(PASSWORD + code)
    assert again.reason is Reason.AD_REJECTED


async def test_sms_wrong_code_rejected(tmp_path):
    node = make_node(tmp_path, method="sms")
    await node.login()
    code = sent_code(node)
    wrong = str((int(code) + 1) % 10**6).zfill(6).encode()
    decision = await node.login(PASSWORD + wrong)
    assert decision.reason is Reason.INVALID_CODE


async def test_sms_code_expires(tmp_path):
    node = make_node(tmp_path, method="sms")
    await node.login()
    node.clock.now += 301
    decision = await node.login(PASSWORD + sent_code(node).encode())
    assert decision.reason is Reason.AD_REJECTED


async def test_sms_challenge_mode_then_answer(tmp_path):
    node = make_node(tmp_path, method="sms")
    first = await node.login(mode=CodeMode.CHALLENGE, protocol="radius")
    assert first.verdict is Verdict.CHALLENGE
    request = AuthRequest("carol", sent_code(node).encode(), "127.0.0.1", "radius", code_mode=CodeMode.CHALLENGE)
    answer = await node.pipeline.answer_challenge(request, first.user)
    assert answer.reason is Reason.SMS_OK


# HOTP


def enroll_hotp(node: Node, counter: int = 0) -> None:
    node.store.set_method(CAROL.guid, "hotp", NOW)
    node.store.set_hotp(HotpToken(CAROL.guid, SEED, counter=counter), NOW)


async def test_hotp_rfc4226_vector_accepted(node):
    enroll_hotp(node)
    decision = await node.login(PASSWORD + b"755224")   # RFC 4226 Appendix D, counter 0
    assert decision.reason is Reason.HOTP_OK


async def test_hotp_drift_inside_window_accepted(node):
    enroll_hotp(node)
    decision = await node.login(PASSWORD + hotp(SEED, 5).encode())
    assert decision.reason is Reason.HOTP_OK
    assert node.store.get_hotp(CAROL.guid).counter == 6


async def test_hotp_drift_outside_window_rejected(node):
    enroll_hotp(node)
    decision = await node.login(PASSWORD + hotp(SEED, 6).encode())
    assert decision.reason is Reason.INVALID_CODE
    assert node.store.get_hotp(CAROL.guid).counter == 0


async def test_hotp_counter_only_moves_forward(node):
    enroll_hotp(node)
    await node.login(PASSWORD + hotp(SEED, 3).encode())
    older = await node.login(PASSWORD + hotp(SEED, 2).encode())
    replayed = await node.login(PASSWORD + hotp(SEED, 3).encode())
    assert older.reason is Reason.INVALID_CODE
    assert replayed.reason is Reason.INVALID_CODE
    assert node.store.get_hotp(CAROL.guid).counter == 4


def test_hotp_advance_race_has_one_winner(node):
    enroll_hotp(node)
    wins = []
    barrier = threading.Barrier(16)

    def advance() -> None:
        barrier.wait()
        wins.append(node.store.advance_hotp(CAROL.guid, 2))

    threads = [threading.Thread(target=advance) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


# Bypass


async def test_bypass_consumed_once(node):
    node.store.grant_bypass(CAROL.guid, NOW + 600, "lost phone", "admin", NOW)
    node.simulator.queue_answer("carol", "hangup")
    first = await node.login()
    second = await node.login()
    assert first.reason is Reason.BYPASS
    assert first.accepted
    assert second.outcome == "FAILED_USER_HUNGUP_ON_US"
    assert node.simulator.started == 1


async def test_bypass_expired_not_used(node):
    node.store.grant_bypass(CAROL.guid, NOW + 60, "lost phone", "admin", NOW)
    node.clock.now += 61
    decision = await node.login()
    assert decision.reason is Reason.OOB_APPROVED


async def test_bypass_for_totp_user_takes_password_alone(node):
    node.store.set_method(CAROL.guid, "totp", NOW)
    node.store.set_totp(TotpToken(CAROL.guid, SEED))
    node.store.grant_bypass(CAROL.guid, NOW + 600, "token at home", "admin", NOW)
    decision = await node.login()
    assert decision.reason is Reason.BYPASS


async def test_bypass_concurrent_logins_use_it_once(node):
    node.store.grant_bypass(CAROL.guid, NOW + 600, "lost phone", "admin", NOW)
    node.simulator.settings = node.simulator.settings.__class__(default_answer="hangup")
    decisions = await asyncio.gather(*(node.login() for _ in range(10)))
    assert sum(decision.reason is Reason.BYPASS for decision in decisions) == 1


async def test_bypass_is_logged(node, caplog):
    node.store.grant_bypass(CAROL.guid, NOW + 600, "lost phone", "admin", NOW)
    await node.login()
    assert "one-time bypass (reason: lost phone)" in caplog.text


# Lockout


async def test_totp_lockout_after_max_failures(tmp_path):
    node = make_node(tmp_path, method="totp", max_failures=3)
    node.store.set_totp(TotpToken(CAROL.guid, SEED))
    good = totp(SEED, NOW).encode()
    for _ in range(3):
        await node.login(PASSWORD + b"000000")
    decision = await node.login(PASSWORD + good)
    assert decision.reason is Reason.LOCKED_OUT


async def test_lockout_expiry_does_not_reset_count(tmp_path):
    node = make_node(tmp_path, method="totp", max_failures=3, lock_seconds=60)
    node.store.set_totp(TotpToken(CAROL.guid, SEED))
    for _ in range(3):
        await node.login(PASSWORD + b"000000")
    node.clock.now += 61
    after_expiry = await node.login(PASSWORD + b"000000")
    next_try = await node.login(PASSWORD + b"000000")
    assert after_expiry.reason is Reason.INVALID_CODE
    assert next_try.reason is Reason.LOCKED_OUT


async def test_lockout_success_resets_count(tmp_path):
    node = make_node(tmp_path, method="totp", max_failures=3, lock_seconds=60)
    node.store.set_totp(TotpToken(CAROL.guid, SEED))
    for _ in range(3):
        await node.login(PASSWORD + b"000000")
    node.clock.now += 61
    decision = await node.login(PASSWORD + totp(SEED, node.clock.now).encode())
    assert decision.reason is Reason.TOTP_OK
    assert node.store.lockout_state(CAROL.guid).failures == 0


async def test_lockout_zero_seconds_waits_for_unlock(tmp_path):
    node = make_node(tmp_path, method="totp", max_failures=2, lock_seconds=0)
    node.store.set_totp(TotpToken(CAROL.guid, SEED))
    for _ in range(2):
        await node.login(PASSWORD + b"000000")
    node.clock.now += 10 * 365 * 86400
    locked = await node.login(PASSWORD + b"000000")
    assert locked.reason is Reason.LOCKED_OUT
    assert node.store.unlock_user(CAROL.guid, node.clock.now)
    node.clock.now = NOW
    unlocked = await node.login(PASSWORD + totp(SEED, NOW).encode())
    assert unlocked.reason is Reason.TOTP_OK


async def test_voice_failures_lock_and_stop_calls(tmp_path):
    node = make_node(tmp_path, max_failures=2, prompt_limit=100)
    node.simulator.settings = node.simulator.settings.__class__(default_answer="hangup")
    await node.login()
    await node.login()
    decision = await node.login()
    assert decision.reason is Reason.LOCKED_OUT
    assert node.simulator.started == 2


def test_lockout_reserve_across_threads_allows_exactly_max(node):
    results = []
    barrier = threading.Barrier(40)

    def reserve() -> None:
        barrier.wait()
        results.append(node.store.reserve_factor_attempt(CAROL.guid, NOW, 10, 900))

    threads = [threading.Thread(target=reserve) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 10


def test_lockout_reserve_across_processes_allows_exactly_max(tmp_path):
    import subprocess
    import sys
    import textwrap

    key = tmp_path / "secret.key"
    SecretBox.generate_key_file(key)
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(key))
    store.upsert_user(CAROL)
    store.close()
    script = textwrap.dedent(f"""
        import sys
        from factorgate.factors.secretbox import SecretBox
        from factorgate.store.sqlite import SqliteStore
        store = SqliteStore({str(tmp_path / "fg.db")!r}, SecretBox.from_key_file({str(key)!r}))
        print(sum(store.reserve_factor_attempt({CAROL.guid!r}, {NOW}, 10, 900) for _ in range(5)))
    """)
    processes = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    granted = sum(int(process.communicate(timeout=60)[0]) for process in processes)
    assert granted == 10


# Anti-fatigue


async def test_prompt_limit_across_concurrent_logins(tmp_path):
    node = make_node(tmp_path, prompt_limit=3, prompt_window=300)
    decisions = await asyncio.gather(*(node.login() for _ in range(8)))
    assert node.simulator.started == 3
    assert sum(decision.reason is Reason.PROMPT_LIMIT for decision in decisions) == 5


async def test_prompt_limit_opens_new_window(tmp_path):
    node = make_node(tmp_path, prompt_limit=1, prompt_window=300)
    await node.login()
    limited = await node.login()
    node.clock.now += 301
    later = await node.login()
    assert limited.reason is Reason.PROMPT_LIMIT
    assert later.accepted


def test_prompt_limit_across_threads(node):
    results = []
    barrier = threading.Barrier(30)

    def take() -> None:
        barrier.wait()
        results.append(node.store.take_prompt(CAROL.guid, NOW, 5, 300))

    threads = [threading.Thread(target=take) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5


# Methods


def test_import_method_keeps_admin_choice(node):
    node.store.set_import_methods([CAROL.guid, HANK.guid], "sms", NOW)
    assert node.store.get_method(CAROL.guid) == "voice"
    assert node.store.get_method(HANK.guid) == "sms"


def test_import_method_follows_new_default(node):
    node.store.set_import_methods([HANK.guid], "sms", NOW)
    node.store.set_import_methods([HANK.guid], "push", NOW)
    assert node.store.get_method(HANK.guid) == "push"


async def test_default_method_applies_without_row(tmp_path):
    node = make_node(tmp_path, default_method="voice")
    node.store.set_hotp(HotpToken(HANK.guid, SEED), NOW)   # hank has no method row
    decision = await node.login(name="hank")
    assert decision.reason is Reason.NO_PHONE
