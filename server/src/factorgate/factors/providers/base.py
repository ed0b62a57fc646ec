"""The provider interface and the record of one pending call, SMS or push.

A provider starts a delivery for an `Attempt` and reports what happens as raw
events on the attempt (`Attempt.report`). It never decides whether the login
passes: `factors.outcomes.OutcomeMapper` does that, the same way for every
provider. A pending attempt is this small record plus the coroutine that
awaits it, never a thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from factorgate.factors.outcomes import EventKind, RawEvent

log = logging.getLogger("factorgate.factors")


class ProviderUnavailable(Exception):
    """The provider could not be reached, or failed on its side, after every retry."""


class ProviderRejected(Exception):
    """The provider refused the request (bad number, bad credentials); retrying will not help."""


@dataclass(eq=False)
class Attempt:
    """One call, SMS or push for one login.

    `attempt_id` is unpredictable (`secrets.token_urlsafe`): callbacks name it
    in their URL, and their signature, not the id, proves who sent them.
    """

    attempt_id: str
    method: str                 # voice | sms | push
    user: str                   # sAMAccountName, for the prompt and the log
    guid: str
    phone: str                  # E.164
    message: str = field(default="", repr=False)   # the SMS text, which holds the code
    provider_ref: str = ""      # the provider's id for the delivery (Twilio's CallSid...)
    events: asyncio.Queue[RawEvent] = field(default_factory=asyncio.Queue, repr=False)

    def report(self, event: RawEvent) -> None:
        """Queue an event for the waiting login; safe to call from callbacks and timers."""
        self.events.put_nowait(event)


class Provider(Protocol):
    name: str

    async def start(self, attempt: Attempt) -> None:
        """Start the delivery; return once the provider has accepted it.

        Later events arrive through `attempt.report`, from a callback, a
        poll or a timer.

        Raises:
            ProviderUnavailable: the provider cannot be reached.
            ProviderRejected: the provider refused the request.
        """

    async def close(self) -> None:
        """Release connections; pending attempts are not cancelled."""


class AttemptRegistry:
    """The pending attempts of this node by id, for the callback listener and pollers."""

    def __init__(self) -> None:
        self._attempts: dict[str, Attempt] = {}

    def add(self, attempt: Attempt) -> None:
        self._attempts[attempt.attempt_id] = attempt

    def remove(self, attempt: Attempt) -> None:
        self._attempts.pop(attempt.attempt_id, None)

    def get(self, attempt_id: str) -> Attempt | None:
        return self._attempts.get(attempt_id)

    def __len__(self) -> int:
        return len(self._attempts)


def accepted(detail: str = "") -> RawEvent:
    return RawEvent(EventKind.ACCEPTED, detail=detail)
