"""Outbound HTTPS for providers: one aiohttp session, bounded timeouts, retries with backoff.

A connection error, a timeout, HTTP 429 or a 5xx answer is retried; after the
last retry the provider counts as unreachable and the fail mode decides. Any
other 4xx answer means the request itself is wrong (bad number, bad
credentials) and is not retried.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from factorgate.factors.providers.base import ProviderRejected, ProviderUnavailable

log = logging.getLogger("factorgate.factors")

RETRY_BACKOFF = 0.5   # seconds before the first retry; doubles each time


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8"))


class HttpClient:
    """A lazily opened aiohttp session with the provider's timeout, retries and CA file."""

    def __init__(self, provider: str, timeout: float, retries: int, ca_file: Path | None = None) -> None:
        self._provider = provider
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._ssl = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._session: aiohttp.ClientSession | None = None

    async def request(self, method: str, url: str, **kwargs: Any) -> HttpResult:
        """Send one request with retries; return the first answer that is neither 429 nor 5xx.

        Raises:
            ProviderUnavailable: every try failed to connect, timed out, or got 429 or 5xx.
            ProviderRejected: the provider answered with another 4xx status.
        """
        problem = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))
            try:
                result = await self._send(method, url, **kwargs)
            except (aiohttp.ClientError, TimeoutError) as error:
                problem = f"{type(error).__name__}: {error}"
                log.warning("%s: %s %s failed (try %d of %d): %s", self._provider, method, strip_query(url),
                            attempt + 1, self._retries + 1, problem)
                continue
            if result.status == 429 or result.status >= 500:
                problem = f"HTTP {result.status}"
                log.warning("%s: %s %s returned HTTP %d (try %d of %d)", self._provider, method, strip_query(url),
                            result.status, attempt + 1, self._retries + 1)
                continue
            if result.status >= 400:
                raise ProviderRejected(f"HTTP {result.status}: {describe_error_body(result.body)}")
            return result
        raise ProviderUnavailable(f"{self._provider} unreachable after {self._retries + 1} tries: {problem}")

    async def _send(self, method: str, url: str, **kwargs: Any) -> HttpResult:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout,
                                                  connector=aiohttp.TCPConnector(ssl=self._ssl, limit=100))
        async with self._session.request(method, url, **kwargs) as response:
            return HttpResult(response.status, await response.read())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def describe_error_body(body: bytes) -> str:
    """Return the provider's error message for the log, shortened; bodies never hold our secrets."""
    text = body[:300].decode("utf-8", "replace").strip()
    return text or "(empty body)"
