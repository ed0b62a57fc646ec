"""Per-user second-factor state in SQLite: methods, HOTP, SMS codes, blocks, bypasses, lockouts.

Every check that must hold under concurrent logins is one SQL statement (or one
`BEGIN IMMEDIATE` transaction), so SQLite's write lock makes it atomic across
threads, connections and processes: an HOTP counter only moves forward, an SMS
code and a bypass are consumed once, and two logins cannot both take the last
prompt of a window or the last attempt before a lockout.

`FactorStateMixin` is mixed into `SqliteStore` and uses its connection, lock and
secret box.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
from typing import Iterable

from factorgate.factors.otp import normalize_algorithm
from factorgate.factors.secretbox import SecretBox
from factorgate.store.base import (
    FACTOR_METHODS,
    LOCKED_UNTIL_UNLOCK,
    FraudBlock,
    HotpToken,
    LockoutState,
)

log = logging.getLogger("factorgate.store")

SET_METHOD_SQL = """
INSERT INTO user_methods (guid, method, source, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (guid) DO UPDATE SET method = excluded.method, source = excluded.source, updated_at = excluded.updated_at
"""

# The import's default replaces only an earlier import default, never an administrator's choice.
SET_IMPORT_METHOD_SQL = """
INSERT INTO user_methods (guid, method, source, updated_at) VALUES (?, ?, 'import', ?)
ON CONFLICT (guid) DO UPDATE SET method = excluded.method, updated_at = excluded.updated_at
WHERE user_methods.source = 'import' AND user_methods.method <> excluded.method
"""

SET_HOTP_SQL = """
INSERT INTO hotp_tokens (guid, secret_enc, algorithm, digits, counter, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (guid) DO UPDATE SET
    secret_enc = excluded.secret_enc, algorithm = excluded.algorithm, digits = excluded.digits,
    counter = excluded.counter, created_at = excluded.created_at
"""

# The counter moves to matched + 1 only if it has not already passed `matched`:
# of two logins with the same code, the second changes no row.
ADVANCE_HOTP_SQL = "UPDATE hotp_tokens SET counter = ? + 1 WHERE guid = ? AND counter <= ?"

PUT_SMS_CODE_SQL = """
INSERT INTO sms_codes (guid, code_hash, salt, digits, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (guid) DO UPDATE SET
    code_hash = excluded.code_hash, salt = excluded.salt, digits = excluded.digits,
    expires_at = excluded.expires_at, created_at = excluded.created_at
"""

# Counts the attempt before the code is checked, so concurrent logins cannot
# make more than `max_failures` guesses before the lock. A row whose lock has
# expired lets one attempt through; that attempt relocks at once (failures
# stays at or above the maximum), and only a success resets the count.
RESERVE_ATTEMPT_SQL = """
UPDATE lockouts SET
    failures = failures + 1,
    locked_until = CASE WHEN failures + 1 >= :max_failures THEN :until ELSE 0 END,
    updated_at = :now
WHERE guid = :guid AND locked_until <= :now
"""

RECORD_FAILURE_SQL = """
UPDATE lockouts SET
    failures = failures + 1,
    locked_until = CASE WHEN failures + 1 >= :max_failures THEN max(locked_until, :until) ELSE locked_until END,
    updated_at = :now
WHERE guid = :guid
"""

# A fixed window per user: the first prompt after the window ends opens a new one.
TAKE_PROMPT_SQL = """
INSERT INTO prompt_counts (guid, window_start, prompts) VALUES (:guid, :now, 1)
ON CONFLICT (guid) DO UPDATE SET
    window_start = CASE WHEN prompt_counts.window_start <= :now - :window THEN :now ELSE prompt_counts.window_start END,
    prompts = CASE WHEN prompt_counts.window_start <= :now - :window THEN 1 ELSE prompt_counts.prompts + 1 END
WHERE prompt_counts.window_start <= :now - :window OR prompt_counts.prompts < :limit
"""


def hash_code(code: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + code.encode("ascii")).digest()


class FactorStateMixin:
    """Store methods for second-factor state; see the module docstring."""

    _connection: sqlite3.Connection
    _lock: threading.Lock
    _box: SecretBox

    # Methods

    def get_method(self, guid: str) -> str | None:
        """Return the user's stored method, or None when neither import nor administrator set one."""
        with self._lock:
            row = self._connection.execute("SELECT method FROM user_methods WHERE guid = ?", (guid,)).fetchone()
        return None if row is None else row[0]

    def set_method(self, guid: str, method: str, now: float) -> None:
        """Set an administrator's method choice, which later imports keep.

        Raises:
            ValueError: `method` is not one of FACTOR_METHODS.
            sqlite3.IntegrityError: no user has `guid`.
        """
        check_method(method)
        with self._transaction() as connection:
            connection.execute(SET_METHOD_SQL, (guid, method, "admin", now))

    def set_import_methods(self, guids: Iterable[str], method: str, now: float) -> int:
        """Give each user the import's default method unless an administrator chose one; return rows changed."""
        check_method(method)
        changed = 0
        with self._transaction() as connection:
            for guid in guids:
                changed += connection.execute(SET_IMPORT_METHOD_SQL, (guid, method, now)).rowcount
        return changed

    # HOTP

    def set_hotp(self, token: HotpToken, now: float) -> None:
        algorithm = normalize_algorithm(token.algorithm)
        sealed = self._box.seal(token.secret, b"hotp:" + token.guid.encode("utf-8"))
        with self._transaction() as connection:
            connection.execute(SET_HOTP_SQL, (token.guid, sealed, algorithm, token.digits, token.counter, now))
            connection.execute(
                "UPDATE users SET status = 'enrolled', updated_at = ? WHERE guid = ? AND status <> 'enrolled'",
                (now, token.guid),
            )

    def get_hotp(self, guid: str) -> HotpToken | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT secret_enc, algorithm, digits, counter FROM hotp_tokens WHERE guid = ?", (guid,)
            ).fetchone()
        if row is None:
            return None
        sealed, algorithm, digits, counter = row
        secret = self._box.open(sealed, b"hotp:" + guid.encode("utf-8"))
        return HotpToken(guid, secret, algorithm, digits, counter)

    def advance_hotp(self, guid: str, matched: int) -> bool:
        """Move the counter past `matched`; False if it already was (a replay or a lost race)."""
        with self._lock:
            changed = self._connection.execute(ADVANCE_HOTP_SQL, (matched, guid, matched)).rowcount
        return changed == 1

    def remove_hotp(self, guid: str) -> bool:
        with self._transaction() as connection:
            return connection.execute("DELETE FROM hotp_tokens WHERE guid = ?", (guid,)).rowcount == 1

    # SMS codes

    def put_sms_code(self, guid: str, code: str, expires_at: float, now: float) -> None:
        """Store a new code for the user, replacing any earlier one."""
        salt = secrets.token_bytes(16)
        with self._transaction() as connection:
            connection.execute(PUT_SMS_CODE_SQL, (guid, hash_code(code, salt), salt, len(code), expires_at, now))

    def pending_sms_digits(self, guid: str, now: float) -> int | None:
        """Return the length of the user's unexpired SMS code, or None when there is none."""
        with self._lock:
            row = self._connection.execute(
                "SELECT digits FROM sms_codes WHERE guid = ? AND expires_at > ?", (guid, now)
            ).fetchone()
        return None if row is None else row[0]

    def consume_sms_code(self, guid: str, code: str, now: float) -> bool:
        """Check `code` against the user's unexpired SMS code and delete it on a match (single use)."""
        with self._lock:
            row = self._connection.execute(
                "SELECT code_hash, salt FROM sms_codes WHERE guid = ? AND expires_at > ?", (guid, now)
            ).fetchone()
            if row is None:
                return False
            stored, salt = row
            if not hmac.compare_digest(stored, hash_code(code, salt)):
                return False
            deleted = self._connection.execute(
                "DELETE FROM sms_codes WHERE guid = ? AND code_hash = ?", (guid, stored)
            ).rowcount
        return deleted == 1

    # Fraud blocks

    def block_user(self, guid: str, blocked_until: float, reason: str, now: float) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO fraud_blocks (guid, blocked_until, reason, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guid) DO UPDATE SET blocked_until = max(fraud_blocks.blocked_until, excluded.blocked_until),"
                " reason = excluded.reason, created_at = excluded.created_at",
                (guid, blocked_until, reason, now),
            )

    def get_block(self, guid: str, now: float) -> FraudBlock | None:
        """Return the user's block if it is still in force."""
        with self._lock:
            row = self._connection.execute(
                "SELECT blocked_until, reason, created_at FROM fraud_blocks WHERE guid = ? AND blocked_until > ?",
                (guid, now),
            ).fetchone()
        return None if row is None else FraudBlock(*row)

    def unblock_user(self, guid: str) -> bool:
        with self._transaction() as connection:
            return connection.execute("DELETE FROM fraud_blocks WHERE guid = ?", (guid,)).rowcount == 1

    # One-time bypasses

    def grant_bypass(self, guid: str, expires_at: float, reason: str, granted_by: str, now: float) -> None:
        """Grant one login without a second factor until `expires_at`, replacing an unused grant."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO bypasses (guid, expires_at, reason, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (guid) DO UPDATE SET expires_at = excluded.expires_at, reason = excluded.reason,"
                " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (guid, expires_at, reason, granted_by, now),
            )

    def has_bypass(self, guid: str, now: float) -> bool:
        with self._lock:
            row = self._connection.execute(
                "SELECT 1 FROM bypasses WHERE guid = ? AND expires_at > ?", (guid, now)
            ).fetchone()
        return row is not None

    def consume_bypass(self, guid: str, now: float) -> str | None:
        """Use the user's bypass if one is valid; return its reason, or None. One statement, so used once."""
        with self._lock:
            row = self._connection.execute(
                "DELETE FROM bypasses WHERE guid = ? AND expires_at > ? RETURNING reason", (guid, now)
            ).fetchone()
        return None if row is None else row[0]

    # Lockout

    def reserve_factor_attempt(self, guid: str, now: float, max_failures: int, lock_seconds: float) -> bool:
        """Count one attempt as a failure before it is checked; False when the user is locked.

        The caller calls `record_factor_success` when the attempt succeeds.
        """
        until = lock_deadline(now, lock_seconds)
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO lockouts (guid, failures, locked_until, updated_at) VALUES (?, 0, 0, ?)"
                " ON CONFLICT (guid) DO NOTHING",
                (guid, now),
            )
            changed = connection.execute(
                RESERVE_ATTEMPT_SQL, {"guid": guid, "now": now, "max_failures": max_failures, "until": until}
            ).rowcount
        return changed == 1

    def record_factor_failure(self, guid: str, now: float, max_failures: int, lock_seconds: float) -> LockoutState:
        """Count a failure found after the fact (a call not approved); lock at `max_failures`."""
        until = lock_deadline(now, lock_seconds)
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO lockouts (guid, failures, locked_until, updated_at) VALUES (?, 0, 0, ?)"
                " ON CONFLICT (guid) DO NOTHING",
                (guid, now),
            )
            connection.execute(
                RECORD_FAILURE_SQL, {"guid": guid, "now": now, "max_failures": max_failures, "until": until}
            )
            row = connection.execute("SELECT failures, locked_until FROM lockouts WHERE guid = ?", (guid,)).fetchone()
        return LockoutState(*row)

    def record_factor_success(self, guid: str, now: float) -> None:
        with self._lock:
            self._connection.execute(
                "UPDATE lockouts SET failures = 0, locked_until = 0, updated_at = ? WHERE guid = ? AND failures <> 0",
                (now, guid),
            )

    def lockout_state(self, guid: str) -> LockoutState:
        with self._lock:
            row = self._connection.execute(
                "SELECT failures, locked_until FROM lockouts WHERE guid = ?", (guid,)
            ).fetchone()
        return LockoutState() if row is None else LockoutState(*row)

    def unlock_user(self, guid: str, now: float) -> bool:
        """Clear the failure count and any lock; False if there was nothing to clear."""
        with self._transaction() as connection:
            return connection.execute(
                "UPDATE lockouts SET failures = 0, locked_until = 0, updated_at = ?"
                " WHERE guid = ? AND (failures <> 0 OR locked_until <> 0)",
                (now, guid),
            ).rowcount == 1

    # Anti-fatigue

    def take_prompt(self, guid: str, now: float, limit: int, window: float) -> bool:
        """Count one call or push for the user; False when `limit` prompts were sent in this window."""
        with self._lock:
            changed = self._connection.execute(
                TAKE_PROMPT_SQL, {"guid": guid, "now": now, "limit": limit, "window": window}
            ).rowcount
        return changed == 1


def lock_deadline(now: float, lock_seconds: float) -> float:
    """Return when a lock taken now ends; 0 seconds means only an administrator ends it."""
    return LOCKED_UNTIL_UNLOCK if lock_seconds <= 0 else now + lock_seconds


def check_method(method: str) -> None:
    if method not in FACTOR_METHODS:
        raise ValueError(f"unknown second-factor method {method!r}: use one of {', '.join(FACTOR_METHODS)}")
