"""The test Active Directory for tests: start it once and return its facts.

`load_ad()` runs `scripts/test-ad up`, which provisions and starts a Samba AD
DC on 127.0.0.2 when it is not running yet, and returns the parsed ad.json.
Measured on a 2-core Debian 12 machine: about 7 s on the first run, 1 s to
start a provisioned one, 0.3 s when it already runs. Tests get the facts
through the session fixture `test_ad` and carry `@pytest.mark.ad`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import ldap3

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_AD_SCRIPT = REPOSITORY / "scripts" / "test-ad"
UP_TIMEOUT_SECONDS = 300


class TestAdError(RuntimeError):
    """scripts/test-ad could not bring the test AD up."""

    __test__ = False  # Not a test class, despite its name.


def samba_available() -> bool:
    """Return whether the Samba AD DC binaries are installed."""
    return shutil.which("samba") is not None and shutil.which("samba-tool") is not None


def should_skip_without_samba() -> bool:
    """Return whether AD tests may skip for lack of Samba.

    On CI (the CI variable is set) a missing Samba is an error, so AD tests
    never pass by skipping there.
    """
    return not samba_available() and not os.environ.get("CI")


@functools.cache
def load_ad() -> dict[str, Any]:
    """Bring the test AD up (once per process) and return the parsed ad.json.

    Raises:
        TestAdError: `scripts/test-ad up` failed; the message contains its output.
    """
    result = subprocess.run(
        [str(TEST_AD_SCRIPT), "up"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=UP_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise TestAdError(
            f"{TEST_AD_SCRIPT} up failed (exit {result.returncode}); its output "
            f"follows, and the log/ folder of the state directory has Samba's log:\n"
            f"{result.stderr.strip()}"
        )
    facts_path = Path(result.stdout.strip().splitlines()[-1])
    return json.loads(facts_path.read_text(encoding="utf-8"))


def make_server(ad: dict[str, Any], ldaps: bool = True) -> ldap3.Server:
    """Build an ldap3 server for the test AD that verifies its certificate.

    With `ldaps=False` the server is the plain port 389; call
    `connection.start_tls()` on it to upgrade.
    """
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ad["ca_file"])
    url = ad["ldaps_url"] if ldaps else ad["url"]
    return ldap3.Server(url, use_ssl=ldaps, tls=tls, get_info=ldap3.NONE, connect_timeout=10)


def connect(ad: dict[str, Any], user: str, password: str, ldaps: bool = True) -> ldap3.Connection:
    """Create an unopened, unbound connection that does not chase referrals.

    Searches from the domain root return referrals, and chasing them would
    start DNS look-ups for corp.example.test.
    """
    return ldap3.Connection(
        make_server(ad, ldaps),
        user=user,
        password=password,
        auto_referrals=False,
        raise_exceptions=False,
        receive_timeout=10,
    )


def unlock_user(ad: dict[str, Any], sam: str) -> None:
    """Unlock a seeded user that a test locked out with bad passwords.

    The domain locks an account for one minute after `lockout_threshold`
    bad passwords in a row; `scripts/test-ad up` also unlocks them.
    """
    connection = connect(ad, ad["admin_dn"], ad["admin_password"])
    with connection:
        connection.modify(ad["users"][sam]["dn"], {"lockoutTime": [(ldap3.MODIFY_REPLACE, [0])]})
        if connection.result["result"] != 0:
            raise TestAdError(f"unlocking {sam!r} failed: {connection.result}")


def encode_unicode_pwd(password: str) -> bytes:
    """Encode a password as AD's unicodePwd value: in quotes, as UTF-16LE."""
    return f'"{password}"'.encode("utf-16-le")


def reset_password(ad: dict[str, Any], sam: str) -> None:
    """Reset a seeded user's password to the one in ad.json, as the admin.

    Tests that change the password of `ad["password_change_user"]` call this
    afterwards. Real AD accepts unicodePwd writes only over an encrypted
    connection, so this uses LDAPS even though Samba here would not need it.
    """
    user = ad["users"][sam]
    connection = connect(ad, ad["admin_dn"], ad["admin_password"])
    with connection:
        connection.modify(
            user["dn"],
            {"unicodePwd": [(ldap3.MODIFY_REPLACE, [encode_unicode_pwd(user["password"])])]},
        )
        if connection.result["result"] != 0:
            raise TestAdError(f"resetting the password of {sam!r} failed: {connection.result}")
