"""Run the OpenLDAP command-line clients against the test AD.

Every call verifies the server certificate against the test CA, and none
chases referrals (Samba returns referrals for searches from the domain root,
and chasing them would start DNS look-ups).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
from dataclasses import dataclass

# The hex code after "data" in AD's bind diagnostic message, for example
# "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error,
# data 775, v1db1".
_AD_SUB_CODE = re.compile(r"\bdata ([0-9a-fA-F]+)\b")

BIND_TIMEOUT_SECONDS = 10


class LdapToolError(RuntimeError):
    """An OpenLDAP client exited with an error."""


@dataclass(frozen=True)
class Connection:
    """The server URL, CA file and bind credentials of one client call."""

    url: str
    ca_file: str
    bind_dn: str
    password: str
    starttls: bool = False

    def arguments(self) -> list[str]:
        args = ["-x", "-H", self.url, "-D", self.bind_dn, "-w", self.password]
        if self.starttls:
            args.append("-ZZ")
        return args

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["LDAPTLS_CACERT"] = self.ca_file
        env["LDAPTLS_REQCERT"] = "demand"
        return env


def run_tool(
    tool: str,
    connection: Connection,
    extra: list[str],
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `tool` (ldapsearch, ldapmodify...) and return the completed process."""
    return subprocess.run(
        [tool, *connection.arguments(), "-o", f"nettimeout={BIND_TIMEOUT_SECONDS}", *extra],
        input=stdin_text if stdin_text is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=connection.environment(),
        timeout=600,
        check=False,
    )


def search(
    connection: Connection,
    base: str,
    ldap_filter: str,
    attributes: list[str],
    scope: str = "sub",
) -> list[dict[str, list[str]]]:
    """Search and return the entries as attribute → values, `dn` included.

    Requests pages of 1000 entries (AD's default MaxPageSize), so results
    larger than the server's size limit arrive complete. Values are parsed
    as `parse_ldif_entries` describes.
    """
    result = run_tool(
        "ldapsearch",
        connection,
        ["-LLL", "-o", "ldif-wrap=no", "-E", "pr=1000/noprompt",
         "-s", scope, "-b", base, ldap_filter, *attributes],
    )
    # Exit code 10 (referral) is accepted too. Samba 4.17 exits 0 with search
    # continuation references to the other naming contexts, which the parser
    # skips as comments.
    if result.returncode not in (0, 10):
        raise LdapToolError(
            f"ldapsearch of {base!r} with filter {ldap_filter!r} failed "
            f"(exit {result.returncode}): {result.stderr.strip()}"
        )
    return parse_ldif_entries(result.stdout)


def parse_ldif_entries(text: str) -> list[dict[str, list[str]]]:
    """Parse unwrapped LDIF output of ldapsearch into dictionaries.

    Attribute names are lower-cased. Base64 values (``name:: ...``) are
    decoded when they are UTF-8 text, such as a DN with "ü", and stay
    base64 otherwise, such as objectGUID.
    """
    entries: list[dict[str, list[str]]] = []
    for block in text.split("\n\n"):
        entry: dict[str, list[str]] = {}
        for line in block.splitlines():
            if not line or line.startswith("#") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            if value.startswith(":"):
                value = decode_base64_text(value[1:].strip())
            else:
                value = value.strip()
            entry.setdefault(name.lower(), []).append(value)
        if "dn" in entry:
            entries.append(entry)
    return entries


def decode_base64_text(encoded: str) -> str:
    """Decode a base64 LDIF value to text, or return it unchanged if binary."""
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return encoded


def modify(connection: Connection, ldif: str, continue_on_error: bool = False) -> None:
    """Apply LDIF change records with ldapmodify, raising on failure."""
    extra = ["-c"] if continue_on_error else []
    result = run_tool("ldapmodify", connection, extra, stdin_text=ldif)
    if result.returncode != 0:
        raise LdapToolError(
            f"ldapmodify failed (exit {result.returncode}): {result.stderr.strip()}"
        )


def bind_outcome(connection: Connection) -> str:
    """Bind and return "ok", AD's sub-code (for example "775"), or the error.

    The bind is followed by a base search of the root DSE because Samba does
    not support the WhoAmI extended operation that ldapwhoami would send.
    """
    result = run_tool("ldapsearch", connection, ["-LLL", "-s", "base", "-b", "", "dn"])
    if result.returncode == 0:
        return "ok"
    match = _AD_SUB_CODE.search(result.stderr)
    if match:
        return match.group(1).lower()
    return f"error (exit {result.returncode}): {result.stderr.strip()}"


def answers(connection: Connection) -> bool:
    """Return whether the directory accepts `connection`'s bind right now."""
    try:
        return bind_outcome(connection) == "ok"
    except subprocess.TimeoutExpired:
        return False
