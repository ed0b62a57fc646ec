"""The `factorgate users` commands for second-factor state, through main()."""

from __future__ import annotations

import time

import pytest

from factorgate.cli import main
from test_cli import ALICE, BOB, SEED_BASE32, Node


@pytest.fixture()
def node(tmp_path) -> Node:
    node = Node(tmp_path)
    node.add_users(ALICE, BOB)
    return node


def cli(node: Node, *args: str) -> int:
    return main(["-c", str(node.config), *args])


def test_set_method_stored(node, capsys):
    assert cli(node, "users", "set-method", "alice", "voice") == 0
    with node.store() as store:
        assert store.get_method(ALICE.guid) == "voice"
    assert "CORP\\alice now uses voice" in capsys.readouterr().out


def test_set_method_warns_without_phone(node, capsys):
    assert cli(node, "users", "set-method", "bob", "sms") == 0
    assert "has no phone number" in capsys.readouterr().out


def test_set_method_unknown_method_exit_2(node):
    with pytest.raises(SystemExit) as caught:
        cli(node, "users", "set-method", "alice", "fax")
    assert caught.value.code == 2


def test_enroll_hotp_from_stdin(node, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SEED_BASE32))
    assert cli(node, "users", "enroll-hotp", "alice", "--secret-file", "-", "--counter", "5") == 0
    with node.store() as store:
        token = store.get_hotp(ALICE.guid)
        status = store.get_user(ALICE.guid).status.value
    assert token.counter == 5
    assert token.secret == b"12345678901234567890"
    assert status == "enrolled"


def test_bypass_granted_and_logged(node, caplog, capsys):
    assert cli(node, "users", "bypass", "alice", "--seconds", "300", "--reason", "lost phone") == 0
    with node.store() as store:
        assert store.has_bypass(ALICE.guid, time.time())
    assert "one-time bypass granted: user=alice seconds=300" in caplog.text
    assert "reason=lost phone" in caplog.text


@pytest.mark.parametrize("seconds", ["0", "604801"])
def test_bypass_seconds_out_of_range_exit_1(node, seconds, capsys):
    assert cli(node, "users", "bypass", "alice", "--seconds", seconds, "--reason", "x") == 1
    assert "--seconds must be between 1 and 604800" in capsys.readouterr().err


def test_bypass_empty_reason_exit_1(node, capsys):
    assert cli(node, "users", "bypass", "alice", "--seconds", "60", "--reason", " ") == 1
    assert "--reason must not be empty" in capsys.readouterr().err


def test_unblock_lifts_block(node, capsys):
    with node.store() as store:
        store.block_user(ALICE.guid, time.time() + 3600, "fraud reported by voice", time.time())
    assert cli(node, "users", "unblock", "alice") == 0
    with node.store() as store:
        assert store.get_block(ALICE.guid, time.time()) is None
    assert "lifted the fraud block" in capsys.readouterr().out


def test_unblock_not_blocked_changes_nothing(node, capsys):
    assert cli(node, "users", "unblock", "alice") == 0
    assert "is not blocked; nothing changed" in capsys.readouterr().out


def test_unlock_clears_lockout(node, capsys):
    with node.store() as store:
        for _ in range(3):
            store.reserve_factor_attempt(ALICE.guid, time.time(), 3, 0)
    assert cli(node, "users", "unlock", "alice") == 0
    with node.store() as store:
        state = store.lockout_state(ALICE.guid)
    assert state.failures == 0
    assert state.locked_until == 0


def test_show_lists_factor_state(node, capsys):
    with node.store() as store:
        store.set_method(ALICE.guid, "voice", time.time())
        store.block_user(ALICE.guid, time.time() + 3600, "fraud reported by voice", time.time())
    assert cli(node, "users", "show", "alice") == 0
    out = capsys.readouterr().out
    assert "method:  voice" in out
    assert "blocked: until" in out
    assert "lockout: 0 failures" in out


def test_list_shows_stored_method(node, capsys):
    with node.store() as store:
        store.set_method(BOB.guid, "push", time.time())
    assert cli(node, "users", "list", "--json") == 0
    import json

    rows = {row["login"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["CORP\\bob"]["method"] == "push"
