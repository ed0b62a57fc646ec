"""Split `password + code` into the AD password and the one-time code.

The split depends only on the user's token (a fixed number of digits) and the
configured delimiter, so every login yields exactly one candidate password.
FactorGate never tries a second split against AD: each wrong try counts toward
AD's lockout threshold.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SplitPassword:
    password: bytes
    code: str


def split_code(secret: bytes, digits: int, delimiter: bytes = b"") -> SplitPassword | None:
    """Take the trailing code off `secret`.

    Returns None when the input does not end with a code of exactly `digits`
    ASCII digits (after the delimiter, when one is configured), or when nothing
    would be left for the password.
    """
    if delimiter:
        password, separator, code = secret.rpartition(delimiter)
        if not separator:
            return None
    else:
        password, code = secret[:-digits], secret[-digits:]

    if len(code) != digits or not code.isdigit() or not password:
        return None
    return SplitPassword(password=password, code=code.decode("ascii"))
