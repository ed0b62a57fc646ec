"""The store interface: durable per-user state behind a small API.

The pipeline and the CLI only use `Store`; SQLite implements it today, and a
replicated or PostgreSQL store can implement it later without touching them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Protocol


class EnrollmentStatus(str, enum.Enum):
    NOT_ENROLLED = "not_enrolled"   # imported without a phone: AD alone decides
    PENDING = "pending"             # imported with a phone, no usable factor yet
    ENROLLED = "enrolled"           # has a usable factor


@dataclass(frozen=True)
class UserRecord:
    guid: str                      # objectGUID as the canonical UUID string
    dn: str
    sam_account_name: str
    user_principal_name: str = ""
    domain: str = ""               # NetBIOS domain name, for DOMAIN\\user
    phone: str = ""
    status: EnrollmentStatus = EnrollmentStatus.NOT_ENROLLED


@dataclass(frozen=True)
class TotpToken:
    guid: str
    secret: bytes = field(repr=False)  # decrypted seed
    algorithm: str = "SHA1"            # SHA1 | SHA256 | SHA512
    digits: int = 6
    period: int = 30
    last_step: int = -1                # last accepted time step, -1 if none


@dataclass(frozen=True)
class UserCounts:
    """Number of users per enrollment status and of TOTP tokens, for `users list`."""

    total: int = 0
    not_enrolled: int = 0
    pending: int = 0
    enrolled: int = 0
    totp_tokens: int = 0


class Store(Protocol):
    def find_user(self, login_key: str) -> UserRecord | None:
        """Look a user up by a normalised login key (see directory.names)."""

    def get_user(self, guid: str) -> UserRecord | None: ...

    def upsert_user(self, user: UserRecord) -> None:
        """Insert or update a user's identity; keeps an existing enrollment."""

    def list_users(self) -> Iterable[UserRecord]: ...

    def set_totp(self, token: TotpToken) -> None:
        """Store (encrypted) a TOTP seed and mark the user enrolled."""

    def get_totp(self, guid: str) -> TotpToken | None: ...

    def consume_totp_step(self, guid: str, step: int) -> bool:
        """Atomically record `step` as used; False if it is not newer than the last."""

    def remove_totp(self, guid: str) -> bool:
        """Delete a user's TOTP token and drop the user back to pending or not enrolled."""

    def delete_user(self, guid: str) -> bool:
        """Delete a user with their login keys and factors; False if there was none."""

    def counts(self) -> UserCounts: ...

    def close(self) -> None: ...


FACTOR_METHODS = ("voice", "sms", "push", "totp", "hotp")
"""Second-factor methods a user can have, as stored and as typed on the command line."""

OUT_OF_BAND_METHODS = ("voice", "sms", "push")


@dataclass(frozen=True)
class HotpToken:
    guid: str
    secret: bytes = field(repr=False)  # decrypted seed
    algorithm: str = "SHA1"
    digits: int = 6
    counter: int = 0                   # the next counter value the token is expected to show


@dataclass(frozen=True)
class FraudBlock:
    blocked_until: float
    reason: str
    created_at: float


@dataclass(frozen=True)
class LockoutState:
    failures: int = 0
    locked_until: float = 0.0          # 0 when not locked; LOCKED_UNTIL_UNLOCK when only an administrator frees it


LOCKED_UNTIL_UNLOCK = 9.0e18
"""`locked_until` of a lockout that lasts until `factorgate users unlock`."""


class FactorStore(Store, Protocol):
    """The store as the second-factor step uses it; each check-and-write is atomic."""

    def get_method(self, guid: str) -> str | None: ...

    def set_method(self, guid: str, method: str, now: float) -> None: ...

    def set_import_methods(self, guids: Iterable[str], method: str, now: float) -> int: ...

    def set_hotp(self, token: HotpToken, now: float) -> None: ...

    def get_hotp(self, guid: str) -> HotpToken | None: ...

    def advance_hotp(self, guid: str, matched: int) -> bool: ...

    def put_sms_code(self, guid: str, code: str, expires_at: float, now: float) -> None: ...

    def pending_sms_digits(self, guid: str, now: float) -> int | None: ...

    def consume_sms_code(self, guid: str, code: str, now: float) -> bool: ...

    def block_user(self, guid: str, blocked_until: float, reason: str, now: float) -> None: ...

    def get_block(self, guid: str, now: float) -> FraudBlock | None: ...

    def unblock_user(self, guid: str) -> bool: ...

    def grant_bypass(self, guid: str, expires_at: float, reason: str, granted_by: str, now: float) -> None: ...

    def has_bypass(self, guid: str, now: float) -> bool: ...

    def consume_bypass(self, guid: str, now: float) -> str | None: ...

    def reserve_factor_attempt(self, guid: str, now: float, max_failures: int, lock_seconds: float) -> bool: ...

    def record_factor_failure(self, guid: str, now: float, max_failures: int, lock_seconds: float) -> LockoutState: ...

    def record_factor_success(self, guid: str, now: float) -> None: ...

    def lockout_state(self, guid: str) -> LockoutState: ...

    def unlock_user(self, guid: str, now: float) -> bool: ...

    def take_prompt(self, guid: str, now: float, limit: int, window: float) -> bool: ...
