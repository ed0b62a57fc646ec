"""Raw provider events and the one mapper that turns them into outcomes.

Every provider (simulator, Twilio, webhook) reports what happened as `RawEvent`s:
the call was answered, keys were pressed, the callee hung up, the SMS was
delivered, the push was approved. `OutcomeMapper` turns that stream into one
final `Outcome`, so the auth log speaks the same vocabulary whatever the
provider. The names follow the call statuses of the old Azure MFA Server
(PhoneFactor), which operators already grep for; note that two of them start
with SUCCESS_ although the login fails: the call connected, but no `#` came.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EventKind(str, enum.Enum):
    """Kind of event a provider reports; `RawEvent.digits` carries the keys of a DIGITS event."""

    ACCEPTED = "accepted"          # the provider took the request (queued)
    RINGING = "ringing"
    ANSWERED = "answered"
    DIGITS = "digits"              # key presses; a final '#' means the caller terminated the entry
    HUNG_UP = "hung_up"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CALL_FAILED = "call_failed"    # the carrier could not place the call
    DELIVERED = "delivered"        # SMS or push reached the device
    UNDELIVERED = "undelivered"
    APPROVED = "approved"          # push approved
    DENIED = "denied"              # push denied
    REPORTED = "reported"          # push denied with "report fraud"
    TIMED_OUT = "timed_out"        # the provider gave up waiting for the user
    UNREACHABLE = "unreachable"    # the provider could not be reached (network, 5xx)
    REJECTED = "rejected"          # the provider refused the request (4xx: bad number, bad credentials)


@dataclass(frozen=True)
class RawEvent:
    kind: EventKind
    digits: str = ""     # DTMF keys for DIGITS, '#' included when pressed
    detail: str = ""     # provider detail for the log (status, error code); never a secret


class Outcome(str, enum.Enum):
    """Final result of one call, SMS or push; the value is what the auth log prints."""

    SUCCESS_NO_PIN = "SUCCESS_NO_PIN"
    SUCCESS_PUSH_APPROVED = "SUCCESS_PUSH_APPROVED"
    SUCCESS_SMS_SENT = "SUCCESS_SMS_SENT"
    SUCCESS_NO_PIN_BUT_TIMEOUT = "SUCCESS_NO_PIN_BUT_TIMEOUT"
    SUCCESS_WITH_PIN_BUT_TIMEOUT = "SUCCESS_WITH_PIN_BUT_TIMEOUT"
    FAILED_INVALID_KEY = "FAILED_INVALID_KEY"
    FAILED_USER_HUNGUP_ON_US = "FAILED_USER_HUNGUP_ON_US"
    FAILED_NO_ANSWER = "FAILED_NO_ANSWER"
    FAILED_PHONE_BUSY = "FAILED_PHONE_BUSY"
    FAILED_CALL_FAILED = "FAILED_CALL_FAILED"
    FAILED_PUSH_DENIED = "FAILED_PUSH_DENIED"
    FAILED_PUSH_TIMEOUT = "FAILED_PUSH_TIMEOUT"
    FAILED_NOT_DELIVERED = "FAILED_NOT_DELIVERED"
    FAILED_PROVIDER_UNREACHABLE = "FAILED_PROVIDER_UNREACHABLE"
    FAILED_PROVIDER_REJECTED = "FAILED_PROVIDER_REJECTED"
    FRAUD_REPORTED = "FRAUD_REPORTED"

    @property
    def text(self) -> str:
        """The human-readable status, as the MFA Server's logs wrote it."""
        return OUTCOME_TEXT[self]

    @property
    def approved(self) -> bool:
        return self in (Outcome.SUCCESS_NO_PIN, Outcome.SUCCESS_PUSH_APPROVED)

    @property
    def fraud(self) -> bool:
        return self is Outcome.FRAUD_REPORTED

    @property
    def provider_down(self) -> bool:
        """True when the provider, not the user, failed: the fail mode decides."""
        return self is Outcome.FAILED_PROVIDER_UNREACHABLE

    @property
    def user_failure(self) -> bool:
        """True when the user's answer (or silence) failed: counts toward the lockout."""
        return not (self.approved or self.fraud or self in NOT_THE_USERS_FAULT)


