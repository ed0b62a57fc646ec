"""Schema migrations for the SQLite store.

`MIGRATIONS` is the ordered history of the schema from the first release on.
Each step has the next version number. A released step must not be edited,
so a schema change appends a new step. At open, the steps the database lacks run in
one transaction together with their `schema_version` rows, so a database is
always at exactly one known version.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("factorgate.store")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, login keys and TOTP tokens",
        (
            """
            CREATE TABLE users (
                guid        TEXT PRIMARY KEY NOT NULL,
                dn          TEXT NOT NULL,
                sam         TEXT NOT NULL,
                upn         TEXT NOT NULL DEFAULT '',
                domain      TEXT NOT NULL DEFAULT '',
                phone       TEXT NOT NULL DEFAULT '',
                status      TEXT NOT NULL
                            CHECK (status IN ('not_enrolled', 'pending', 'enrolled')),
                created_at  REAL NOT NULL,
                updated_at  REAL NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE login_keys (
                key   TEXT PRIMARY KEY NOT NULL,
                guid  TEXT NOT NULL REFERENCES users (guid) ON DELETE CASCADE
            ) WITHOUT ROWID
            """,
            "CREATE INDEX login_keys_guid ON login_keys (guid)",
            """
            CREATE TABLE totp_tokens (
                guid        TEXT PRIMARY KEY NOT NULL
                            REFERENCES users (guid) ON DELETE CASCADE,
                secret_enc  BLOB NOT NULL,
                algorithm   TEXT NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
                digits      INTEGER NOT NULL CHECK (digits BETWEEN 6 AND 10),
                period      INTEGER NOT NULL CHECK (period > 0),
                last_step   INTEGER NOT NULL DEFAULT -1,
                created_at  REAL NOT NULL
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        2,
        "factor methods, HOTP tokens, SMS codes, fraud blocks, bypasses, lockouts, prompt counts",
        (
            # source is 'import' (the import's default method) or 'admin'
            # (`users set-method`); an import never overwrites an admin's choice.
            """
            CREATE TABLE user_methods (
                guid        TEXT PRIMARY KEY NOT NULL
                            REFERENCES users (guid) ON DELETE CASCADE,
                method      TEXT NOT NULL CHECK (method IN ('voice', 'sms', 'push', 'totp', 'hotp')),
                source      TEXT NOT NULL CHECK (source IN ('import', 'admin')),
                updated_at  REAL NOT NULL
            ) WITHOUT ROWID
            """,
            # counter is the next counter value the token may produce: it only grows.
            """
            CREATE TABLE hotp_tokens (
                guid        TEXT PRIMARY KEY NOT NULL
                            REFERENCES users (guid) ON DELETE CASCADE,
                secret_enc  BLOB NOT NULL,
                algorithm   TEXT NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
                digits      INTEGER NOT NULL CHECK (digits BETWEEN 6 AND 10),
                counter     INTEGER NOT NULL CHECK (counter >= 0),
                created_at  REAL NOT NULL
            ) WITHOUT ROWID
            """,
            # One outstanding SMS code per user, stored as a salted SHA-256 hash.
            """
            CREATE TABLE sms_codes (
                guid        TEXT PRIMARY KEY NOT NULL
                            REFERENCES users (guid) ON DELETE CASCADE,
                code_hash   BLOB NOT NULL,
                salt        BLOB NOT NULL,
                digits      INTEGER NOT NULL,
                expires_at  REAL NOT NULL,
                created_at  REAL NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE fraud_blocks (
                guid           TEXT PRIMARY KEY NOT NULL
                               REFERENCES users (guid) ON DELETE CASCADE,
                blocked_until  REAL NOT NULL,
                reason         TEXT NOT NULL,
                created_at     REAL NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE bypasses (
                guid        TEXT PRIMARY KEY NOT NULL
                            REFERENCES users (guid) ON DELETE CASCADE,
                expires_at  REAL NOT NULL,
                reason      TEXT NOT NULL,
                granted_by  TEXT NOT NULL,
                granted_at  REAL NOT NULL
            ) WITHOUT ROWID
            """,
            # failures only goes back to 0 on a success or an administrator's
            # unlock; locked_until = 0 means not locked.
            """
            CREATE TABLE lockouts (
                guid          TEXT PRIMARY KEY NOT NULL
                              REFERENCES users (guid) ON DELETE CASCADE,
                failures      INTEGER NOT NULL DEFAULT 0,
                locked_until  REAL NOT NULL DEFAULT 0,
                updated_at    REAL NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE prompt_counts (
                guid          TEXT PRIMARY KEY NOT NULL
                              REFERENCES users (guid) ON DELETE CASCADE,
                window_start  REAL NOT NULL,
                prompts       INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    applied_at  REAL NOT NULL
)
"""


class SchemaError(Exception):
    """The database cannot be used with this version of FactorGate."""


def apply_migrations(
    connection: sqlite3.Connection,
    database: str,
    clock: Callable[[], float] = time.time,
) -> int:
    """Bring the schema up to `LATEST_VERSION`; return the version found before.

    The connection must be in autocommit mode (`isolation_level=None`).
    `BEGIN IMMEDIATE` takes the write lock first, so two processes opening a
    new database at once run the steps only once.

    Raises:
        SchemaError: the database was written by a newer FactorGate, or is an
            SQLite file that FactorGate did not create.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        found = read_schema_version(connection, database)
        if found > LATEST_VERSION:
            raise SchemaError(
                f"database {database} has schema version {found}, but this FactorGate "
                f"supports versions up to {LATEST_VERSION}: upgrade FactorGate, or "
                "restore a backup made by this version"
            )
        connection.execute(SCHEMA_VERSION_TABLE)
        for migration in MIGRATIONS:
            if migration.version > found:
                apply_migration(connection, migration, clock())
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise

    if found < LATEST_VERSION:
        log.info("database %s migrated from schema version %s to %s", database, found, LATEST_VERSION)
    return found


def read_schema_version(connection: sqlite3.Connection, database: str) -> int:
    """Return the highest applied version, 0 for an empty database."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" in tables:
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        return row[0] or 0

    if tables:
        raise SchemaError(
            f"database {database} contains tables but no schema_version table, so it was "
            "not created by FactorGate: point the store at a new file"
        )
    return 0


def apply_migration(connection: sqlite3.Connection, migration: Migration, applied_at: float) -> None:
    for statement in migration.statements:
        connection.execute(statement)
    connection.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.description, applied_at),
    )
