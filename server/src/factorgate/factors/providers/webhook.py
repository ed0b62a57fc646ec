"""The `webhook` provider: a signed JSON-over-HTTPS contract for an in-house SMS gateway or push service.

FactorGate sends `POST {url}` with a JSON body (see docs/factors.md for every
field) and two headers:

    X-FactorGate-Timestamp: Unix seconds
    X-FactorGate-Signature: v1=<hex HMAC-SHA256(shared key, "<timestamp>." + body)>

The service answers 2xx with {"id": "<its reference>"}. The user's answer
comes back either as a signed POST to FactorGate's callback listener
(`answer: callback`) or by FactorGate polling `GET {url}/{id}` (`answer:
poll`), also signed (over an empty body). Callbacks outside the replay window,
or with a signature seen before, are rejected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from factorgate.factors.outcomes import EventKind, RawEvent
from factorgate.factors.providers.base import Attempt, ProviderRejected, ProviderUnavailable
from factorgate.factors.providers.http import HttpClient
from factorgate.factors.providers.signing import webhook_signature

log = logging.getLogger("factorgate.factors")

TIMESTAMP_HEADER = "X-FactorGate-Timestamp"
SIGNATURE_HEADER = "X-FactorGate-Signature"

CONTRACT_EVENTS = {kind.value: kind for kind in EventKind if kind not in (EventKind.UNREACHABLE, EventKind.REJECTED)}
CONTRACT_EVENTS["failed"] = EventKind.UNDELIVERED
PENDING_STATUSES = ("pending", "accepted", "delivered", "ringing", "answered")


class WebhookProvider:
    name = "webhook"

    def __init__(self, settings, shared_key: bytes, callback_url: str, expires_in: dict[str, float]) -> None:
        """Args:
            settings: factors.providers.webhook (a `WebhookConfig`).
            shared_key: the key both sides sign with.
            callback_url: the public HTTPS base URL of the callback listener ("" in poll mode).
            expires_in: seconds the user has to answer, by method (each method's timeout).
        """
        self._settings = settings
        self.shared_key = shared_key
        self._callback_url = callback_url.rstrip("/")
        self._expires_in = expires_in
        self._http = HttpClient("webhook", settings.request_timeout, settings.retries, settings.ca_file)
        self._polls: set[asyncio.Task] = set()

    def signed_headers(self, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: webhook_signature(self.shared_key, timestamp, body),
        }

    async def start(self, attempt: Attempt) -> None:
        payload = {
            "id": attempt.attempt_id,
            "method": attempt.method,
            "to": attempt.phone,
            "user": attempt.user,
            "expires_in": self._expires_in.get(attempt.method, 60),
        }
        if attempt.method == "sms":
            payload["message"] = attempt.message
        if self._settings.answer == "callback":
            payload["callback_url"] = f"{self._callback_url}/webhook/{attempt.attempt_id}"
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")

        result = await self._http.request("POST", self._settings.url, data=body, headers=self.signed_headers(body))
        try:
            attempt.provider_ref = str(result.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise ProviderRejected(f"webhook returned HTTP {result.status} without an id") from None
        attempt.report(RawEvent(EventKind.ACCEPTED, detail=attempt.provider_ref))

        if self._settings.answer == "poll" and attempt.method != "sms":
            task = asyncio.get_running_loop().create_task(self._poll(attempt))
            self._polls.add(task)
            task.add_done_callback(self._polls.discard)

    async def _poll(self, attempt: Attempt) -> None:
        """Ask for the answer every poll_interval seconds until it is final or the attempt expires."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._expires_in.get(attempt.method, 60)
        url = f"{self._settings.url}/{attempt.provider_ref}"
        while loop.time() < deadline:
            await asyncio.sleep(self._settings.poll_interval)
            try:
                result = await self._http.request("GET", url, headers=self.signed_headers(b""))
                status = str(result.json().get("status", ""))
            except ProviderUnavailable:
                attempt.report(RawEvent(EventKind.UNREACHABLE, detail="poll failed"))
                return
            except (ProviderRejected, ValueError, AttributeError) as error:
                log.error("webhook: poll of %s for %s failed: %s", attempt.provider_ref, attempt.user, error)
                attempt.report(RawEvent(EventKind.REJECTED, detail="poll rejected"))
                return
            if status in PENDING_STATUSES:
                continue
            event = contract_event({"event": status})
            if event is not None:
                attempt.report(event)
                return

    async def close(self) -> None:
        for task in list(self._polls):
            task.cancel()
        await self._http.close()


def contract_event(document: dict) -> RawEvent | None:
    """Turn the contract's {"event": ..., "digits": ...} into a raw event, or None if unknown."""
    kind = CONTRACT_EVENTS.get(str(document.get("event", "")))
    if kind is None:
        return None
    return RawEvent(kind, digits=str(document.get("digits", "")), detail=str(document.get("detail", ""))[:200])
