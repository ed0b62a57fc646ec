"""Measure the per-call cost of the SQLite store on the login path.

Creates a temporary database with 10,000 users, each with a TOTP token, then
prints microseconds per call for find_user, get_totp (read and decrypt),
consume_totp_step (one committed write) and a whole TotpVerifier.verify.

    python server/bench/bench_store.py [--users N] [--calls N] [--directory DIR]

Figures depend on the machine and its disk; record them with the hardware.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from factorgate.factors.otp import generate_seed, totp
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpResult, TotpVerifier
from factorgate.store import SqliteStore, TotpToken, UserRecord

REPEATS = 5   # each figure is the median of this many timed runs


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="number of users to create (default 10000)")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per timed run (default 20000)")
    parser.add_argument("--directory", help="directory for the database file (default: a new temporary one)")
    return parser.parse_args()


def guid_for(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


def populate(store: SqliteStore, users: int) -> None:
    for index in range(users):
        guid = guid_for(index)
        store.upsert_user(UserRecord(guid, f"CN=User {index},OU=Staff,DC=example,DC=test", f"user{index}"))
        store.set_totp(TotpToken(guid, generate_seed()))


def time_per_call(calls: int, run: Callable[[int], object]) -> float:
    """Return the median over REPEATS runs of microseconds per call of run(i)."""
    figures = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for index in range(calls):
            run(index)
        figures.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(figures)


def report(label: str, microseconds: float) -> None:
    print(f"{label:<28} {microseconds:8.1f} µs/call")


def run_benchmarks(store: SqliteStore, users: int, calls: int) -> None:
    keys = [f"sam:user{index % users}" for index in range(calls)]
    guids = [guid_for(index % users) for index in range(calls)]
    report("find_user", time_per_call(calls, lambda i: store.find_user(keys[i])))
    report("get_totp", time_per_call(calls, lambda i: store.get_totp(guids[i])))

    # Each consume must be a real write, so every run uses steps above the last.
    next_step = [1]

    def consume(i: int) -> None:
        if not store.consume_totp_step(guids[i], next_step[0] + i):
            raise RuntimeError("consume_totp_step returned False for a fresh step")

    def consume_run(i: int) -> None:
        consume(i)
        if i == calls - 1:
            next_step[0] += calls

    report("consume_totp_step", time_per_call(calls, consume_run))
    benchmark_verify(store, users, calls)


def benchmark_verify(store: SqliteStore, users: int, calls: int) -> None:
    """Time verify with a correct code for a new step each call.

    Each call reads and decrypts a token, computes 3 HMACs and commits one write.
    The figure also includes the one HMAC that makes the code.
    """
    tokens = {guid_for(index): store.get_totp(guid_for(index)) for index in range(min(users, calls))}
    guids = list(tokens)
    now = [2_000_000_000.0]
    verifier = TotpVerifier(store, clock=lambda: now[0])

    def verify(i: int) -> None:
        guid = guids[i % len(guids)]
        if i % len(guids) == 0:
            now[0] += 30
        code = totp(tokens[guid].secret, now[0])
        if verifier.verify(guid, code) is not TotpResult.OK:
            raise RuntimeError("verify rejected a correct code")

    report("TotpVerifier.verify (OK)", time_per_call(calls, verify))


def main() -> None:
    arguments = parse_arguments()
    with tempfile.TemporaryDirectory(dir=arguments.directory) as directory:
        database = Path(directory) / "bench.db"
        with SqliteStore(database, SecretBox(bytes(32))) as store:
            start = time.perf_counter()
            populate(store, arguments.users)
            print(f"created {arguments.users} users with TOTP tokens in {time.perf_counter() - start:.1f} s ({database})")
            run_benchmarks(store, arguments.users, arguments.calls)


if __name__ == "__main__":
    main()
