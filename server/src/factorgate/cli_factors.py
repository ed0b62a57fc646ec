"""`factorgate users` commands for second-factor state: method, HOTP, blocks, lockouts, bypasses.

Each command changes this node's store. NOTE: until the pair replicates, run
it on both nodes.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import time

from factorgate.cli import EXIT_OK, CliError, find_user, login_of, open_store, read_config, read_seed

audit_log = logging.getLogger("factorgate.audit")

USER_HELP = "login in any form: sAMAccountName, UPN, DOMAIN\\user, DN, or the GUID"
MAX_BYPASS_SECONDS = 7 * 86400


def add_factor_commands(user_commands: argparse._SubParsersAction, config_option: argparse.ArgumentParser) -> None:
    from factorgate.store.base import FACTOR_METHODS

    method = user_commands.add_parser("set-method", parents=[config_option],
                                      help="choose a user's second factor; later imports keep the choice")
    method.add_argument("user", metavar="USER", help=USER_HELP)
    method.add_argument("method", choices=FACTOR_METHODS, help="voice, sms, push, totp or hotp")
    method.set_defaults(handler=run_set_method)

    hotp = user_commands.add_parser("enroll-hotp", parents=[config_option],
                                    help="give a user an HOTP (RFC 4226) token from its base32 seed")
    hotp.add_argument("user", metavar="USER", help=USER_HELP)
    hotp.add_argument("--secret-file", metavar="PATH", required=True,
                      help="read the token's base32 seed from PATH, or from stdin with '-'")
    hotp.add_argument("--counter", type=int, default=0, help="the token's next counter value (default: %(default)s)")
    hotp.add_argument("--digits", type=int, choices=[6, 8], default=6, help="code length (default: %(default)s)")
    hotp.add_argument("--algorithm", type=str.upper, choices=["SHA1", "SHA256", "SHA512"], default="SHA1",
                      help="HMAC algorithm (default: %(default)s)")
    hotp.set_defaults(handler=run_enroll_hotp)

    unblock = user_commands.add_parser("unblock", parents=[config_option], help="lift a fraud block")
    unblock.add_argument("user", metavar="USER", help=USER_HELP)
    unblock.set_defaults(handler=run_unblock)

    unlock = user_commands.add_parser("unlock", parents=[config_option],
                                      help="clear a user's second-factor failures and lockout")
    unlock.add_argument("user", metavar="USER", help=USER_HELP)
    unlock.set_defaults(handler=run_unlock)

    bypass = user_commands.add_parser("bypass", parents=[config_option],
                                      help="let a user log in once with the password alone, within N seconds")
    bypass.add_argument("user", metavar="USER", help=USER_HELP)
    bypass.add_argument("--seconds", type=int, required=True,
                        help=f"how long the bypass can be used, 1 to {MAX_BYPASS_SECONDS} seconds")
    bypass.add_argument("--reason", required=True, help="why; written to the log with every grant and use")
    bypass.set_defaults(handler=run_bypass)


def run_set_method(args: argparse.Namespace) -> int:
    config = read_config(args)
    with open_store(config) as store:
        user = find_user(config, store, args.user)
        store.set_method(user.guid, args.method, time.time())
        warning = describe_method_gap(store, user, args.method)
    print(f"{login_of(user)} now uses {args.method}")
    if warning:
        print(f"warning: {warning}")
    return EXIT_OK


def describe_method_gap(store, user, method: str) -> str:
    """Return why the user cannot log in with `method` yet, or ""."""
    if method in ("voice", "sms") and not user.phone:
        return f"{login_of(user)} has no phone number; logins fail until AD has one and the next import runs"
    if method == "totp" and store.get_totp(user.guid) is None:
        return f"{login_of(user)} has no TOTP token; run `factorgate users enroll {user.sam_account_name} --method totp`"
    if method == "hotp" and store.get_hotp(user.guid) is None:
        return f"{login_of(user)} has no HOTP token; run `factorgate users enroll-hotp {user.sam_account_name}`"
    return ""


def run_enroll_hotp(args: argparse.Namespace) -> int:
    from factorgate.store.base import HotpToken

    if args.counter < 0:
        raise CliError(f"--counter must be 0 or more (got {args.counter})")
    config = read_config(args)
    secret = read_seed(args.secret_file)
    with open_store(config) as store:
        user = find_user(config, store, args.user)
        store.set_hotp(HotpToken(user.guid, secret, args.algorithm, args.digits, args.counter), time.time())
    print(f"enrolled {login_of(user)}: HOTP, {args.algorithm}, {args.digits} digits, next counter {args.counter};"
          f" run `factorgate users set-method {user.sam_account_name} hotp` to use it")
    return EXIT_OK


def run_unblock(args: argparse.Namespace) -> int:
    config = read_config(args)
    with open_store(config) as store:
        user = find_user(config, store, args.user)
        removed = store.unblock_user(user.guid)
    if removed:
        audit_log.warning("fraud block of user %s lifted by %s", user.sam_account_name, operator())
        print(f"lifted the fraud block of {login_of(user)}")
    else:
        print(f"{login_of(user)} is not blocked; nothing changed")
    return EXIT_OK


def run_unlock(args: argparse.Namespace) -> int:
    config = read_config(args)
    with open_store(config) as store:
        user = find_user(config, store, args.user)
        cleared = store.unlock_user(user.guid, time.time())
    if cleared:
        audit_log.warning("second-factor lockout of user %s cleared by %s", user.sam_account_name, operator())
        print(f"cleared the second-factor failures and lockout of {login_of(user)}")
    else:
        print(f"{login_of(user)} has no second-factor failures; nothing changed")
    return EXIT_OK


def run_bypass(args: argparse.Namespace) -> int:
    if not 1 <= args.seconds <= MAX_BYPASS_SECONDS:
        raise CliError(f"--seconds must be between 1 and {MAX_BYPASS_SECONDS} (got {args.seconds})")
    reason = args.reason.strip()
    if not reason:
        raise CliError("--reason must not be empty: say why the user may skip the second factor")
    config = read_config(args)
    now = time.time()
    with open_store(config) as store:
        user = find_user(config, store, args.user)
        store.grant_bypass(user.guid, now + args.seconds, reason, operator(), now)
    audit_log.warning("one-time bypass granted: user=%s seconds=%d by=%s reason=%s",
                      user.sam_account_name, args.seconds, operator(), reason)
    print(f"{login_of(user)} may log in once with the password alone within the next {args.seconds} seconds")
    return EXIT_OK


def describe_factor_state(store, user) -> list[tuple[str, str]]:
    """Return the `users show` lines for method, HOTP, block, lockout and bypass."""
    now = time.time()
    method = store.get_method(user.guid) or "(import default)"
    token = store.get_hotp(user.guid)
    block = store.get_block(user.guid, now)
    lockout = store.lockout_state(user.guid)
    lines = [("method", method), ("hotp", f"{token.algorithm}, {token.digits} digits, next counter {token.counter}"
                                   if token else "-")]
    lines.append(("blocked", time.strftime("until %Y-%m-%d %H:%M UTC", time.gmtime(block.blocked_until))
                  + f" ({block.reason})" if block else "no"))
    locked = lockout.locked_until > now
    lines.append(("lockout", f"{lockout.failures} failures" + (", locked" if locked else "")))
    lines.append(("bypass", "granted, unused" if store.has_bypass(user.guid, now) else "-"))
    return lines


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
