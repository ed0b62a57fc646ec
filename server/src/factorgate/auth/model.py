"""Values that cross the line between the front ends and the pipeline.

A front end (LDAP or RADIUS) builds an `AuthRequest` from the wire, hands the
pipeline a `PrimaryCheck` that asks AD about a password in the front end's own
way, and turns the returned `AuthDecision` back into its wire answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable


class Verdict(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    CHALLENGE = "challenge"  # the password is right; ask the user for the code


class CodeMode(enum.Enum):
    """The way an enrolled user's code reaches FactorGate."""

    APPENDED = "append"      # password and code in one field (LDAP, RADIUS `append`)
    CHALLENGE = "challenge"  # password first; the code answers an Access-Challenge
    CODE_ONLY = "code_only"  # the client checked the AD password itself; only the code is sent


class Reason(str, enum.Enum):
    """Stable reason codes written to the auth log; operators grep for them."""

    EMPTY_PASSWORD = "EMPTY_PASSWORD"
    AD_REJECTED = "AD_REJECTED"
    AD_UNAVAILABLE = "AD_UNAVAILABLE"
    EXEMPT = "EXEMPT"
    NOT_ENROLLED = "NOT_ENROLLED"
    UNKNOWN_USER = "UNKNOWN_USER"
    UNKNOWN_USER_REJECTED = "UNKNOWN_USER_REJECTED"
    UNRESOLVED_NAME = "UNRESOLVED_NAME"
    PENDING_ENROLLMENT = "PENDING_ENROLLMENT"
    MISSING_CODE = "MISSING_CODE"
    INVALID_CODE = "INVALID_CODE"
    REPLAYED_CODE = "REPLAYED_CODE"
    TOTP_OK = "TOTP_OK"
    CODE_REQUIRED = "CODE_REQUIRED"
    HOTP_OK = "HOTP_OK"
    SMS_OK = "SMS_OK"
    SMS_SENT = "SMS_SENT"              # first login of an SMS user: the code is on its way
    OOB_APPROVED = "OOB_APPROVED"      # call answered with '#', or push approved
    OOB_FAILED = "OOB_FAILED"          # call or push not approved; the outcome says why
    FRAUD_REPORTED = "FRAUD_REPORTED"  # the user pressed 0# or reported the push
    FRAUD_BLOCKED = "FRAUD_BLOCKED"    # refused without a call: an earlier fraud report blocks the user
    LOCKED_OUT = "LOCKED_OUT"          # too many second-factor failures
    PROMPT_LIMIT = "PROMPT_LIMIT"      # too many calls or pushes in the window (anti-fatigue)
    BYPASS = "BYPASS"                  # an administrator's one-time bypass was used
    NO_PHONE = "NO_PHONE"              # the method needs a phone number and the user has none
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"   # fail mode secure: refused
    FAIL_OPEN = "FAIL_OPEN"            # fail mode safe for this client: password alone accepted


@dataclass(frozen=True)
class AuthRequest:
    """One login as a front end received it.

    `login` is the name exactly as the client sent it; it goes to AD unchanged.
    `password` is the exact octets the client sent, code included.
    """

    login: str
    password: bytes = field(repr=False)
    client_address: str
    protocol: str
    client_name: str = ""
    code_mode: CodeMode = CodeMode.APPENDED


@dataclass(frozen=True)
class PrimaryResult:
    """AD's answer to a password check.

    `ok` is True when AD accepted the password. `detail` is front-end data the
    pipeline passes back untouched (for LDAP: the raw BindResponse bytes, so an
    AD failure reaches the client unchanged). `diagnostic` is AD's message.
    """

    ok: bool
    result_code: int = 0
    diagnostic: str = ""
    detail: Any = None
    unavailable: bool = False


PrimaryCheck = Callable[[bytes], Awaitable[PrimaryResult]]
"""Check a password (the exact bytes, code already removed) against AD."""


@dataclass(frozen=True)
class DirectoryUser:
    """One AD user, as resolved from the imported records or from AD."""

    guid: str
    dn: str
    sam_account_name: str
    user_principal_name: str = ""


@dataclass(frozen=True)
class AuthDecision:
    verdict: Verdict
    reason: Reason
    message: str = ""
    primary: PrimaryResult | None = None
    user: DirectoryUser | None = None
    outcome: str = ""   # the call, SMS or push outcome (factors.outcomes.Outcome), for the auth log

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPT
