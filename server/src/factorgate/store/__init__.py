"""Durable per-user state: the `Store` interface and its SQLite implementation."""

from factorgate.store.base import EnrollmentStatus, Store, TotpToken, UserCounts, UserRecord
from factorgate.store.migrations import LATEST_VERSION, SchemaError
from factorgate.store.sqlite import SqliteStore, UnknownUserError

__all__ = [
    "LATEST_VERSION",
    "EnrollmentStatus",
    "SchemaError",
    "SqliteStore",
    "Store",
    "TotpToken",
    "UnknownUserError",
    "UserCounts",
    "UserRecord",
]
