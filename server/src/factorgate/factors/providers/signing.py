"""Request signatures: Twilio's (HMAC-SHA1) and the webhook contract's (HMAC-SHA256 with a timestamp)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import OrderedDict
from typing import Iterable


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Compute X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each POST key and value, sorted by key.

    Repeated keys keep all their values, sorted, as Twilio's own libraries do.
    """
    data = url + "".join(key + value for key, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_signature(key: bytes, timestamp: str, body: bytes) -> str:
    """Compute X-FactorGate-Signature: "v1=" and the hex HMAC-SHA256 of "<timestamp>." + body."""
    return "v1=" + hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_matches(expected: str, received: str | None) -> bool:
    return received is not None and hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def timestamp_fresh(timestamp: str | None, window: float, now: float | None = None) -> bool:
    """True when `timestamp` (Unix seconds) is within `window` seconds of now, either side."""
    if timestamp is None or not timestamp.isdigit():
        return False
    now = time.time() if now is None else now
    return abs(now - int(timestamp)) <= window


class ReplayGuard:
    """Remember signatures already accepted, for `ttl` seconds, at most `capacity` of them.

    A callback whose signature was seen is a replay. Twilio requests carry no
    timestamp, so this memory is the only replay check for them; its `ttl`
    outlasts every pending attempt, after which a replayed callback finds no
    attempt to act on anyway.
    """

    def __init__(self, ttl: float = 3600.0, capacity: int = 200_000, clock=time.monotonic) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_use(self, signature: str) -> bool:
        """Record `signature`; False if it was already recorded (a replay)."""
        now = self._clock()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self._capacity:
                break
            self._seen.popitem(last=False)
        if signature in self._seen:
            return False
        self._seen[signature] = now + self._ttl
        return True
