"""The SQLite implementation of `Store`: one file per node, WAL mode.

The pipeline calls the store synchronously from the asyncio event loop, so
each call must stay far below a millisecond. Every call therefore reuses one
connection and the sqlite3 module's statement cache (fixed SQL strings, so each
is prepared once), and uses no ORM. A lock serialises the connection between
threads. Separate processes on the same file are serialised by SQLite's own
locks, waiting up to `BUSY_TIMEOUT_MS` for one another.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from typing import Callable, Iterator

from factorgate.directory.names import user_keys
from factorgate.factors.otp import MAX_DIGITS, MIN_DIGITS, normalize_algorithm
from factorgate.factors.secretbox import SecretBox
from factorgate.store.base import EnrollmentStatus, TotpToken, UserCounts, UserRecord
from factorgate.store.factor_state import FactorStateMixin
from factorgate.store.migrations import apply_migrations

log = logging.getLogger("factorgate.store")

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another connection's write lock before failing."""

MEMORY = ":memory:"

STATUS_BY_VALUE = {status.value: status for status in EnrollmentStatus}

USER_COLUMNS = "u.guid, u.dn, u.sam, u.upn, u.domain, u.phone, u.status"

FIND_USER_SQL = f"SELECT {USER_COLUMNS} FROM login_keys k JOIN users u ON u.guid = k.guid WHERE k.key = ?"
GET_USER_SQL = f"SELECT {USER_COLUMNS} FROM users u WHERE u.guid = ?"
LIST_USERS_SQL = f"SELECT {USER_COLUMNS} FROM users u ORDER BY lower(u.sam), u.guid"

# A user who is already enrolled stays enrolled when a directory sync sends the
# identity again. The WHERE clause skips the write when nothing changed.
UPSERT_USER_SQL = """
INSERT INTO users (guid, dn, sam, upn, domain, phone, status, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guid) DO UPDATE SET
    dn = excluded.dn,
    sam = excluded.sam,
    upn = excluded.upn,
    domain = excluded.domain,
    phone = excluded.phone,
    status = CASE WHEN users.status = 'enrolled' THEN users.status ELSE excluded.status END,
    updated_at = excluded.updated_at
WHERE (users.dn, users.sam, users.upn, users.domain, users.phone)
          IS NOT (excluded.dn, excluded.sam, excluded.upn, excluded.domain, excluded.phone)
   OR (users.status <> 'enrolled' AND users.status <> excluded.status)
"""

SET_TOTP_SQL = """
INSERT INTO totp_tokens (guid, secret_enc, algorithm, digits, period, last_step, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guid) DO UPDATE SET
    secret_enc = excluded.secret_enc,
    algorithm = excluded.algorithm,
    digits = excluded.digits,
    period = excluded.period,
    last_step = excluded.last_step,
    created_at = excluded.created_at
"""

GET_TOTP_SQL = "SELECT secret_enc, algorithm, digits, period, last_step FROM totp_tokens WHERE guid = ?"

# The replay check and the record are one statement, so SQLite's write lock
# makes them atomic across threads, connections and processes: of two logins
# with the same step, the second finds last_step already equal and changes no row.
CONSUME_STEP_SQL = "UPDATE totp_tokens SET last_step = ? WHERE guid = ? AND last_step < ?"

STATUS_AFTER_TOTP_REMOVAL_SQL = """
UPDATE users SET
    status = CASE WHEN phone <> '' THEN 'pending' ELSE 'not_enrolled' END,
    updated_at = ?
WHERE guid = ? AND status = 'enrolled'
"""


class UnknownUserError(KeyError):
    """A write names a GUID that has no user row."""

    def __str__(self) -> str:
        return f"no user with GUID {self.args[0]}: import the user first"


