"""The `twilio` provider: SMS and voice calls through Twilio's REST API (2010-04-01).

SMS: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with To, From, Body
and a StatusCallback. The login goes on once Twilio accepts the message (HTTP 201).

Voice: POST .../Calls.json with To, From, inline Twiml and a StatusCallback.
The TwiML says the prompt inside a <Gather> that ends on '#'. Twilio then posts
the keys to FactorGate's callback listener (`Digits`, without the '#', and
`FinishedOnKey`, '#' when the caller pressed it), and posts the call status
(busy, no-answer, failed, completed) to the status callback. Both callbacks
are checked with Twilio's X-Twilio-Signature before they count.

Requests authenticate with HTTP Basic auth: the Account SID and the auth token.
"""

from __future__ import annotations

import base64
import logging
from xml.sax.saxutils import escape, quoteattr

from factorgate.factors.outcomes import EventKind, RawEvent
from factorgate.factors.providers.base import Attempt, ProviderRejected
from factorgate.factors.providers.http import HttpClient

log = logging.getLogger("factorgate.factors")

API_VERSION = "2010-04-01"

CALL_STATUS_EVENTS = {
    "ringing": EventKind.RINGING,
    "in-progress": EventKind.ANSWERED,
    "answered": EventKind.ANSWERED,
    "completed": EventKind.HUNG_UP,
    "busy": EventKind.BUSY,
    "no-answer": EventKind.NO_ANSWER,
    "failed": EventKind.CALL_FAILED,
    "canceled": EventKind.CALL_FAILED,
}

MESSAGE_STATUS_EVENTS = {
    "delivered": EventKind.DELIVERED,
    "undelivered": EventKind.UNDELIVERED,
    "failed": EventKind.UNDELIVERED,
}

GOODBYE_TWIML = "<Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>"


class TwilioProvider:
    name = "twilio"

    def __init__(self, settings, auth_token: str, callback_url: str) -> None:
        """Args:
            settings: factors.providers.twilio (a `TwilioConfig`).
            auth_token: the account's auth token; it signs callbacks too.
            callback_url: the public HTTPS base URL of the callback listener.
        """
        self._settings = settings
        self._auth = (settings.account_sid, auth_token)
        self._callback_url = callback_url.rstrip("/")
        self._http = HttpClient("twilio", settings.request_timeout, settings.retries, settings.ca_file)

    @property
    def auth_token(self) -> str:
        return self._auth[1]

    def _account_url(self, resource: str) -> str:
        return f"{self._settings.api_url}/{API_VERSION}/Accounts/{self._settings.account_sid}/{resource}.json"

    async def start(self, attempt: Attempt) -> None:
        if attempt.method == "sms":
            form = {
                "To": attempt.phone,
                "From": self._settings.from_number,
                "Body": attempt.message,
            }
            if self._callback_url:
                # Delivery reports only reach the log: the login goes on once Twilio accepts the message.
                form["StatusCallback"] = f"{self._callback_url}/twilio/status/{attempt.attempt_id}"
            resource = "Messages"
        else:
            form = {
                "To": attempt.phone,
                "From": self._settings.from_number,
                "Twiml": self.gather_twiml(attempt),
                "Timeout": str(self._settings.ring_seconds),
                "StatusCallback": f"{self._callback_url}/twilio/status/{attempt.attempt_id}",
                "StatusCallbackEvent": "completed",
            }
            resource = "Calls"

        result = await self._http.request("POST", self._account_url(resource), data=form,
                                          headers={"Authorization": basic_auth(*self._auth)})
        try:
            answer = result.json()
            attempt.provider_ref = str(answer["sid"])
        except (ValueError, KeyError, TypeError):
            raise ProviderRejected(f"Twilio returned HTTP {result.status} without a sid") from None
        log.debug("twilio: %s %s for %s queued (status %s)", resource, attempt.provider_ref, attempt.user,
                  answer.get("status"))
        attempt.report(RawEvent(EventKind.ACCEPTED, detail=attempt.provider_ref))

    def gather_twiml(self, attempt: Attempt) -> str:
        action = f"{self._callback_url}/twilio/gather/{attempt.attempt_id}"
        return (
            "<Response>"
            f'<Gather input="dtmf" finishOnKey="#" timeout="{self._settings.gather_seconds}"'
            f' actionOnEmptyResult="true" method="POST" action={quoteattr(action)}>'
            f"<Say>{escape(self._settings.voice_prompt)}</Say>"
            "</Gather>"
            "</Response>"
        )

    async def close(self) -> None:
        await self._http.close()


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")


def gather_event(params: dict[str, str]) -> RawEvent:
    """Turn a <Gather> action request into a DIGITS event; '#' is appended when the caller pressed it."""
    digits = params.get("Digits", "")
    if params.get("FinishedOnKey") == "#":
        digits += "#"
    return RawEvent(EventKind.DIGITS, digits=digits)


def status_event(params: dict[str, str]) -> RawEvent | None:
    """Turn a status callback into an event, or None for statuses that change nothing (queued, sent)."""
    if "CallStatus" in params:
        kind = CALL_STATUS_EVENTS.get(params["CallStatus"])
        detail = params["CallStatus"]
    else:
        status = params.get("MessageStatus") or params.get("SmsStatus", "")
        kind = MESSAGE_STATUS_EVENTS.get(status)
        detail = f"{status} {params.get('ErrorCode', '')}".strip()
    return None if kind is None else RawEvent(kind, detail=detail)
