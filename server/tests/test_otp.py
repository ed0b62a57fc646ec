"""Known-answer and edge tests for factorgate.factors.otp."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from factorgate.factors import otp

RFC4226_SECRET = b"12345678901234567890"
RFC4226_CODES = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]

# RFC 6238 Appendix B: each algorithm uses a seed as long as its hash output.
RFC6238_SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_TABLE = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


@pytest.mark.parametrize("counter, expected", list(enumerate(RFC4226_CODES)))
def test_hotp_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert otp.hotp(RFC4226_SECRET, counter) == expected


@pytest.mark.parametrize("unix_time, algorithm, expected", RFC6238_TABLE)
def test_totp_rfc6238_appendix_b(unix_time: int, algorithm: str, expected: str) -> None:
    assert otp.totp(RFC6238_SEEDS[algorithm], unix_time, digits=8, algorithm=algorithm) == expected


def test_hotp_keeps_leading_zeros() -> None:
    assert otp.totp(RFC6238_SEEDS["SHA1"], 1111111109, digits=8) == "07081804"


def test_hotp_accepts_lower_case_algorithm() -> None:
    assert otp.hotp(RFC6238_SEEDS["SHA256"], 1, digits=8, algorithm="sha-256") == "46119246"


def test_hotp_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="MD5"):
        otp.hotp(RFC4226_SECRET, 0, algorithm="MD5")


@pytest.mark.parametrize("digits", [5, 11])
def test_hotp_rejects_digits_out_of_range(digits: int) -> None:
    with pytest.raises(ValueError, match="digits"):
        otp.hotp(RFC4226_SECRET, 0, digits=digits)


def test_hotp_rejects_negative_counter() -> None:
    with pytest.raises(ValueError, match="counter"):
        otp.hotp(RFC4226_SECRET, -1)


def test_totp_step_period_boundaries() -> None:
    assert otp.totp_step(29.999) == 0
    assert otp.totp_step(30) == 1
    assert otp.totp_step(59, period=60) == 0
    assert otp.totp_step(1111111111) == 37037037


def test_totp_step_rejects_zero_period() -> None:
    with pytest.raises(ValueError, match="period"):
        otp.totp_step(100, period=0)


@pytest.mark.parametrize("algorithm, length", [("SHA1", 20), ("SHA256", 32), ("SHA512", 64)])
def test_generate_seed_length_per_algorithm(algorithm: str, length: int) -> None:
    assert len(otp.generate_seed(algorithm)) == length


def test_generate_seed_differs_each_call() -> None:
    assert otp.generate_seed() != otp.generate_seed()


def test_seed_base32_round_trip() -> None:
    for length in range(1, 65):
        seed = bytes(range(length))
        assert otp.seed_from_base32(otp.seed_to_base32(seed)) == seed


def test_seed_to_base32_has_no_padding() -> None:
    assert otp.seed_to_base32(RFC4226_SECRET) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert "=" not in otp.seed_to_base32(b"\x00")


def test_seed_from_base32_tolerates_case_spaces_padding() -> None:
    assert otp.seed_from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq") == RFC4226_SECRET
    assert otp.seed_from_base32("AA") == b"\x00"
    assert otp.seed_from_base32("AA======") == b"\x00"
    assert otp.seed_from_base32("gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq") == RFC4226_SECRET


def test_seed_from_base32_rejects_invalid_character() -> None:
    with pytest.raises(ValueError) as caught:
        otp.seed_from_base32("GEZ1GNB81")
    assert caught.value.problem == "3 characters outside A-Z and 2-7"
    assert "1" not in str(caught.value)
    assert "8" not in str(caught.value)


def test_seed_from_base32_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        otp.seed_from_base32("  ")


def test_seed_from_base32_rejects_impossible_length() -> None:
    with pytest.raises(ValueError, match="3 characters, a length that no base32 encoding has"):
        otp.seed_from_base32("AAA")


def test_otpauth_uri_format() -> None:
    uri = otp.otpauth_uri(RFC4226_SECRET, "alice@example.test")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)

    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    assert parts.path == "/FactorGate:alice@example.test"
    assert query["secret"] == ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"]
    assert query["issuer"] == ["FactorGate"]
    assert query["algorithm"] == ["SHA1"]
    assert query["digits"] == ["6"]
    assert query["period"] == ["30"]


def test_otpauth_uri_percent_encodes_label() -> None:
    uri = otp.otpauth_uri(RFC4226_SECRET, "EXAMPLE\\J Doe:x", issuer="Big Co", algorithm="sha512", digits=8)
    assert uri.startswith("otpauth://totp/Big%20Co:EXAMPLE%5CJ%20Doe%3Ax?")
    assert "issuer=Big%20Co" in uri
    assert "algorithm=SHA512" in uri
    assert "digits=8" in uri
