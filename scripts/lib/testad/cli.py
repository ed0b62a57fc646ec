"""Command line of scripts/test-ad: up, down, destroy, status, check, seed-bulk."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from testad import directory, samba, seed
from testad.ldaptools import Connection, LdapToolError, answers, bind_outcome
from testad.samba import SambaError, StateDir, log

REPOSITORY = Path(__file__).resolve().parents[3]
START_TIMEOUT_SECONDS = 60

# The bind outcome `check` expects for each value of a user's "expect" key.
EXPECTED_BIND = {"ok": "ok", "must_change": "773", "disabled": "533", "locked": "775"}


def resolve_state_dir() -> StateDir:
    configured = os.environ.get("FACTORGATE_AD_DIR")
    root = Path(configured) if configured else REPOSITORY / ".demo" / "ad"
    return StateDir(root.resolve())


@contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock, for example so parallel `up` calls provision once."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock_stream:
        try:
            fcntl.flock(lock_stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another scripts/test-ad run to release {lock_file}")
            fcntl.flock(lock_stream, fcntl.LOCK_EX)
        yield


def is_answering(state: StateDir) -> bool:
    connection = seed.admin_connection(str(state.ca_file))
    return answers(connection)


def bring_up(state: StateDir) -> None:
    samba.ensure_loopback_address()
    if not state.is_provisioned():
        started = time.monotonic()
        samba.provision(state)
        samba.set_password_policy(state)
        state.provisioned_marker.write_text("1\n")
        log(f"provisioned in {time.monotonic() - started:.1f} s")

    pid = samba.read_pid(state)
    if pid is None:
        samba.ensure_tls_files(state)
        samba.configure(state)
        pid = samba.start(state)
        took = samba.wait_until(
            lambda: is_answering(state), START_TIMEOUT_SECONDS,
            f"waiting for LDAP on {directory.ADDRESS}:389",
            pid_check=lambda: samba.read_pid(state) is not None,
        )
        log(f"LDAP answered {took:.1f} s after start")
    elif not is_answering(state):
        raise SambaError(
            f"samba (pid {pid}) runs but does not accept the admin bind on "
            f"{directory.ADDRESS}:389; see {state.log_file}, or run "
            "scripts/test-ad down and up again"
        )

    connection = seed.admin_connection(str(state.ca_file))
    if read_seed_version(state) != directory.SEED_VERSION:
        added = seed.seed_users(connection)
        state.seeded_marker.write_text(f"{directory.SEED_VERSION}\n")
        log(f"seeded {added} entries")
    unlocked = seed.unlock_seeded_users(connection)
    if unlocked:
        log(f"unlocked {', '.join(unlocked)}")
    seed.ensure_locked_user_locked(connection)
    write_facts(state)


def read_seed_version(state: StateDir) -> int:
    try:
        return int(state.seeded_marker.read_text().strip())
    except (FileNotFoundError, ValueError):
        return 0


def read_bulk_count(state: StateDir) -> int:
    try:
        return int(state.bulk_count_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return 0


def write_facts(state: StateDir) -> None:
    facts = directory.build_facts(str(state.ca_file), read_bulk_count(state))
    temporary = state.facts_file.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(facts, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    temporary.replace(state.facts_file)


def command_up(state: StateDir, _args: argparse.Namespace) -> int:
    with locked(state.lock_file):
        bring_up(state)
    print(state.facts_file)
    return 0


def command_down(state: StateDir, _args: argparse.Namespace) -> int:
    with locked(state.lock_file):
        if samba.stop(state):
            log("samba stopped; the provisioned data stays for the next up")
        else:
            log("samba was not running")
    return 0


def command_destroy(state: StateDir, _args: argparse.Namespace) -> int:
    with locked(state.lock_file):
        samba.stop(state)
        if state.root.exists():
            shutil.rmtree(state.root)
            log(f"removed {state.root}")
    return 0


def command_status(state: StateDir, _args: argparse.Namespace) -> int:
    pid = samba.read_pid(state)
    if pid is None:
        log(f"not running (state directory {state.root})")
        return 1
    if not state.ca_file.is_file() or not is_answering(state):
        log(f"samba (pid {pid}) runs but does not answer LDAP on {directory.ADDRESS}:389")
        return 1
    log(f"running (pid {pid}), facts in {state.facts_file}")
    return 0


def command_seed_bulk(state: StateDir, args: argparse.Namespace) -> int:
    if args.count < 1 or args.count > 99999:
        log(f"invalid count {args.count}: give a number from 1 to 99999")
        return 2
    with locked(state.lock_file):
        bring_up(state)
    # Bulk seeding can take minutes, so it holds its own lock and `up` calls
    # from test sessions do not wait for it.
    with locked(state.bulk_lock_file):
        connection = seed.admin_connection(str(state.ca_file))
        started = time.monotonic()
        added = seed.seed_bulk(connection, args.count)
        log(f"added {added} bench users in {time.monotonic() - started:.1f} s")
        state.bulk_count_file.write_text(f"{max(args.count, read_bulk_count(state))}\n")
    with locked(state.lock_file):
        write_facts(state)
    print(state.facts_file)
    return 0


def command_check(state: StateDir, _args: argparse.Namespace) -> int:
    """Bind as each seeded user over LDAPS, StartTLS and plain LDAP; compare outcomes."""
    if samba.read_pid(state) is None:
        log("not running; run scripts/test-ad up first")
        return 1
    ca_file = str(state.ca_file)
    alice = directory.USERS_BY_SAM["alice"]
    cases = [("alice (wrong password)", alice.dn, "Wrong-Password-1", "52e")]
    for user in directory.USERS:
        cases.append((user.sam, user.dn, user.password, EXPECTED_BIND[user.expect]))
    # The other accepted forms of a bind name.
    cases.append(("alice by UPN", alice.upn, alice.password, "ok"))
    cases.append(("alice by CORP\\alice", f"{directory.NETBIOS_DOMAIN}\\alice",
                  alice.password, "ok"))

    # "plain" shows that "ldap server require strong auth = no" took effect:
    # without it Samba rejects simple binds on 389 without TLS.
    transports = [
        ("ldaps", f"ldaps://{directory.ADDRESS}:636", False),
        ("starttls", f"ldap://{directory.ADDRESS}:389", True),
        ("plain", f"ldap://{directory.ADDRESS}:389", False),
    ]
    failures = 0
    for transport, url, starttls in transports:
        for label, bind_dn, password, expected in cases:
            outcome = bind_outcome(Connection(url, ca_file, bind_dn, password, starttls))
            verdict = "pass" if outcome == expected else "FAIL"
            failures += verdict == "FAIL"
            print(f"{verdict}  {transport:8}  {label:28}  expected {expected:4}  got {outcome}")
    if failures:
        log(f"{failures} bind checks failed")
        return 1
    log("all bind checks passed")
    return 0


COMMANDS = {
    "up": (command_up, "provision if needed, start, seed, write ad.json and print its path"),
    "down": (command_down, "stop samba and keep the provisioned data"),
    "destroy": (command_destroy, "stop samba and remove the state directory"),
    "status": (command_status, "exit 0 if samba runs and answers LDAP"),
    "check": (command_check, "verify each seeded user's bind outcome over LDAPS, StartTLS and plain LDAP"),
    "seed-bulk": (command_seed_bulk, "add bench users bench00001..N in group FG-Bench"),
}


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/test-ad",
        description=(
            "Run the test Active Directory (Samba AD DC, realm CORP.EXAMPLE.TEST) "
            "on 127.0.0.2. State directory: $FACTORGATE_AD_DIR, default <repo>/.demo/ad."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        if name == "seed-bulk":
            sub.add_argument("count", type=int, help="number of bench users (1-99999)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    state = resolve_state_dir()
    handler = COMMANDS[args.command][0]
    try:
        return handler(state, args)
    except (SambaError, LdapToolError, RuntimeError) as error:
        print(f"test-ad: {args.command} failed: {error}", file=sys.stderr)
        return 1
