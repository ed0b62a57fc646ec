"""HOTP verification (RFC 4226) with a small look-ahead window and a counter that only moves forward.

A code is looked for at the stored counter and the `window` counters after it
(RFC 4226 §7.4: the token may have been pressed without a login). On a match
the store moves the counter past the match in one conditional UPDATE, so a code
is accepted once: two concurrent logins with one code cannot both pass, and an
old code (below the counter) is never looked at again.
"""

from __future__ import annotations

import enum
import hmac
import logging

from factorgate.factors.otp import hotp
from factorgate.factors.totp_verifier import code_as_text
from factorgate.store.base import FactorStore

log = logging.getLogger("factorgate.factors")

DEFAULT_LOOK_AHEAD = 10
MAX_LOOK_AHEAD = 100


class HotpResult(str, enum.Enum):
    OK = "ok"
    INVALID = "invalid"       # wrong format, or no match from the counter to counter + window
    REPLAYED = "replayed"     # matched, but another login moved the counter past it first
    NO_TOKEN = "no_token"


class HotpVerifier:
    """Verify HOTP codes against the tokens in a store.

    Args:
        store: a store with `get_hotp` and `advance_hotp`.
        window: how many counters after the stored one are also accepted.
    """

    def __init__(self, store: FactorStore, window: int = DEFAULT_LOOK_AHEAD) -> None:
        if not 0 <= window <= MAX_LOOK_AHEAD:
            raise ValueError(f"HOTP look-ahead window must be between 0 and {MAX_LOOK_AHEAD} (got {window})")
        self._store = store
        self._window = window

    def verify(self, guid: str, code: str | bytes) -> HotpResult:
        token = self._store.get_hotp(guid)
        if token is None:
            return HotpResult.NO_TOKEN

        candidate = code_as_text(code)
        if candidate is None or len(candidate) != token.digits:
            return HotpResult.INVALID

        expected = candidate.encode("ascii")
        matched = None
        # Every candidate is compared, with no early exit, so the time taken
        # does not reveal how far ahead the token is.
        for counter in range(token.counter + self._window, token.counter - 1, -1):
            value = hotp(token.secret, counter, token.digits, token.algorithm).encode("ascii")
            if hmac.compare_digest(value, expected):
                matched = counter
        if matched is None:
            return HotpResult.INVALID

        if not self._store.advance_hotp(guid, matched):
            log.info("HOTP code for user %s lost the race or was replayed (counter %d)", guid, matched)
            return HotpResult.REPLAYED
        log.debug("HOTP code for user %s accepted (%d ahead of the stored counter)", guid, matched - token.counter)
        return HotpResult.OK
