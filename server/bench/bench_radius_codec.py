"""Measure the CPU cost of the RADIUS codec per request and reply.

Run: python server/bench/bench_radius_codec.py [--rounds N]

Prints microseconds per operation (best of five runs of N rounds each, one
thread) for the steps the RADIUS listener takes on every Access-Request:
decode + verify (with Message-Authenticator), PAP decode, build_reply, and
a retransmission-cache begin + finish. The request is a typical NetScaler
login: User-Name, a 16-octet hidden password, NAS-IP-Address, NAS-Identifier,
Message-Authenticator and one Proxy-State.
"""

from __future__ import annotations

import argparse
import platform
import timeit
from collections.abc import Callable

from factorgate.radius.dedup import RetransmitCache, RetransmitKey
from factorgate.radius.dictionary import PROXY_STATE, USER_PASSWORD
from factorgate.radius.packet import (
    ACCESS_ACCEPT,
    access_request,
    build_reply,
    decode_packet,
    decode_pap_password,
    nas_identifier,
    nas_ip_address,
    reply_message,
    verify_request,
)

SECRET = b"bench-shared-secret-of-32-octets"


def measure(label: str, statement: Callable[[], object], rounds: int) -> float:
    """Print and return the best time per call of `statement` in microseconds."""
    best = min(timeit.repeat(statement, number=rounds, repeat=5)) / rounds * 1e6
    print(f"{label:<44} {best:8.2f} µs")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000, help="calls per timing run (default 20000)")
    rounds = parser.parse_args().rounds

    raw = access_request(
        "alice@corp.example.test",
        b"Correct-Horse-9",
        SECRET,
        attributes=[nas_ip_address("192.0.2.10"), nas_identifier("netscaler-1"), (PROXY_STATE, b"proxy-1")],
    )
    request = decode_packet(raw)
    hidden = request.get(USER_PASSWORD)
    reply_attributes = [reply_message("Welcome")]

    def decode_and_verify() -> None:
        packet = decode_packet(raw)
        verify_request(packet, raw, SECRET, require_message_authenticator=True)

    cache = RetransmitCache(max_entries=10_000, ttl=90)
    keys = [RetransmitKey("192.0.2.10", 40000 + i % 50, i % 256, i.to_bytes(16, "big")) for i in range(rounds)]
    key_iterator = iter(keys * 6)

    def cache_begin_and_finish() -> None:
        key = next(key_iterator)
        cache.begin(key)
        cache.finish(key, raw)

    print(f"Python {platform.python_version()} on {platform.machine()}, {rounds} rounds, best of 5")
    total = measure("decode_packet + verify_request (with M-A)", decode_and_verify, rounds)
    total += measure("decode_pap_password (16 octets)", lambda: decode_pap_password(hidden, SECRET, request.authenticator), rounds)
    total += measure("build_reply (Access-Accept, Reply-Message)", lambda: build_reply(request, ACCESS_ACCEPT, reply_attributes, SECRET), rounds)
    total += measure("RetransmitCache.begin + finish", cache_begin_and_finish, rounds)
    print(f"{'total per request and reply':<44} {total:8.2f} µs")


if __name__ == "__main__":
    main()
