"""HOTP (RFC 4226) and TOTP (RFC 6238) codes, seeds and otpauth URIs.

Pure functions with no state and no I/O: the verifier and the enrollment CLI
build on them. HMAC comes from the standard library (`hmac.digest`, the C fast
path), so computing one code costs a few microseconds.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import struct
from urllib.parse import quote, urlencode

ALGORITHMS: dict[str, str] = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
"""Supported HMAC algorithms, by their otpauth name, mapped to hashlib names."""

SEED_LENGTHS: dict[str, int] = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
"""Seed length in octets per algorithm: the hash's output size (RFC 4226 §4, RFC 6238 §5.1)."""

MIN_DIGITS = 6
MAX_DIGITS = 10   # a 31-bit truncated value has at most 10 decimal digits
DEFAULT_PERIOD = 30
DEFAULT_ISSUER = "FactorGate"
BASE32_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")   # the RFC 4648 base32 alphabet


def normalize_algorithm(algorithm: str) -> str:
    """Return the otpauth name (SHA1, SHA256, SHA512) for `algorithm`.

    Accepts any case and a hyphen ("sha-256").

    Raises:
        ValueError: the algorithm is not one of SHA1, SHA256, SHA512.
    """
    name = algorithm.strip().upper().replace("-", "")
    if name not in ALGORITHMS:
        raise ValueError(f"unsupported OTP algorithm {algorithm!r}: use one of SHA1, SHA256, SHA512")
    return name


def hotp(secret: bytes, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    """Compute the HOTP value for `counter` (RFC 4226 §5.3, dynamic truncation).

    Args:
        secret: the shared seed as raw octets.
        counter: the moving factor, 0 to 2**64 - 1.
        digits: code length, 6 to 10.
        algorithm: SHA1, SHA256 or SHA512.

    Returns:
        The code as a zero-padded decimal string of `digits` characters.

    Raises:
        ValueError: the counter, digits or algorithm is out of range.
    """
    if not 0 <= counter < 2**64:
        raise ValueError(f"HOTP counter must be between 0 and 2**64 - 1 (got {counter})")
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise ValueError(f"OTP digits must be between {MIN_DIGITS} and {MAX_DIGITS} (got {digits})")
    digest_name = ALGORITHMS[normalize_algorithm(algorithm)]

    mac = hmac.digest(secret, struct.pack(">Q", counter), digest_name)

    offset = mac[-1] & 0x0F
    binary = struct.unpack_from(">I", mac, offset)[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def totp_step(unix_time: float, period: int = DEFAULT_PERIOD) -> int:
    """Return the RFC 6238 time step for `unix_time` (seconds since the epoch, T0 = 0).

    Raises:
        ValueError: the period is not positive or the time is before the epoch.
    """
    if period <= 0:
        raise ValueError(f"TOTP period must be a positive number of seconds (got {period})")
    if unix_time < 0:
        raise ValueError(f"TOTP time must not be before the Unix epoch (got {unix_time})")
    return math.floor(unix_time) // period


def totp(
    secret: bytes,
    unix_time: float,
    digits: int = 6,
    algorithm: str = "SHA1",
    period: int = DEFAULT_PERIOD,
) -> str:
    """Compute the TOTP value at `unix_time` (RFC 6238 §4): HOTP of the time step."""
    return hotp(secret, totp_step(unix_time, period), digits, algorithm)


def generate_seed(algorithm: str = "SHA1") -> bytes:
    """Return a new random seed as long as the algorithm's hash output (20, 32 or 64 octets)."""
    return secrets.token_bytes(SEED_LENGTHS[normalize_algorithm(algorithm)])


def seed_to_base32(secret: bytes) -> str:
    """Encode a seed in upper-case base32 without padding, as authenticator apps expect."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


class InvalidSeedError(ValueError):
    """A base32 seed that cannot be decoded.

    `problem` describes what is wrong without quoting any character of the
    input, because a mistyped seed is still mostly the real seed.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(f"invalid base32 seed: {problem}")
        self.problem = problem


def seed_from_base32(text: str) -> bytes:
    """Decode a base32 seed as users and other systems write it.

    Lower case, spaces, hyphens and missing `=` padding are accepted.

    Raises:
        InvalidSeedError: the text is empty, contains a character outside the
            base32 alphabet (A-Z, 2-7), or has a length no base32 encoding can
            have. The message counts the problems but quotes no character.
    """
    cleaned = "".join(text.split()).replace("-", "").upper().rstrip("=")
    if not cleaned:
        raise InvalidSeedError("it is empty")

    invalid_count = sum(char not in BASE32_ALPHABET for char in cleaned)
    if invalid_count:
        noun = "character" if invalid_count == 1 else "characters"
        raise InvalidSeedError(f"{invalid_count} {noun} outside A-Z and 2-7")

    if len(cleaned) % 8 in (1, 3, 6):
        raise InvalidSeedError(
            f"{len(cleaned)} characters, a length that no base32 encoding has: a character is missing or extra"
        )

    padded = cleaned + "=" * (-len(cleaned) % 8)
    try:
        return base64.b32decode(padded)
    except binascii.Error as exc:   # not expected after the checks above
        raise InvalidSeedError("it could not be decoded") from exc


def otpauth_uri(
    secret: bytes,
    account: str,
    issuer: str = DEFAULT_ISSUER,
    algorithm: str = "SHA1",
    digits: int = 6,
    period: int = DEFAULT_PERIOD,
) -> str:
    """Build an otpauth://totp/ URI in Google Authenticator's Key Uri Format.

    The label is `Issuer:account` with each part percent-encoded (a colon
    inside either part becomes %3A, so the separator stays unambiguous), and
    the issuer is repeated as a parameter as the format recommends. Some apps ignore `algorithm`,
    `digits` and `period` and assume SHA1, 6 and 30; they are sent anyway.
    """
    name = normalize_algorithm(algorithm)
    label = quote(issuer, safe="@") + ":" + quote(account, safe="@")
    query = urlencode(
        {
            "secret": seed_to_base32(secret),
            "issuer": issuer,
            "algorithm": name,
            "digits": str(digits),
            "period": str(period),
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
