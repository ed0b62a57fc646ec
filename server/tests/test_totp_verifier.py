"""Tests for TotpVerifier on a real SQLite store with a fixed clock."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from factorgate.factors import totp_verifier
from factorgate.factors.otp import totp
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpResult, TotpVerifier
from factorgate.store import SqliteStore, TotpToken, UserRecord

KEY = bytes(range(32))
GUID = "5d1f0c2e-3b4a-4c5d-8e6f-000000000001"
SEED = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"
NOW = 1_111_111_111.0   # step 37037037, 21 s into it


class FixedClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    return tmp_path / "factorgate.db"


@pytest.fixture()
def store(database: Path) -> SqliteStore:
    opened = SqliteStore(database, SecretBox(KEY))
    opened.upsert_user(UserRecord(GUID, "CN=Dana,DC=example,DC=test", "dana"))
    opened.set_totp(TotpToken(GUID, SEED))
    yield opened
    opened.close()


@pytest.fixture()
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture()
def verifier(store: SqliteStore, clock: FixedClock) -> TotpVerifier:
    return TotpVerifier(store, clock=clock)


def code_at(unix_time: float, secret: bytes = SEED, digits: int = 6, algorithm: str = "SHA1") -> str:
    return totp(secret, unix_time, digits, algorithm)


def test_verify_current_code_ok(verifier: TotpVerifier) -> None:
    assert verifier.verify(GUID, code_at(NOW)) is TotpResult.OK


def test_verify_ok_consumes_step(verifier: TotpVerifier, store: SqliteStore) -> None:
    verifier.verify(GUID, code_at(NOW))
    assert store.get_totp(GUID).last_step == 37037037


@pytest.mark.parametrize("offset, expected", [(-2, TotpResult.INVALID), (-1, TotpResult.OK), (1, TotpResult.OK), (2, TotpResult.INVALID)])
def test_verify_window_edges(verifier: TotpVerifier, offset: int, expected: TotpResult) -> None:
    assert verifier.verify(GUID, code_at(NOW + 30 * offset)) is expected


@pytest.mark.parametrize("offset, expected", [(-1, TotpResult.INVALID), (0, TotpResult.OK), (1, TotpResult.INVALID)])
def test_verify_window_zero(store: SqliteStore, clock: FixedClock, offset: int, expected: TotpResult) -> None:
    verifier = TotpVerifier(store, clock=clock, window=0)
    assert verifier.verify(GUID, code_at(NOW + 30 * offset)) is expected


def test_verify_window_moves_at_step_boundary(verifier: TotpVerifier, clock: FixedClock) -> None:
    code = code_at(1_111_111_140.0)   # step 37037038
    clock.now = 1_111_111_109.999     # last moment of step 37037036: two steps behind
    assert verifier.verify(GUID, code) is TotpResult.INVALID
    clock.now = 1_111_111_110.0       # first moment of step 37037037: one step behind
    assert verifier.verify(GUID, code) is TotpResult.OK


def test_verify_same_code_replayed(verifier: TotpVerifier) -> None:
    code = code_at(NOW)
    assert verifier.verify(GUID, code) is TotpResult.OK
    assert verifier.verify(GUID, code) is TotpResult.REPLAYED


def test_verify_older_step_after_newer_replayed(verifier: TotpVerifier) -> None:
    assert verifier.verify(GUID, code_at(NOW)) is TotpResult.OK
    assert verifier.verify(GUID, code_at(NOW - 30)) is TotpResult.REPLAYED


def test_verify_replay_after_clock_moves(verifier: TotpVerifier, clock: FixedClock) -> None:
    code = code_at(NOW)
    assert verifier.verify(GUID, code) is TotpResult.OK
    clock.now += 30   # the code is now one step old, still inside the window
    assert verifier.verify(GUID, code) is TotpResult.REPLAYED


def test_verify_next_step_after_use_ok(verifier: TotpVerifier, clock: FixedClock) -> None:
    assert verifier.verify(GUID, code_at(NOW)) is TotpResult.OK
    clock.now += 30
    assert verifier.verify(GUID, code_at(clock.now)) is TotpResult.OK


def test_verify_wrong_code_consumes_nothing(verifier: TotpVerifier, store: SqliteStore) -> None:
    wrong = f"{(int(code_at(NOW)) + 1) % 1_000_000:06d}"
    assert verifier.verify(GUID, wrong) is TotpResult.INVALID
    assert store.get_totp(GUID).last_step == -1


@pytest.mark.parametrize(
    "algorithm, secret, expected",
    [("SHA256", SEED_SHA256, "46119246"), ("SHA512", SEED_SHA512, "90693936")],
)
def test_verify_rfc6238_eight_digits(store: SqliteStore, algorithm: str, secret: bytes, expected: str) -> None:
    store.set_totp(TotpToken(GUID, secret, algorithm=algorithm, digits=8))
    verifier = TotpVerifier(store, clock=FixedClock(59.0))
    assert verifier.verify(GUID, expected) is TotpResult.OK


def test_verify_six_digits_for_eight_digit_token(store: SqliteStore) -> None:
    store.set_totp(TotpToken(GUID, SEED_SHA256, algorithm="SHA256", digits=8))
    verifier = TotpVerifier(store, clock=FixedClock(59.0))
    assert verifier.verify(GUID, "119246") is TotpResult.INVALID


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", " 12345", "12 345", "١٢٣٤٥٦", "12³456", "-12345"])
def test_verify_malformed_code_invalid(verifier: TotpVerifier, code: str) -> None:
    assert verifier.verify(GUID, code) is TotpResult.INVALID


def test_verify_malformed_code_skips_hmac(verifier: TotpVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(totp_verifier, "hotp", lambda *args: calls.append(1) or "000000")
    verifier.verify(GUID, "12345")
    verifier.verify(GUID, "abcdef")
    assert calls == []


def test_verify_checks_every_candidate(verifier: TotpVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_hotp = totp_verifier.hotp

    def counting_hotp(secret: bytes, counter: int, digits: int, algorithm: str) -> str:
        calls.append(counter)
        return real_hotp(secret, counter, digits, algorithm)

    monkeypatch.setattr(totp_verifier, "hotp", counting_hotp)
    assert verifier.verify(GUID, code_at(NOW - 30)) is TotpResult.OK
    assert calls == [37037036, 37037037, 37037038]


def test_verify_bytes_code_ok(verifier: TotpVerifier) -> None:
    assert verifier.verify(GUID, code_at(NOW).encode("ascii")) is TotpResult.OK


def test_verify_non_ascii_bytes_invalid(verifier: TotpVerifier) -> None:
    assert verifier.verify(GUID, "١٢٣٤٥٦".encode()) is TotpResult.INVALID


def test_verify_preloaded_token_ok(verifier: TotpVerifier, store: SqliteStore) -> None:
    token = store.get_totp(GUID)
    assert verifier.verify(GUID, code_at(NOW), token=token) is TotpResult.OK


def test_verify_stale_preloaded_token_replayed(verifier: TotpVerifier, store: SqliteStore) -> None:
    token = store.get_totp(GUID)   # read before the code is used, so last_step is stale
    code = code_at(NOW)
    assert verifier.verify(GUID, code) is TotpResult.OK
    assert verifier.verify(GUID, code, token=token) is TotpResult.REPLAYED


def test_verify_user_without_token(store: SqliteStore, verifier: TotpVerifier) -> None:
    store.remove_totp(GUID)
    assert verifier.verify(GUID, code_at(NOW)) is TotpResult.NO_TOKEN


def test_verify_unknown_user_no_token(verifier: TotpVerifier) -> None:
    assert verifier.verify("no-such-guid", "123456") is TotpResult.NO_TOKEN


def test_verify_near_epoch_skips_negative_steps(store: SqliteStore) -> None:
    verifier = TotpVerifier(store, clock=FixedClock(5.0))
    assert verifier.verify(GUID, code_at(5.0)) is TotpResult.OK


@pytest.mark.parametrize("window", [-1, 11])
def test_verifier_rejects_window_out_of_range(store: SqliteStore, window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        TotpVerifier(store, window=window)


# Two logins with the same code at the same moment: exactly one passes.

RACE_ROUNDS = 100


def race_verifiers(verifiers: list[TotpVerifier], code: str) -> list[TotpResult]:
    barrier = threading.Barrier(len(verifiers))
    results: list[TotpResult | None] = [None] * len(verifiers)

    def verify(index: int) -> None:
        barrier.wait()
        results[index] = verifiers[index].verify(GUID, code)

    threads = [threading.Thread(target=verify, args=(index,)) for index in range(len(verifiers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_same_code_one_ok(store: SqliteStore, clock: FixedClock) -> None:
    verifier = TotpVerifier(store, clock=clock)
    for _ in range(RACE_ROUNDS):
        clock.now += 30
        results = race_verifiers([verifier, verifier], code_at(clock.now))
        assert sorted(results) == [TotpResult.OK, TotpResult.REPLAYED]


def test_concurrent_same_code_two_stores(store: SqliteStore, database: Path, clock: FixedClock) -> None:
    with SqliteStore(database, SecretBox(KEY)) as second:
        verifiers = [TotpVerifier(store, clock=clock), TotpVerifier(second, clock=clock)]
        for _ in range(RACE_ROUNDS):
            clock.now += 30
            results = race_verifiers(verifiers, code_at(clock.now))
            assert sorted(results) == [TotpResult.OK, TotpResult.REPLAYED]
