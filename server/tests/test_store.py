"""Tests for the SQLite store: schema, users, login keys, TOTP tokens and the replay race."""

from __future__ import annotations

import logging
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from factorgate.directory.names import parse_login
from factorgate.factors.secretbox import KEY_LENGTH, SecretBox, SecretBoxError
from factorgate.store import (
    LATEST_VERSION,
    EnrollmentStatus,
    SchemaError,
    SqliteStore,
    TotpToken,
    UnknownUserError,
    UserCounts,
    UserRecord,
)
from factorgate.store import migrations

KEY = bytes(range(KEY_LENGTH))
ALICE = UserRecord(
    guid="0b5e3c1a-7f1d-4e8b-9a0c-111111111111",
    dn="CN=Alice Adams,OU=Staff,DC=example,DC=test",
    sam_account_name="alice",
    user_principal_name="alice@example.test",
    domain="EXAMPLE",
    phone="+15550100",
    status=EnrollmentStatus.PENDING,
)
BOB = UserRecord(
    guid="0b5e3c1a-7f1d-4e8b-9a0c-222222222222",
    dn="CN=Bob Brown,OU=Staff,DC=example,DC=test",
    sam_account_name="bob",
)
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"


class FixedClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    return tmp_path / "factorgate.db"


@pytest.fixture()
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture()
def store(database: Path, clock: FixedClock) -> SqliteStore:
    opened = SqliteStore(database, SecretBox(KEY), clock=clock)
    yield opened
    opened.close()


def raw_rows(database: Path, sql: str, parameters: tuple = ()) -> list[tuple]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def token_for(user: UserRecord, secret: bytes = b"12345678901234567890", **fields: object) -> TotpToken:
    return TotpToken(guid=user.guid, secret=secret, **fields)


# Schema and connection settings


def test_open_creates_latest_schema(store: SqliteStore, database: Path) -> None:
    versions = raw_rows(database, "SELECT version FROM schema_version ORDER BY version")
    assert versions == [(version,) for version in range(1, LATEST_VERSION + 1)]


def test_open_creates_file_mode_0600(store: SqliteStore, database: Path) -> None:
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_open_sets_pragmas(store: SqliteStore) -> None:
    connection = store._connection
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1   # NORMAL
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_reopen_keeps_data_and_version(store: SqliteStore, database: Path) -> None:
    store.upsert_user(ALICE)
    store.close()
    with SqliteStore(database, SecretBox(KEY)) as reopened:
        assert reopened.get_user(ALICE.guid) == ALICE
    assert len(raw_rows(database, "SELECT version FROM schema_version")) == LATEST_VERSION


def test_open_rejects_newer_schema(store: SqliteStore, database: Path) -> None:
    store.close()
    connection = sqlite3.connect(database)
    connection.execute("INSERT INTO schema_version VALUES (?, 'from the future', 0)", (LATEST_VERSION + 5,))
    connection.commit()
    connection.close()

    with pytest.raises(SchemaError) as caught:
        SqliteStore(database, SecretBox(KEY))
    message = str(caught.value)
    assert str(database) in message
    assert f"schema version {LATEST_VERSION + 5}" in message
    assert "upgrade FactorGate" in message


def test_open_rejects_foreign_database(database: Path) -> None:
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE something_else (x)")
    connection.commit()
    connection.close()
    with pytest.raises(SchemaError, match="not created by FactorGate"):
        SqliteStore(database, SecretBox(KEY))