class SqliteStore(FactorStateMixin):
    """`Store` on one SQLite file; see the module docstring for the concurrency model."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        secret_box: SecretBox,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = os.fspath(path)
        self._box = secret_box
        self._clock = clock
        self._lock = threading.Lock()

        create_private_file(self.path)
        self._connection = sqlite3.connect(
            self.path,
            isolation_level=None,       # autocommit; transactions are explicit
            check_same_thread=False,    # guarded by self._lock instead
            cached_statements=64,
            timeout=BUSY_TIMEOUT_MS / 1000,   # also covers the pragmas and migrations below
        )
        configure_connection(self._connection, self.path)
        apply_migrations(self._connection, self.path, clock)

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # Users

    def find_user(self, login_key: str) -> UserRecord | None:
        with self._lock:
            row = self._connection.execute(FIND_USER_SQL, (login_key,)).fetchone()
        return None if row is None else user_from_row(row)

    def get_user(self, guid: str) -> UserRecord | None:
        with self._lock:
            row = self._connection.execute(GET_USER_SQL, (guid,)).fetchone()
        return None if row is None else user_from_row(row)

    def list_users(self) -> list[UserRecord]:
        with self._lock:
            rows = self._connection.execute(LIST_USERS_SQL).fetchall()
        return [user_from_row(row) for row in rows]

    def upsert_user(self, user: UserRecord) -> None:
        """Insert or update a user's identity and login keys; keeps an existing enrollment.

        Login keys the user no longer has (after a rename) are removed. A key that
        belongs to another GUID moves to this user, because AD has given the name
        to a new object, and a warning is logged.

        Raises:
            ValueError: the GUID, DN or sAMAccountName is empty.
        """
        validate_user(user)
        now = self._clock()
        values = (
            user.guid, user.dn, user.sam_account_name, user.user_principal_name,
            user.domain, user.phone, EnrollmentStatus(user.status).value, now, now,
        )

        with self._transaction() as connection:
            connection.execute(UPSERT_USER_SQL, values)
            replace_login_keys(connection, user)

    def delete_user(self, guid: str) -> bool:
        with self._transaction() as connection:
            deleted = connection.execute("DELETE FROM users WHERE guid = ?", (guid,)).rowcount
        return deleted == 1

    def counts(self) -> UserCounts:
        with self._lock:
            by_status = dict(self._connection.execute("SELECT status, count(*) FROM users GROUP BY status"))
            tokens = self._connection.execute("SELECT count(*) FROM totp_tokens").fetchone()[0]
        return UserCounts(
            total=sum(by_status.values()),
            not_enrolled=by_status.get(EnrollmentStatus.NOT_ENROLLED.value, 0),
            pending=by_status.get(EnrollmentStatus.PENDING.value, 0),
            enrolled=by_status.get(EnrollmentStatus.ENROLLED.value, 0),
            totp_tokens=tokens,
        )

    # TOTP tokens

    def set_totp(self, token: TotpToken) -> None:
        """Store a TOTP seed, encrypted, replacing any previous token, and mark the user enrolled.

        Raises:
            UnknownUserError: no user has `token.guid`.
            ValueError: the algorithm, digits or period is invalid.
        """
        algorithm = normalize_algorithm(token.algorithm)
        validate_token_shape(token)
        now = self._clock()
        sealed = self._box.seal(token.secret, token.guid.encode("utf-8"))
        values = (token.guid, sealed, algorithm, token.digits, token.period, token.last_step, now)

        with self._transaction() as connection:
            exists = connection.execute("SELECT 1 FROM users WHERE guid = ?", (token.guid,)).fetchone()
            if exists is None:
                raise UnknownUserError(token.guid)
            connection.execute(SET_TOTP_SQL, values)
            connection.execute(
                "UPDATE users SET status = 'enrolled', updated_at = ? WHERE guid = ? AND status <> 'enrolled'",
                (now, token.guid),
            )

    def get_totp(self, guid: str) -> TotpToken | None:
        """Return the user's decrypted token, or None.

        Raises:
            SecretBoxError: the seed cannot be decrypted (wrong key file or a
                row copied from another user).
        """
        with self._lock:
            row = self._connection.execute(GET_TOTP_SQL, (guid,)).fetchone()
        if row is None:
            return None

        sealed, algorithm, digits, period, last_step = row
        secret = self._box.open(sealed, guid.encode("utf-8"))
        return TotpToken(guid, secret, algorithm, digits, period, last_step)

    def consume_totp_step(self, guid: str, step: int) -> bool:
        """Record `step` as used; return False if it is not newer than the last used step.

        Also False when the user has no token. Durability follows
        `synchronous=NORMAL` (see `configure_connection`).
        """
        with self._lock:
            changed = self._connection.execute(CONSUME_STEP_SQL, (step, guid, step)).rowcount
        return changed == 1

    def remove_totp(self, guid: str) -> bool:
        """Delete the user's token; return False if there was none.

        An enrolled user drops back to pending when a phone is on record, and to
        not enrolled otherwise.
        """
        with self._transaction() as connection:
            deleted = connection.execute("DELETE FROM totp_tokens WHERE guid = ?", (guid,)).rowcount
            if deleted:
                connection.execute(STATUS_AFTER_TOTP_REMOVAL_SQL, (self._clock(), guid))
        return deleted == 1

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction under the thread lock."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")


def create_private_file(path: str) -> None:
    """Create the database file with mode 0600 if it is missing.

    It contains phone numbers and encrypted seeds. SQLite gives the -wal and
    -shm files the database file's mode.
    """
    if path == MEMORY or path.startswith("file:"):
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.close(fd)


def switch_to_wal(connection: sqlite3.Connection) -> str:
    """Set WAL mode and return the journal mode now in force.

    SQLite does not call the busy handler for this pragma, so while another
    process creates the same database it fails at once with "database is
    locked"; retry until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def configure_connection(connection: sqlite3.Connection, path: str) -> None:
    """Set the pragmas every FactorGate connection uses."""
    # First, so that the switch to WAL below waits for another process that
    # is creating the same database instead of failing with "database is locked".
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    # WAL lets readers run during a write and turns each commit into one
    # append to the log instead of a rewrite of the database pages.
    mode = switch_to_wal(connection)
    if mode.lower() != "wal" and path != MEMORY:
        log.warning("database %s could not switch to WAL mode (journal_mode is %s)", path, mode)

    # NORMAL in WAL mode syncs the disk only at checkpoints, not at every commit,
    # so a login costs no fsync. The database stays consistent after any crash,
    # and an application crash loses nothing. A power loss or OS crash can lose
    # the last commits, so a TOTP step consumed in the last moments before it
    # could be accepted once more afterwards, within its 30-90 s window.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")


