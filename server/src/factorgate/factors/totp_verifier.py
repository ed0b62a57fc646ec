"""TOTP verification with a small clock-drift window and atomic replay refusal.

A code is accepted at most once: the matched time step must be newer than the
last step accepted for that user, and the store records it in the same atomic
operation that checks it. So two concurrent logins with one code cannot both
pass, and neither can a code from an older step after a newer one was used.
"""

from __future__ import annotations

import enum
import hmac
import logging
import time
from typing import Callable

from factorgate.factors.otp import hotp, totp_step
from factorgate.store.base import Store, TotpToken

log = logging.getLogger("factorgate.factors")

DEFAULT_WINDOW = 1    # steps accepted either side of now (RFC 6238 §5.2 recommends at most one)
MAX_WINDOW = 10


class TotpResult(str, enum.Enum):
    """Outcome of one TOTP verification."""

    OK = "ok"                  # the code matched an unused step, which is now consumed
    INVALID = "invalid"        # wrong format or no match within the window
    REPLAYED = "replayed"      # matched a step that is not newer than the last accepted one
    NO_TOKEN = "no_token"      # the user has no TOTP token


class TotpVerifier:
    """Verify TOTP codes against the tokens in a store.

    Args:
        store: where tokens are read and used steps recorded.
        clock: seconds since the Unix epoch; tests pass a fixed clock.
        window: number of steps accepted before and after the current one.
    """

    def __init__(self, store: Store, clock: Callable[[], float] = time.time, window: int = DEFAULT_WINDOW) -> None:
        if not 0 <= window <= MAX_WINDOW:
            raise ValueError(f"TOTP window must be between 0 and {MAX_WINDOW} steps (got {window})")
        self._store = store
        self._clock = clock
        self._window = window

    def verify(self, guid: str, code: str | bytes, token: TotpToken | None = None) -> TotpResult:
        """Check `code` for the user `guid` and consume its time step on success.

        A code that is not all ASCII digits, or not as long as the token's
        digits, is INVALID before any HMAC is computed.

        Args:
            guid: the user's GUID.
            code: the code the user entered.
            token: the user's token if the caller has just read it, which saves
                a second read and decryption. Its `last_step` may be stale,
                because the replay check happens in the store.

        Raises:
            SecretBoxError: the user's seed cannot be decrypted.
        """
        if token is None:
            token = self._store.get_totp(guid)
        if token is None:
            return TotpResult.NO_TOKEN

        candidate = code_as_text(code)
        if candidate is None or len(candidate) != token.digits:
            return TotpResult.INVALID

        current = totp_step(self._clock(), token.period)
        matched = find_matching_step(token.secret, token.digits, token.algorithm, candidate, current, self._window)
        if matched is None:
            return TotpResult.INVALID

        if not self._store.consume_totp_step(guid, matched):
            log.info("TOTP code for user %s replayed (step offset %+d)", guid, matched - current)
            return TotpResult.REPLAYED

        log.debug("TOTP code for user %s accepted (step offset %+d)", guid, matched - current)
        return TotpResult.OK


def code_as_text(code: str | bytes) -> str | None:
    """Return the code as a str of ASCII digits, or None if it is anything else."""
    if isinstance(code, bytes):
        if not code.isdigit():   # bytes.isdigit accepts ASCII 0-9 only
            return None
        return code.decode("ascii")

    # str.isdigit alone would accept other scripts' digits and superscripts.
    if not (code.isascii() and code.isdigit()):
        return None
    return code


def find_matching_step(
    secret: bytes,
    digits: int,
    algorithm: str,
    code: str,
    current: int,
    window: int,
) -> int | None:
    """Return the newest step in current ± window whose code equals `code`, or None.

    Every candidate is computed and compared with `hmac.compare_digest`, with
    no early exit, so the time taken does not reveal which step matched.
    """
    matched = None
    expected = code.encode("ascii")
    for step in range(max(0, current - window), current + window + 1):
        if hmac.compare_digest(hotp(secret, step, digits, algorithm).encode("ascii"), expected):
            matched = step
    return matched
