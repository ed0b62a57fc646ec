"""Retransmission cache for RADIUS requests (RFC 5080 §2.2.2).

A client that hears nothing resends the same request: same source address
and port, same Identifier, same Request Authenticator. The server must not
process it twice, because a second pass would start a second phone call or
push. A copy that arrives while the first is still being processed is
dropped, and one that arrives after the reply was sent gets the same reply
bytes again.

RFC 5080 assumes a cache lifetime of a few seconds. Here it must cover the
longest second factor (a phone call can take a minute), so the TTL is
configurable and the size is bounded. The cache is not thread-safe: it is
meant for the single asyncio thread of the RADIUS listener.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple


class RetransmitKey(NamedTuple):
    """Identity of a request (RFC 5080 §2.2.2): datagrams with equal keys are copies of one request."""

    client_address: str
    source_port: int
    identifier: int
    request_authenticator: bytes


class CacheStatus(enum.Enum):
    """Outcome of `RetransmitCache.begin`."""

    NEW = "new"                  # first copy: process it, then call finish() or abandon()
    IN_PROGRESS = "in_progress"  # a copy is being processed: drop this one silently
    ANSWERED = "answered"        # already answered: send CacheHit.reply again
    FULL = "full"                # every slot contains a request in progress: drop and log


@dataclass(frozen=True)
class CacheHit:
    """Result of `RetransmitCache.begin`: a status and, for ANSWERED, the reply bytes."""

    status: CacheStatus
    reply: bytes | None = None

    def __repr__(self) -> str:
        # The reply is a signed packet; its length is enough for logs.
        size = "" if self.reply is None else f", reply=<{len(self.reply)} octets>"
        return f"CacheHit({self.status.name}{size})"


NEW = CacheHit(CacheStatus.NEW)
IN_PROGRESS = CacheHit(CacheStatus.IN_PROGRESS)
FULL = CacheHit(CacheStatus.FULL)


def answered(reply: bytes) -> CacheHit:
    """Return the ANSWERED hit that carries `reply`."""
    return CacheHit(CacheStatus.ANSWERED, reply)


class _Answer(NamedTuple):
    expires_at: float
    reply: bytes


class RetransmitCache:
    """Bounded, expiring map from `RetransmitKey` to request progress.

    Requests in progress and answered requests live in two OrderedDicts, so
    lookup, insert, expiry and eviction are O(1) (expiry amortised). An
    in-progress entry stays until `finish` or `abandon`, however long the
    second factor takes: a retransmission of a login still waiting for a
    phone call must never start a second call. The handler calls one of the
    two for every request it began. An answered entry expires `ttl` seconds
    after `finish`. When the cache holds `max_entries`, a new request evicts
    the oldest answered entry. If every entry is in progress, `begin` returns
    FULL.

    Args:
        max_entries: maximum entries, in progress and answered together.
        ttl: lifetime in seconds of an answered entry; it must exceed the
            client's whole retransmission window (for example 90).
        clock: monotonic time source in seconds, injectable for tests.
    """

    def __init__(self, max_entries: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1 (got {max_entries})")
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds (got {ttl})")
        self._max_entries = max_entries
        self._ttl = ttl
        self._clock = clock
        self._in_progress: OrderedDict[RetransmitKey, float] = OrderedDict()  # key -> start time
        self._answered: OrderedDict[RetransmitKey, _Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._in_progress) + len(self._answered)

    @property
    def in_progress_count(self) -> int:
        """Number of requests being processed."""
        return len(self._in_progress)

    def begin(self, key: RetransmitKey) -> CacheHit:
        """Record the arrival of a request and return what the caller must do with it."""
        now = self._clock()
        self._expire(now)

        if key in self._in_progress:
            return IN_PROGRESS
        answer = self._answered.get(key)
        if answer is not None:
            return answered(answer.reply)

        if not self._make_room():
            return FULL
        self._in_progress[key] = now
        return NEW

    def finish(self, key: RetransmitKey, reply: bytes) -> None:
        """Store the reply sent for `key`, so a retransmission gets the same bytes.

        An entry not found in progress (the handler abandoned it) is stored
        again if there is room. Otherwise the reply is not cached, and a late
        retransmission is processed as a new request.
        """
        now = self._clock()
        self._expire(now)

        if self._in_progress.pop(key, None) is None and not self._make_room():
            return
        self._answered.pop(key, None)
        self._answered[key] = _Answer(now + self._ttl, reply)

    def abandon(self, key: RetransmitKey) -> None:
        """Forget a request that got no reply (dropped), so a retransmission is processed anew."""
        self._in_progress.pop(key, None)

    def _make_room(self) -> bool:
        """Evict the oldest answered entry if the cache is full; return whether a slot is free."""
        if len(self) < self._max_entries:
            return True
        if not self._answered:
            return False
        self._answered.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        # Answers are in expiry order because every insert uses now + ttl with
        # a monotonic clock, so expired entries sit at the front.
        answers = self._answered
        while answers:
            key, answer = next(iter(answers.items()))
            if answer.expires_at > now:
                break
            del answers[key]
