"""Run one call, SMS or push for a login and return its outcome.

A waiting login is this coroutine plus an `Attempt` record in the registry:
no thread, no extra task. The coroutine waits on the attempt's event queue
until the shared mapper reports a final outcome or the method's timeout ends.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass

from factorgate.factors.outcomes import Outcome, OutcomeMapper
from factorgate.factors.providers.base import (
    Attempt,
    AttemptRegistry,
    Provider,
    ProviderRejected,
    ProviderUnavailable,
)

log = logging.getLogger("factorgate.factors")


@dataclass(frozen=True)
class MethodSettings:
    provider: str = "simulator"
    timeout: float = 60.0       # how long a login waits for the user's answer


class OutOfBand:
    """Deliver calls, SMS and pushes through the provider configured for each method."""

    def __init__(self, providers: dict[str, Provider], methods: dict[str, MethodSettings],
                 registry: AttemptRegistry | None = None) -> None:
        self._providers = providers          # by method
        self._methods = methods
        self.registry = registry if registry is not None else AttemptRegistry()

    def supports(self, method: str) -> bool:
        return method in self._providers

    async def deliver(self, method: str, guid: str, user: str, phone: str, message: str = "") -> Outcome:
        provider = self._providers[method]
        settings = self._methods[method]
        attempt = Attempt(secrets.token_urlsafe(18), method, user, guid, phone, message)
        started = time.monotonic()
        self.registry.add(attempt)
        try:
            outcome = await self._run(provider, attempt, settings.timeout)
        finally:
            self.registry.remove(attempt)
        log.info("%s for %s through %s: %s (%s) after %.1f s", method, user, provider.name,
                 outcome.value, outcome.text, time.monotonic() - started)
        return outcome

    async def _run(self, provider: Provider, attempt: Attempt, timeout: float) -> Outcome:
        try:
            async with asyncio.timeout(timeout):
                await provider.start(attempt)
        except ProviderUnavailable as error:
            log.error("%s provider %s unreachable for %s: %s", attempt.method, provider.name, attempt.user, error)
            return Outcome.FAILED_PROVIDER_UNREACHABLE
        except ProviderRejected as error:
            log.error("%s provider %s rejected the request for %s: %s", attempt.method, provider.name, attempt.user, error)
            return Outcome.FAILED_PROVIDER_REJECTED
        except TimeoutError:
            log.error("%s provider %s did not accept the request for %s within %s s",
                      attempt.method, provider.name, attempt.user, timeout)
            return Outcome.FAILED_PROVIDER_UNREACHABLE
        return await wait_for_outcome(attempt, timeout)


async def wait_for_outcome(attempt: Attempt, timeout: float) -> Outcome:
    """Feed the attempt's events to a mapper until one is final or `timeout` seconds pass."""
    mapper = OutcomeMapper(attempt.method)
    try:
        async with asyncio.timeout(timeout):
            while True:
                outcome = mapper.feed(await attempt.events.get())
                if outcome is not None:
                    return outcome
    except TimeoutError:
        return mapper.finish()
