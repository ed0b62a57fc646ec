"""A small bounded cache with expiry for AD look-ups.

Bounded because login names come from the network: a client sending random
names must not grow the process without limit.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, TypeVar

Value = TypeVar("Value")

_MISSING = object()


class TtlCache(Generic[Value]):
    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Value]] = OrderedDict()

    def get(self, key: str, default: object = _MISSING) -> Value | object:
        """Return the live value for `key`, or `default` (a cached None is a hit)."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        expires, value = entry
        if expires < self._clock():
            del self._entries[key]
            return default
        return value

    def put(self, key: str, value: Value) -> None:
        self._entries[key] = (self._clock() + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


MISSING = _MISSING