OUTCOME_TEXT = {
    Outcome.SUCCESS_NO_PIN: "Only # Entered",
    Outcome.SUCCESS_PUSH_APPROVED: "Push Approved",
    Outcome.SUCCESS_SMS_SENT: "SMS Sent",
    Outcome.SUCCESS_NO_PIN_BUT_TIMEOUT: "No Phone Input - Timed Out",
    Outcome.SUCCESS_WITH_PIN_BUT_TIMEOUT: "# Not Pressed After Entry",
    Outcome.FAILED_INVALID_KEY: "Invalid Key Entered",
    Outcome.FAILED_USER_HUNGUP_ON_US: "User Hung Up the Phone",
    Outcome.FAILED_NO_ANSWER: "No Answer",
    Outcome.FAILED_PHONE_BUSY: "Phone Busy",
    Outcome.FAILED_CALL_FAILED: "Call Could Not Be Placed",
    Outcome.FAILED_PUSH_DENIED: "Push Denied",
    Outcome.FAILED_PUSH_TIMEOUT: "No Push Response - Timed Out",
    Outcome.FAILED_NOT_DELIVERED: "Message Not Delivered",
    Outcome.FAILED_PROVIDER_UNREACHABLE: "Provider Unreachable",
    Outcome.FAILED_PROVIDER_REJECTED: "Provider Rejected the Request",
    Outcome.FRAUD_REPORTED: "Fraud Reported",
}

NOT_THE_USERS_FAULT = frozenset({
    Outcome.SUCCESS_SMS_SENT,
    Outcome.FAILED_CALL_FAILED,
    Outcome.FAILED_NOT_DELIVERED,
    Outcome.FAILED_PROVIDER_UNREACHABLE,
    Outcome.FAILED_PROVIDER_REJECTED,
})

FRAUD_CODE = "0#"
APPROVE_CODE = "#"


class OutcomeMapper:
    """Feed one attempt's events in order; `feed` returns the outcome once it is final.

    Args:
        method: "voice", "sms" or "push".
    """

    def __init__(self, method: str) -> None:
        self.method = method
        self.answered = False
        self.keys = ""   # keys pressed so far without a terminating '#'

    def feed(self, event: RawEvent) -> Outcome | None:
        kind = event.kind
        if kind is EventKind.UNREACHABLE:
            return Outcome.FAILED_PROVIDER_UNREACHABLE
        if kind is EventKind.REJECTED:
            return Outcome.FAILED_PROVIDER_REJECTED
        if self.method == "voice":
            return self._feed_voice(event)
        if self.method == "push":
            return self._feed_push(event)
        return self._feed_sms(event)

    def finish(self) -> Outcome:
        """Return the outcome when the wait ends with no final event."""
        if self.method == "push":
            return Outcome.FAILED_PUSH_TIMEOUT
        if self.method == "sms":
            return Outcome.FAILED_NOT_DELIVERED
        if not self.answered:
            return Outcome.FAILED_NO_ANSWER
        if self.keys:
            return Outcome.SUCCESS_WITH_PIN_BUT_TIMEOUT
        return Outcome.SUCCESS_NO_PIN_BUT_TIMEOUT

    def _feed_voice(self, event: RawEvent) -> Outcome | None:
        kind = event.kind
        if kind is EventKind.ANSWERED:
            self.answered = True
            return None
        if kind is EventKind.DIGITS:
            self.answered = True
            return self._keys_entered(event.digits)
        if kind is EventKind.HUNG_UP:
            return Outcome.FAILED_USER_HUNGUP_ON_US
        if kind is EventKind.TIMED_OUT:
            return self.finish()
        return VOICE_FINAL.get(kind)

    def _keys_entered(self, digits: str) -> Outcome | None:
        if not digits.endswith("#"):
            # The gather timed out: keys without '#', or none at all.
            self.keys += digits
            return Outcome.SUCCESS_WITH_PIN_BUT_TIMEOUT if self.keys else Outcome.SUCCESS_NO_PIN_BUT_TIMEOUT
        entered = self.keys + digits
        if entered == APPROVE_CODE:
            return Outcome.SUCCESS_NO_PIN
        if entered == FRAUD_CODE:
            return Outcome.FRAUD_REPORTED
        return Outcome.FAILED_INVALID_KEY

    def _feed_push(self, event: RawEvent) -> Outcome | None:
        return PUSH_FINAL.get(event.kind)

    def _feed_sms(self, event: RawEvent) -> Outcome | None:
        if event.kind in (EventKind.ACCEPTED, EventKind.DELIVERED):
            return Outcome.SUCCESS_SMS_SENT
        if event.kind in (EventKind.UNDELIVERED, EventKind.CALL_FAILED):
            return Outcome.FAILED_NOT_DELIVERED
        return None


VOICE_FINAL = {
    EventKind.NO_ANSWER: Outcome.FAILED_NO_ANSWER,
    EventKind.BUSY: Outcome.FAILED_PHONE_BUSY,
    EventKind.CALL_FAILED: Outcome.FAILED_CALL_FAILED,
}

PUSH_FINAL = {
    EventKind.APPROVED: Outcome.SUCCESS_PUSH_APPROVED,
    EventKind.DENIED: Outcome.FAILED_PUSH_DENIED,
    EventKind.REPORTED: Outcome.FRAUD_REPORTED,
    EventKind.TIMED_OUT: Outcome.FAILED_PUSH_TIMEOUT,
    EventKind.UNDELIVERED: Outcome.FAILED_NOT_DELIVERED,
}
