"""Print the per-call cost of the LDAP codec's hot path, in microseconds.

Usage: python server/bench/bench_codec.py [--seconds 1.0]

Measures a typical simple BindRequest (a full DN and an 18-character
password, 83 octets, the shape OpenLDAP's ldapsearch sends) through MessageFramer.feed, decode_envelope (full walk) and
decode_bind_request, each alone and all three together, plus the shallow
decode_envelope of a SearchResultEntry from AD. Not a test: the numbers
depend on the machine.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

from factorgate.ldap.ber import Limits, MessageFramer, encode_integer, encode_octet_string, encode_sequence, encode_tlv
from factorgate.ldap.messages import decode_bind_request, decode_envelope, encode_bind_request

BIND = encode_bind_request(
    1, b"CN=Alice Anders,OU=Staff,DC=corp,DC=example,DC=test", b"Vpn-Blue-Harbor-17"
)
LIMITS = Limits()


def search_entry(attributes: int, value_size: int) -> bytes:
    """Encode a SearchResultEntry with `attributes` attributes of one `value_size`-octet value each."""
    partial_attributes = b"".join(
        encode_sequence(encode_octet_string(f"attr{index}"), encode_tlv(0x31, encode_octet_string(b"v" * value_size)))
        for index in range(attributes)
    )
    op = encode_tlv(0x64, encode_octet_string(b"CN=Someone,OU=Staff,DC=corp,DC=example,DC=test")
                    + encode_sequence(partial_attributes))
    return encode_sequence(encode_integer(2), op)


ENTRY = search_entry(40, 200)


def framer_feed() -> None:
    MessageFramer(LIMITS.max_message_size).feed(BIND)


def envelope_full() -> None:
    decode_envelope(BIND, LIMITS)


def envelope_and_bind() -> None:
    decode_bind_request(decode_envelope(BIND, LIMITS))


FRAMER = MessageFramer(LIMITS.max_message_size)


def framer_envelope_bind() -> None:
    for message in FRAMER.feed(BIND):
        decode_bind_request(decode_envelope(message, LIMITS))


def entry_shallow() -> None:
    decode_envelope(ENTRY, LIMITS, full_walk=False)


def entry_full() -> None:
    decode_envelope(ENTRY, LIMITS)


def measure(function: Callable[[], None], seconds: float, repeats: int = 5) -> float:
    """Return the cost of one call in microseconds, the best of `repeats` runs of about `seconds` each.

    The best run is the one least disturbed by other processes on the machine.
    """
    calls = 1000
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        calls *= 2
    best = elapsed
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-call cost of the LDAP codec hot path.")
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum time of each of the 5 runs per case, in seconds")
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'unknown CPU'}")
    print(f"bind request {len(BIND)} octets, search entry {len(ENTRY)} octets")
    cases = [
        ("framer.feed (new framer, bind)", framer_feed),
        ("decode_envelope full walk (bind)", envelope_full),
        ("decode_envelope + decode_bind_request", envelope_and_bind),
        ("framer + envelope + bind decode", framer_envelope_bind),
        ("decode_envelope shallow (search entry)", entry_shallow),
        ("decode_envelope full walk (search entry)", entry_full),
    ]
    for label, function in cases:
        print(f"{label:45s} {measure(function, args.seconds):8.2f} µs/call")


if __name__ == "__main__":
    main()
