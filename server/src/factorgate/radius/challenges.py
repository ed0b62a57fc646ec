"""Pending Access-Challenges: the State values handed out and what they stand for.

A State value is 16 octets from `secrets.token_bytes`, so it cannot be
guessed. It is single-use: `redeem` removes it whatever the outcome, so a
replayed State finds nothing. It is bound to the login name and to the client
(its configured name and source address) that got it, and it expires
`ttl` seconds after it was issued.

The table lives in memory on one node. A NAS must send the answer to a
challenge to the node that issued it, which a load balancer does when it
keeps persistence per client or per user.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from factorgate.auth.model import DirectoryUser

STATE_LENGTH = 16


@dataclass(frozen=True)
class PendingChallenge:
    """A challenge issued after AD accepted the password of an enrolled user."""

    user: DirectoryUser
    login: str
    client_name: str
    client_address: str
    expires_at: float


class ChallengeStore:
    """Bounded, expiring map from State value to `PendingChallenge`.

    Entries are kept in issue order, which is also expiry order because the
    TTL is fixed and the clock monotonic, so expiry is O(1) amortised.

    Args:
        ttl: seconds a State stays valid.
        max_entries: maximum pending challenges; `issue` returns None beyond it.
        clock: monotonic time source in seconds, injectable for tests.
    """

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds (got {ttl})")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1 (got {max_entries})")
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._pending: OrderedDict[bytes, PendingChallenge] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def issue(self, user: DirectoryUser, login: str, client_name: str, client_address: str) -> bytes | None:
        """Create a State for this user and client; None when the table is full."""
        now = self._clock()
        self._expire(now)
        if len(self._pending) >= self._max_entries:
            return None
        state = secrets.token_bytes(STATE_LENGTH)
        self._pending[state] = PendingChallenge(user, login, client_name, client_address, now + self._ttl)
        return state

    def redeem(self, state: bytes, login: str, client_name: str, client_address: str) -> PendingChallenge | None:
        """Consume `state` and return its challenge if it belongs to this login and client.

        The State is removed even when the login or client does not match, so
        a State seen by the wrong party cannot be tried again.
        """
        self._expire(self._clock())
        challenge = self._pending.pop(state, None)
        if challenge is None:
            return None
        if challenge.client_name != client_name or challenge.client_address != client_address:
            return None
        if challenge.login.casefold() != login.casefold():
            return None
        return challenge

    def _expire(self, now: float) -> None:
        pending = self._pending
        while pending:
            state, challenge = next(iter(pending.items()))
            if challenge.expires_at > now:
                break
            del pending[state]