def test_migrations_numbered_consecutively() -> None:
    versions = [migration.version for migration in migrations.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_failed_migration_rolls_back(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = migrations.Migration(1, "broken", ("CREATE TABLE half_done (x)", "CREATE TABLE syntax error"))
    monkeypatch.setattr(migrations, "MIGRATIONS", (broken,))
    monkeypatch.setattr(migrations, "LATEST_VERSION", 1)

    with pytest.raises(sqlite3.OperationalError):
        SqliteStore(database, SecretBox(KEY))
    assert raw_rows(database, "SELECT name FROM sqlite_master WHERE type = 'table'") == []


def test_later_migration_applies_on_reopen(store: SqliteStore, database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store.upsert_user(ALICE)
    store.close()
    added = migrations.Migration(LATEST_VERSION + 1, "add a column", ("ALTER TABLE users ADD COLUMN note TEXT",))
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + (added,))
    monkeypatch.setattr(migrations, "LATEST_VERSION", LATEST_VERSION + 1)

    with SqliteStore(database, SecretBox(KEY)) as reopened:
        assert reopened.get_user(ALICE.guid) == ALICE
    assert raw_rows(database, "SELECT max(version) FROM schema_version") == [(LATEST_VERSION + 1,)]


OPENER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from factorgate.factors.secretbox import SecretBox
    from factorgate.store import SqliteStore

    database, start = sys.argv[1], Path(sys.argv[2])
    while not start.exists():
        time.sleep(0.001)
    SqliteStore(database, SecretBox(bytes(32))).close()
    """
)


def test_open_new_database_from_two_processes(database: Path, tmp_path: Path) -> None:
    start = tmp_path / "start"
    command = [sys.executable, "-c", OPENER_SCRIPT, str(database), str(start)]
    processes = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    start.touch()
    errors = [process.communicate(timeout=60)[1] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], errors
    assert len(raw_rows(database, "SELECT version FROM schema_version")) == LATEST_VERSION


# Users and login keys


@pytest.mark.parametrize(
    "login",
    [
        "cn=alice adams, ou=staff, dc=example, dc=test",
        "CN=Alice Adams,OU=Staff,DC=example,DC=test",
        "EXAMPLE\\Alice",
        "ALICE",
        "Alice@Example.Test",
    ],
)
def test_find_user_by_each_login_form(store: SqliteStore, login: str) -> None:
    store.upsert_user(ALICE)
    parsed = parse_login(login, netbios_domain="EXAMPLE")
    assert store.find_user(parsed.keys[0]) == ALICE


def test_find_user_unknown_returns_none(store: SqliteStore) -> None:
    assert store.find_user("sam:nobody") is None


def test_get_user_unknown_returns_none(store: SqliteStore) -> None:
    assert store.get_user("no-such-guid") is None


def test_upsert_rename_replaces_keys(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    renamed = UserRecord(ALICE.guid, "CN=Alice Smith,OU=Staff,DC=example,DC=test", "asmith", "asmith@example.test")
    store.upsert_user(renamed)

    assert store.find_user("sam:alice") is None
    assert store.find_user("upn:alice@example.test") is None
    assert store.find_user("dn:cn=alice adams,ou=staff,dc=example,dc=test") is None
    assert store.find_user("sam:asmith").guid == ALICE.guid
    assert store.find_user("dn:cn=alice smith,ou=staff,dc=example,dc=test").guid == ALICE.guid


def test_upsert_drops_removed_upn_key(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.upsert_user(UserRecord(ALICE.guid, ALICE.dn, ALICE.sam_account_name))
    assert store.find_user("upn:alice@example.test") is None


def test_upsert_moves_key_to_new_guid(store: SqliteStore, caplog: pytest.LogCaptureFixture) -> None:
    store.upsert_user(ALICE)
    successor = UserRecord("0b5e3c1a-7f1d-4e8b-9a0c-333333333333", "CN=Alice New,DC=example,DC=test", "alice")
    with caplog.at_level(logging.WARNING, logger="factorgate.store"):
        store.upsert_user(successor)

    assert store.find_user("sam:alice").guid == successor.guid
    assert store.find_user("upn:alice@example.test").guid == ALICE.guid
    assert "login key sam:alice moved" in caplog.text


def test_upsert_keeps_enrolled_status(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    store.upsert_user(ALICE)   # a sync sends PENDING again
    assert store.get_user(ALICE.guid).status is EnrollmentStatus.ENROLLED


def test_upsert_updates_unenrolled_status(store: SqliteStore) -> None:
    store.upsert_user(BOB)
    store.upsert_user(UserRecord(BOB.guid, BOB.dn, BOB.sam_account_name, phone="+15550199", status=EnrollmentStatus.PENDING))
    assert store.get_user(BOB.guid).status is EnrollmentStatus.PENDING


def test_upsert_unchanged_keeps_updated_time(store: SqliteStore, clock: FixedClock, database: Path) -> None:
    store.upsert_user(ALICE)
    clock.now += 100
    store.upsert_user(ALICE)
    assert raw_rows(database, "SELECT created_at, updated_at FROM users") == [(clock.now - 100, clock.now - 100)]


def test_upsert_changed_sets_updated_time(store: SqliteStore, clock: FixedClock, database: Path) -> None:
    store.upsert_user(ALICE)
    clock.now += 100
    store.upsert_user(UserRecord(**{**ALICE.__dict__, "phone": "+15550111"}))
    assert raw_rows(database, "SELECT created_at, updated_at FROM users") == [(clock.now - 100, clock.now)]


@pytest.mark.parametrize("field_name", ["guid", "dn", "sam_account_name"])
def test_upsert_rejects_empty_field(store: SqliteStore, field_name: str) -> None:
    with pytest.raises(ValueError, match=f"{field_name} must not be empty"):
        store.upsert_user(UserRecord(**{**ALICE.__dict__, field_name: " "}))


def test_list_users_sorted_by_sam(store: SqliteStore) -> None:
    store.upsert_user(BOB)
    store.upsert_user(ALICE)
    assert [user.sam_account_name for user in store.list_users()] == ["alice", "bob"]


def test_delete_user_removes_keys_and_token(store: SqliteStore, database: Path) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))

    assert store.delete_user(ALICE.guid) is True
    assert store.find_user("sam:alice") is None
    assert store.get_totp(ALICE.guid) is None
    assert raw_rows(database, "SELECT count(*) FROM login_keys") == [(0,)]


def test_delete_user_unknown_returns_false(store: SqliteStore) -> None:
    assert store.delete_user("no-such-guid") is False


def test_counts_by_status(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.upsert_user(BOB)
    store.upsert_user(UserRecord("0b5e3c1a-7f1d-4e8b-9a0c-444444444444", "CN=Carol,DC=example,DC=test", "carol"))
    store.set_totp(token_for(BOB))
    assert store.counts() == UserCounts(total=3, not_enrolled=1, pending=1, enrolled=1, totp_tokens=1)


def test_counts_empty_store(store: SqliteStore) -> None:
    assert store.counts() == UserCounts()


# TOTP tokens


def test_totp_round_trip_sha512(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE, SEED_SHA512, algorithm="sha512", digits=8, period=60))
    token = store.get_totp(ALICE.guid)

    assert token.secret == SEED_SHA512
    assert token.algorithm == "SHA512"
    assert token.digits == 8
    assert token.period == 60
    assert token.last_step == -1


def test_set_totp_marks_enrolled(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    assert store.get_user(ALICE.guid).status is EnrollmentStatus.ENROLLED


def test_set_totp_seed_encrypted_on_disk(store: SqliteStore, database: Path) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE, SEED_SHA512))
    store.close()
    for path in database.parent.iterdir():
        assert SEED_SHA512[:20] not in path.read_bytes()


def test_set_totp_unknown_user_raises(store: SqliteStore) -> None:
    with pytest.raises(UnknownUserError, match="no user with GUID nobody"):
        store.set_totp(TotpToken("nobody", b"12345678901234567890"))


@pytest.mark.parametrize(
    "fields, message",
    [({"algorithm": "MD5"}, "MD5"), ({"digits": 4}, "digits"), ({"period": 0}, "period")],
)
def test_set_totp_rejects_invalid_token(store: SqliteStore, fields: dict, message: str) -> None:
    store.upsert_user(ALICE)
    with pytest.raises(ValueError, match=message):
        store.set_totp(token_for(ALICE, **fields))


def test_get_totp_missing_returns_none(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    assert store.get_totp(ALICE.guid) is None


def test_get_totp_copied_row_fails(store: SqliteStore, database: Path) -> None:
    store.upsert_user(ALICE)
    store.upsert_user(BOB)
    store.set_totp(token_for(ALICE))
    store.set_totp(token_for(BOB, b"another seed 20 byte"))

    connection = sqlite3.connect(database)
    connection.execute(
        "UPDATE totp_tokens SET secret_enc = (SELECT secret_enc FROM totp_tokens WHERE guid = ?) WHERE guid = ?",
        (ALICE.guid, BOB.guid),
    )
    connection.commit()
    connection.close()

    with pytest.raises(SecretBoxError):
        store.get_totp(BOB.guid)


def test_get_totp_other_key_fails(store: SqliteStore, database: Path) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    store.close()
    with SqliteStore(database, SecretBox(bytes(KEY_LENGTH))) as other:
        with pytest.raises(SecretBoxError):
            other.get_totp(ALICE.guid)


def test_consume_step_only_forward(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))

    assert store.consume_totp_step(ALICE.guid, 100) is True
    assert store.consume_totp_step(ALICE.guid, 100) is False
    assert store.consume_totp_step(ALICE.guid, 99) is False
    assert store.consume_totp_step(ALICE.guid, 101) is True
    assert store.get_totp(ALICE.guid).last_step == 101


def test_consume_step_without_token_false(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    assert store.consume_totp_step(ALICE.guid, 1) is False


def test_set_totp_again_resets_last_step(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    store.consume_totp_step(ALICE.guid, 500)
    store.set_totp(token_for(ALICE, b"a brand new seed 20b"))
    assert store.get_totp(ALICE.guid).last_step == -1


def test_remove_totp_back_to_pending(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))

    assert store.remove_totp(ALICE.guid) is True
    assert store.get_totp(ALICE.guid) is None
    assert store.get_user(ALICE.guid).status is EnrollmentStatus.PENDING


def test_remove_totp_without_phone_not_enrolled(store: SqliteStore) -> None:
    store.upsert_user(BOB)
    store.set_totp(token_for(BOB))
    store.remove_totp(BOB.guid)
    assert store.get_user(BOB.guid).status is EnrollmentStatus.NOT_ENROLLED


def test_remove_totp_missing_returns_false(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    assert store.remove_totp(ALICE.guid) is False


# The replay race: exactly one of two concurrent consumers of a step wins.

RACE_ROUNDS = 200


def race_once(consumers: list[SqliteStore], guid: str, step: int) -> list[bool]:
    barrier = threading.Barrier(len(consumers))
    results: list[bool] = [False] * len(consumers)

    def consume(index: int) -> None:
        barrier.wait()
        results[index] = consumers[index].consume_totp_step(guid, step)

    threads = [threading.Thread(target=consume, args=(index,)) for index in range(len(consumers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_consume_race_two_threads_one_store(store: SqliteStore) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    winners = [sum(race_once([store, store], ALICE.guid, step)) for step in range(RACE_ROUNDS)]
    assert winners == [1] * RACE_ROUNDS


def test_consume_race_two_connections(store: SqliteStore, database: Path) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    with SqliteStore(database, SecretBox(KEY)) as second:
        winners = [sum(race_once([store, second], ALICE.guid, step)) for step in range(RACE_ROUNDS)]
    assert winners == [1] * RACE_ROUNDS


CONSUMER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from factorgate.factors.secretbox import SecretBox
    from factorgate.store import SqliteStore

    database, guid, rounds, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = SqliteStore(database, SecretBox(bytes(range(32))))
    while not start.exists():
        time.sleep(0.001)
    wins = [step for step in range(rounds) if store.consume_totp_step(guid, step)]
    print(",".join(map(str, wins)))
    """
)


@pytest.mark.slow
def test_consume_race_two_processes(store: SqliteStore, database: Path, tmp_path: Path) -> None:
    store.upsert_user(ALICE)
    store.set_totp(token_for(ALICE))
    start = tmp_path / "start"
    rounds = 2000
    command = [sys.executable, "-c", CONSUMER_SCRIPT, str(database), ALICE.guid, str(rounds), str(start)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    start.touch()
    outputs = [process.communicate(timeout=60)[0].strip() for process in processes]

    assert [process.returncode for process in processes] == [0, 0]
    wins = [int(step) for output in outputs if output for step in output.split(",")]
    # A process that falls behind loses steps the other one has passed, so
    # fewer than `rounds` steps may be won. No step may be won twice.
    assert len(wins) == len(set(wins))
    assert store.get_totp(ALICE.guid).last_step == rounds - 1
