"""The `factorgate` command: serve, check the configuration, manage users and keys.

Every command returns an exit code: 0 on success, 1 when the command failed
(AD unreachable, user not found, store locked…), 2 when the configuration is
invalid. Expected failures print one plain sentence to stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import json
import logging
import os
import pwd
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Iterator, Sequence, TextIO

from factorgate.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from factorgate.directory.names import parse_login

log = logging.getLogger("factorgate.cli")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

# RFC 4226 §4 (requirement R6): a shared secret is at least 128 bits long.
MIN_SEED_OCTETS = 16
TOTP_PERIOD = 30


class CliError(Exception):
    """A command failed in an expected way; the message is shown as is."""


# --- entry point ----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line in `argv` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_usage(sys.stderr)
        return EXIT_CONFIG
    configure_logging(args)

    try:
        return args.handler(args)
    except ConfigError as error:
        for line in error.errors:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    except CliError as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:   # expected failures of the services, each as one sentence
        message = describe_failure(error)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return EXIT_FAILURE


def describe_failure(error: Exception) -> str | None:
    """Return the sentence for an expected failure of a service, or None to let it raise."""
    from factorgate.directory.adclient import DirectoryError
    from factorgate.directory.importer import UserImportError
    from factorgate.factors.secretbox import SecretBoxError
    from factorgate.store.migrations import SchemaError

    if isinstance(error, (DirectoryError, UserImportError, SecretBoxError, SchemaError)):
        return str(error)
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return f"the store is locked by another process ({error}); try again in a moment"
    if isinstance(error, sqlite3.Error):
        return f"the store failed: {error}"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"cannot access{where}: {error.strerror or error}"
    return None


def configure_logging(args: argparse.Namespace) -> None:
    # `serve` sets up logging from the configuration itself.
    if args.handler is not run_serve:
        level = logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# --- argument parsing -------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # -c/--config is accepted before and after the command name. The copy on
    # each command defaults to SUPPRESS, so it only overrides when given.
    config_option = argparse.ArgumentParser(add_help=False)
    config_option.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                               help="configuration file (default: $FACTORGATE_CONFIG or %s)" % DEFAULT_CONFIG_PATH)

    parser = argparse.ArgumentParser(prog="factorgate", description="MFA server for LDAP and RADIUS clients in front of Active Directory.")
    parser.add_argument("-c", "--config", metavar="PATH",
                        default=os.environ.get("FACTORGATE_CONFIG", DEFAULT_CONFIG_PATH),
                        help="configuration file (default: $FACTORGATE_CONFIG or %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = commands.add_parser("check-config", parents=[config_option], help="validate the configuration file")
    check.set_defaults(handler=run_check_config)

    serve = commands.add_parser("serve", parents=[config_option], help="run the LDAP and RADIUS listeners")
    serve.add_argument("--user", metavar="NAME[:GROUP]",
                       help="drop privileges to this account after binding the listeners (only when started as root)")
    serve.set_defaults(handler=run_serve)

    keygen = commands.add_parser("keygen", help="create a new key file for the seeds (mode 0600; never overwrites)")
    keygen.add_argument("path", metavar="PATH", help="where to create the key file, usually paths.key_file")
    keygen.set_defaults(handler=run_keygen)

    users = commands.add_parser("users", help="import, list and enroll users")
    user_commands = users.add_subparsers(title="users commands", metavar="COMMAND")
    add_user_commands(user_commands, config_option)
    users.set_defaults(handler=lambda args: usage_error(users))
    return parser


def add_user_commands(user_commands: argparse._SubParsersAction, config_option: argparse.ArgumentParser) -> None:
    imports = user_commands.add_parser("import", parents=[config_option],
                                       help="copy users from AD into the store (import.* settings)")
    imports.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    imports.add_argument("--prune", action="store_true", help="delete users from the store that AD no longer returns")
    imports.add_argument("--json", action="store_true", help="print the summary as JSON; its `changed` count is 0 when nothing was written")
    imports.set_defaults(handler=run_users_import)

    listing = user_commands.add_parser("list", parents=[config_option], help="list the users in the store")
    listing.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    listing.set_defaults(handler=run_users_list)

    show = user_commands.add_parser("show", parents=[config_option], help="show one user and their factors")
    show.add_argument("user", metavar="USER", help="login in any form: sAMAccountName, UPN, DOMAIN\\user, DN, or the GUID")
    show.set_defaults(handler=run_users_show)

    enroll = user_commands.add_parser("enroll", parents=[config_option], help="give a user a TOTP token")
    enroll.add_argument("user", metavar="USER", help="login in any form: sAMAccountName, UPN, DOMAIN\\user, DN, or the GUID")
    enroll.add_argument("--method", choices=["totp"], required=True, help="the second factor to enroll")
    enroll.add_argument("--algorithm", type=str.upper, choices=["SHA1", "SHA256", "SHA512"], default="SHA1",
                        help="TOTP hash algorithm (default: %(default)s, the one every authenticator app supports)")
    enroll.add_argument("--digits", type=int, choices=[6, 8], default=6, help="code length (default: %(default)s)")
    enroll.add_argument("--secret-file", metavar="PATH",
                        help="read the base32 seed from PATH, or from stdin with '-', instead of creating one")
    enroll.add_argument("--uri-file", metavar="PATH", help="also write the otpauth:// URI to PATH (mode 0600)")
    enroll.add_argument("--quiet", action="store_true", help="print neither the URI nor the QR code")
    enroll.add_argument("--force", action="store_true", help="replace an existing token (the old one stops working)")
    enroll.set_defaults(handler=run_users_enroll)

    remove = user_commands.add_parser("remove-token", parents=[config_option], help="delete a user's TOTP token")
    remove.add_argument("user", metavar="USER", help="login in any form: sAMAccountName, UPN, DOMAIN\\user, DN, or the GUID")
    remove.set_defaults(handler=run_users_remove_token)

    from factorgate.cli_factors import add_factor_commands

    add_factor_commands(user_commands, config_option)


def usage_error(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    return EXIT_CONFIG


# --- shared helpers -------------------------------------------------------------


def read_config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


@contextlib.contextmanager
def open_store(config: Config) -> Iterator:
    """Open the store named by the configuration and close it afterwards."""
    from factorgate.factors.secretbox import SecretBox
    from factorgate.store.sqlite import SqliteStore

    box = SecretBox.from_key_file(config.paths.key_file)
    store = SqliteStore(config.paths.database_file, box)
    try:
        yield store
    finally:
        store.close()


def find_user(config: Config, store, login: str):
    """Find a user in the store by any login form or by GUID.

    Raises:
        CliError: the name cannot belong to this domain or the user is not in the store.
    """
    try:
        return require_user(store.get_user(str(uuid.UUID(login))), login)
    except ValueError:
        pass

    name = parse_login(login, config.directory.netbios_domain, config.directory.upn_suffixes)
    if name is None:
        raise CliError(
            f"{quote_login(login)} is not a login of domain {config.directory.netbios_domain or '(unset)'}:"
            " use sAMAccountName, UPN, DOMAIN\\user or the DN"
        )
    for key in name.keys:
        user = store.find_user(key)
        if user is not None:
            return user
    return require_user(None, login)


def require_user(user, login: str):
    if user is None:
        raise CliError(
            f"user {quote_login(login)} is not in the store: run `factorgate users import` first,"
            " and check that import.base_dn and import.filter include the user"
        )
    return user


# Maximum characters of a command-line login that an error message echoes.
MAX_ECHOED_LOGIN = 64


def quote_login(login: str) -> str:
    """Quote `login` for an error message, cut to its first MAX_ECHOED_LOGIN characters."""
    if len(login) > MAX_ECHOED_LOGIN:
        login = login[:MAX_ECHOED_LOGIN] + "…"
    return repr(login)


def mask_phone(phone: str) -> str:
    """Replace every digit but the last four with '*', keeping the layout."""
    digits_seen = 0
    total_digits = sum(char.isdigit() for char in phone)
    masked = []
    for char in phone:
        if char.isdigit():
            digits_seen += 1
            masked.append(char if digits_seen > total_digits - 4 else "*")
        else:
            masked.append(char)
    return "".join(masked)


def login_of(user) -> str:
    return f"{user.domain}\\{user.sam_account_name}" if user.domain else user.sam_account_name


# --- commands -------------------------------------------------------------------


def run_check_config(args: argparse.Namespace) -> int:
    config = read_config(args)
    for warning in config.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    print(f"configuration OK: {args.config}")
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    if args.user:
        check_service_account(args.user)
    config = read_config(args)
    from factorgate import app   # imported late: the rest of the CLI works without the server

    return app.run(config, user=args.user)


def check_service_account(spec: str) -> None:
    """Check that NAME[:GROUP] names an existing user (and group) before anything starts."""
    name, _, group = spec.partition(":")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise CliError(f"--user: no such user {name!r}; create the service account or correct the name") from None
    if group:
        try:
            grp.getgrnam(group)
        except KeyError:
            raise CliError(f"--user: no such group {group!r}; create the group or correct the name") from None


def run_keygen(args: argparse.Namespace) -> int:
    from factorgate.factors.secretbox import SecretBox

    SecretBox.generate_key_file(args.path)
    print(f"created key file {args.path} (mode 0600); back it up: without it no stored seed can be read")
    return EXIT_OK


def run_users_import(args: argparse.Namespace) -> int:
    from factorgate.directory.adclient import AdClient
    from factorgate.directory.importer import run_import

    config = read_config(args)
    with open_store(config) as store, AdClient(config.directory) as client:
        client.connect()
        summary = run_import(store, client, config.import_, config.directory.netbios_domain,
                             dry_run=args.dry_run, prune=args.prune)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
        return EXIT_OK
    for line in summary.describe():
        print(line)
    return EXIT_OK


def run_users_list(args: argparse.Namespace) -> int:
    config = read_config(args)
    with open_store(config) as store:
        rows = [describe_user_row(user, store.get_method(user.guid)) for user in store.list_users()]

    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print_table(sys.stdout, ["LOGIN", "STATUS", "METHOD", "PHONE"],
                    [[row["login"], row["status"], row["method"] or "-", row["phone"] or "-"] for row in rows])
    return EXIT_OK


def describe_user_row(user, stored_method: str | None = None) -> dict[str, str]:
    from factorgate.store.base import EnrollmentStatus

    # Users imported before methods existed have no stored method: enrolled means a TOTP token.
    method = stored_method or ("totp" if user.status is EnrollmentStatus.ENROLLED else "")
    return {
        "login": login_of(user),
        "upn": user.user_principal_name,
        "guid": user.guid,
        "dn": user.dn,
        "status": user.status.value,
        "method": method,
        "phone": mask_phone(user.phone),
    }


def print_table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)


def run_users_show(args: argparse.Namespace) -> int:
    config = read_config(args)
    from factorgate.cli_factors import describe_factor_state

    with open_store(config) as store:
        user = find_user(config, store, args.user)
        token = store.get_totp(user.guid)
        factor_lines = describe_factor_state(store, user)

    fields = [
        ("login", login_of(user)),
        ("upn", user.user_principal_name or "-"),
        ("dn", user.dn),
        ("guid", user.guid),
        ("status", user.status.value),
        ("phone", mask_phone(user.phone) or "-"),
    ]
    if token is not None:
        last_used = "never" if token.last_step < 0 else f"step {token.last_step}"
        fields.append(("totp", f"{token.algorithm}, {token.digits} digits, {token.period} s, last used: {last_used}"))
    else:
        fields.append(("totp", "-"))
    fields.extend(factor_lines)
    for name, value in fields:
        print(f"{name + ':':8} {value}")
    return EXIT_OK


def run_users_enroll(args: argparse.Namespace) -> int:
    from factorgate.factors.otp import generate_seed, otpauth_uri
    from factorgate.store.base import TotpToken

    config = read_config(args)
    secret = read_seed(args.secret_file) if args.secret_file else generate_seed(args.algorithm)

    with open_store(config) as store:
        user = find_user(config, store, args.user)
        if store.get_totp(user.guid) is not None and not args.force:
            raise CliError(
                f"{login_of(user)} already has a TOTP token; pass --force to replace it"
                " (the old token stops working)"
            )
        store.set_totp(TotpToken(user.guid, secret, args.algorithm, args.digits, TOTP_PERIOD))

    account = user.user_principal_name or user.sam_account_name
    uri = otpauth_uri(secret, account, config.mfa.totp.issuer, args.algorithm, args.digits, TOTP_PERIOD)
    if args.uri_file:
        write_private_file(Path(args.uri_file), uri + "\n")

    print(f"enrolled {login_of(user)}: TOTP, {args.algorithm}, {args.digits} digits, {TOTP_PERIOD} s")
    if not args.quiet:
        print(uri)
        print_qr_code(uri)
    return EXIT_OK


def read_seed(source: str) -> bytes:
    """Read a base32 seed from a file, or from stdin for '-'.

    Raises:
        CliError: the file cannot be read, the seed is not base32, or it is
            shorter than 128 bits.
    """
    from factorgate.factors.otp import InvalidSeedError, seed_from_base32

    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="ascii")
    except OSError as error:
        raise CliError(f"cannot read the seed from {where}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        # The decoder's own message quotes the offending octet, which may be part of the seed.
        raise CliError(describe_invalid_seed(where, "it contains non-ASCII octets")) from None
    try:
        seed = seed_from_base32(text)
    except InvalidSeedError as error:
        raise CliError(describe_invalid_seed(where, error.problem)) from None
    if len(seed) < MIN_SEED_OCTETS:
        raise CliError(
            f"the seed in {where} is {len(seed) * 8} bits long; TOTP seeds must have at least"
            f" {MIN_SEED_OCTETS * 8} bits (RFC 4226), so use one of 26 or more base32 characters"
        )
    return seed


def describe_invalid_seed(where: str, problem: str) -> str:
    return (
        f"the seed in {where} is not valid base32 ({problem}); export it again from the system that issued it,"
        " or omit --secret-file to generate a new seed"
    )


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, also when the file already exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def print_qr_code(uri: str) -> None:
    import segno

    segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)


def run_users_remove_token(args: argparse.Namespace) -> int:
    config = read_config(args)
    with open_store(config) as store:
        user = find_user(config, store, args.user)
        removed = store.remove_totp(user.guid)
        status = store.get_user(user.guid).status.value

    if removed:
        print(f"removed the TOTP token of {login_of(user)}; status is now {status}")
    else:
        print(f"{login_of(user)} has no TOTP token; nothing removed")
    return EXIT_OK