def user_from_row(row: tuple[str, str, str, str, str, str, str]) -> UserRecord:
    guid, dn, sam, upn, domain, phone, status = row
    return UserRecord(guid, dn, sam, upn, domain, phone, STATUS_BY_VALUE[status])


def validate_user(user: UserRecord) -> None:
    """Raise ValueError naming the empty field; every user needs GUID, DN and sAMAccountName."""
    for field_name in ("guid", "dn", "sam_account_name"):
        if not getattr(user, field_name).strip():
            raise ValueError(f"user {user.guid or user.dn or '?'}: {field_name} must not be empty")


def validate_token_shape(token: TotpToken) -> None:
    """Raise ValueError naming the invalid digits, period or seed of a token."""
    if not MIN_DIGITS <= token.digits <= MAX_DIGITS:
        raise ValueError(
            f"TOTP digits for user {token.guid} must be between {MIN_DIGITS} and {MAX_DIGITS} (got {token.digits})"
        )
    if token.period <= 0:
        raise ValueError(f"TOTP period for user {token.guid} must be positive (got {token.period})")
    if not token.secret:
        raise ValueError(f"TOTP seed for user {token.guid} is empty")


def replace_login_keys(connection: sqlite3.Connection, user: UserRecord) -> None:
    """Make the user's login keys exactly `user_keys()` of their current names."""
    expected_keys = set(user_keys(user.dn, user.sam_account_name, user.user_principal_name))
    current_keys = {row[0] for row in connection.execute("SELECT key FROM login_keys WHERE guid = ?", (user.guid,))}

    for key in current_keys - expected_keys:
        connection.execute("DELETE FROM login_keys WHERE key = ?", (key,))

    for key in sorted(expected_keys - current_keys):
        owner = connection.execute("SELECT guid FROM login_keys WHERE key = ?", (key,)).fetchone()
        if owner is not None:
            log.warning("login key %s moved from user %s to user %s", key, owner[0], user.guid)
        connection.execute(
            "INSERT INTO login_keys (key, guid) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET guid = excluded.guid",
            (key, user.guid),
        )
