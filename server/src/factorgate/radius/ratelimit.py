"""Rate-limited warnings for dropped datagrams.

Anyone who can reach the UDP port can send garbage at line rate, so each kind
of drop is logged at most once per interval and source, with a count of the
drops that were not logged in between.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

DEFAULT_INTERVAL = 10.0     # seconds between two lines of one kind from one source
MAX_TRACKED_SOURCES = 1024  # beyond this, sources of one kind share a single slot


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval: float = DEFAULT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._next_allowed: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def warning(self, kind: str, source: str, message: str, *args: object) -> bool:
        """Log `message % args` unless this kind and source was logged recently; return whether it was."""
        key = (kind, source)
        if key not in self._next_allowed and len(self._next_allowed) >= MAX_TRACKED_SOURCES:
            key = (kind, "*")
        now = self._clock()
        if now < self._next_allowed.get(key, 0.0):
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False

        self._next_allowed[key] = now + self._interval
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            self._logger.warning(message + " (%d more like this not logged)", *args, suppressed)
        else:
            self._logger.warning(message, *args)
        self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        if len(self._next_allowed) < MAX_TRACKED_SOURCES:
            return
        expired = [key for key, until in self._next_allowed.items() if until <= now and key not in self._suppressed]
        for key in expired:
            del self._next_allowed[key]
