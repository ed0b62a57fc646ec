"""Synchronous access to Active Directory with the look-up account (ldap3).

`AdClient` serves the CLI's `users import` and the pipeline's look-ups of users
missing from the store. It binds with `directory.bind_dn`, reads users, and
checks nested group membership. It never checks a user's password, because the
front ends relay binds to AD themselves.

Thread safety: one `AdClient` may be shared by threads. It holds one ldap3
connection, and a lock serialises the operations on it, because an ldap3 SYNC
connection is not safe for concurrent use. A caller that needs parallel
look-ups creates one client per thread, which costs one TCP connection and
bind each.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from factorgate.auth.model import DirectoryUser
from factorgate.config import DirectoryConfig

log = logging.getLogger("factorgate.directory")

# Seconds to wait for AD's response to one operation once connected.
# NOTE: not configurable yet; directory.connect_timeout covers only the connect.
OPERATION_TIMEOUT = 30

USER_FILTER = "(&(objectCategory=person)(objectClass=user))"
IDENTITY_ATTRIBUTES = ("objectGUID", "distinguishedName", "sAMAccountName", "userPrincipalName")
NESTED_MEMBER_RULE = "1.2.840.113556.1.4.1941"   # LDAP_MATCHING_RULE_IN_CHAIN
PAGED_RESULTS_CONTROL = "1.2.840.113556.1.4.319"

RESULT_SUCCESS = 0
RESULT_NO_SUCH_OBJECT = 32
RESULT_INVALID_CREDENTIALS = 49

ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


class DirectoryError(Exception):
    """AD access failed; the message names the server or object and the fix."""


class DirectoryUnavailable(DirectoryError):
    """No domain controller in `directory.servers` could be reached."""


class DirectoryBindError(DirectoryError):
    """AD rejected the look-up account's bind."""


@dataclass(frozen=True)
class AdUser:
    """One user entry as read from AD."""

    guid: str                   # objectGUID as the canonical UUID string
    dn: str
    sam_account_name: str
    user_principal_name: str = ""
    phone: str = ""             # the first non-empty phone attribute

    def to_directory_user(self) -> DirectoryUser:
        return DirectoryUser(self.guid, self.dn, self.sam_account_name, self.user_principal_name)


def escape_filter_value(value: str) -> str:
    """Escape a value for an RFC 4515 filter: NUL, `*`, `(`, `)` and `\\` become `\\xx`."""
    return escape_filter_chars(value)


def escape_filter_octets(value: bytes) -> str:
    """Escape every octet as `\\xx`, the form AD expects for binary values such as objectGUID."""
    return "".join(f"\\{octet:02x}" for octet in value)


def guid_from_octets(octets: bytes) -> str:
    """Convert objectGUID's 16 octets (little-endian UUID layout, as AD stores it) to a UUID string."""
    return str(uuid.UUID(bytes_le=octets))


def build_user_filter(attribute: str, value: str) -> str:
    """Build the filter that finds one user by an attribute's value, every value escaped.

    Raises:
        ValueError: `attribute` is not an attribute name, or `value` is not a
            UUID when the attribute is objectGUID.
    """
    if not ATTRIBUTE_NAME.fullmatch(attribute):
        raise ValueError(f"invalid LDAP attribute name: {attribute!r}")
    if attribute.lower() == "objectguid":
        assertion = escape_filter_octets(uuid.UUID(value).bytes_le)
    else:
        assertion = escape_filter_value(value)
    return f"(&{USER_FILTER}({attribute}={assertion}))"


class AdClient:
    """A bound connection to the first reachable domain controller.

    Connects on first use; `connect()` does so explicitly and reports failures
    at once. Use it as a context manager, or call `close()`.
    """

    def __init__(self, config: DirectoryConfig) -> None:
        self._config = config
        self._connection: ldap3.Connection | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> AdClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect and bind to the first domain controller that accepts a connection.

        Servers are tried in the order of `directory.servers`. A rejected bind
        stops the attempt at once, so a wrong password does not count failures
        against the account on every domain controller.

        Raises:
            DirectoryUnavailable: no server could be reached or TLS failed.
            DirectoryBindError: AD rejected the look-up account.
        """
        with self._lock:
            self._ensure_connection()

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    def search_users(self, base_dn: str, search_filter: str, phone_attributes: tuple[str, ...] = (),
                     page_size: int = 500) -> Iterator[AdUser]:
        """Yield every user under `base_dn` that matches `search_filter`, page by page.

        `search_filter` is used as written, so it must come from configuration
        and never from a client. Entries without objectGUID or sAMAccountName
        and referrals are skipped.

        Raises:
            DirectoryError: a page could not be read (the base DN does not
                exist, the filter is invalid, the connection broke).
        """
        attributes = list(IDENTITY_ATTRIBUTES) + list(phone_attributes)
        cookie: bytes | None = None
        while True:
            with self._lock:
                entries, cookie = self._search_page(base_dn, search_filter, attributes, page_size, cookie)
            for entry in entries:
                user = read_user(entry, phone_attributes)
                if user is not None:
                    yield user
            if not cookie:
                return

    def find_user_by(self, attribute: str, value: str, phone_attributes: tuple[str, ...] = ()) -> AdUser | None:
        """Find the one user whose `attribute` equals `value`, under `directory.base_dn`.

        `value` is escaped (RFC 4515), so any text a client sent is safe here.
        For objectGUID, `value` is the UUID string.

        Returns:
            The user, or None when no user matches.

        Raises:
            ValueError: `attribute` is not an attribute name or a GUID is malformed.
            DirectoryError: AD could not be searched, or more than one user matches.
        """
        search_filter = build_user_filter(attribute, value)
        attributes = list(IDENTITY_ATTRIBUTES) + list(phone_attributes)
        with self._lock:
            entries, _ = self._search(self._config.base_dn, search_filter, ldap3.SUBTREE, attributes, size_limit=2)
        users = [user for user in (read_user(entry, phone_attributes) for entry in entries) if user is not None]
        if len(users) > 1:
            raise DirectoryError(
                f"more than one AD user has {attribute}={value!r} ({users[0].dn}; {users[1].dn});"
                " make the attribute unique or log in with another name form"
            )
        return users[0] if users else None

    def is_member_nested(self, user_dn: str, group_dn: str) -> bool:
        """Return True when `user_dn` is a member of `group_dn`, directly or through nested groups.

        NOTE: AD's memberOf leaves out the primary group (usually Domain
        Users), so membership through primaryGroupID alone returns False.
        """
        search_filter = f"(memberOf:{NESTED_MEMBER_RULE}:={escape_filter_value(group_dn)})"
        with self._lock:
            entries, _ = self._search(user_dn, search_filter, ldap3.BASE, ["1.1"], missing_ok=True)
        return bool(entries)

    # --- connection handling (callers hold the lock) ---

    def _ensure_connection(self) -> ldap3.Connection:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        failures = []
        for url in self._config.servers:
            try:
                self._connection = self._open(url)
                return self._connection
            except DirectoryBindError:
                raise
            except (DirectoryUnavailable, LDAPException, OSError) as error:
                log.warning("cannot use domain controller %s: %s", url, error)
                failures.append(f"{url}: {error}")
        raise DirectoryUnavailable(
            "cannot reach any domain controller in directory.servers (" + "; ".join(failures) + ");"
            " check that AD is running, the URLs and ports, and for TLS directory.ca_file"
        )

    def _open(self, url: str) -> ldap3.Connection:
        server = build_server(url, self._config)
        connection = ldap3.Connection(
            server,
            user=self._config.bind_dn,
            password=self._read_password(),
            authentication=ldap3.SIMPLE,
            client_strategy=ldap3.SYNC,
            auto_referrals=False,       # Samba returns referrals from the domain root; chasing them means DNS look-ups
            read_only=True,
            raise_exceptions=False,
            receive_timeout=OPERATION_TIMEOUT,
        )
        connection.open(read_server_info=False)
        try:
            if not server.ssl and self._config.start_tls:
                if not connection.start_tls(read_server_info=False):
                    raise DirectoryUnavailable(f"{url}: StartTLS failed: {describe_result(connection.result)}")
            if not connection.bind(read_server_info=False):
                raise_bind_failure(url, self._config.bind_dn, connection.result)
        except BaseException:
            connection.unbind()
            raise
        log.info("connected to %s as %s", url, self._config.bind_dn)
        return connection

    def _read_password(self) -> bytes:
        # Bytes, because ldap3 applies SASLprep to str passwords, which alters
        # or rejects non-ASCII passwords that AD accepts.
        try:
            return self._config.bind_password()
        except OSError as error:
            raise DirectoryError(
                f"cannot read directory.bind_password_file {self._config.bind_password_file}: {error.strerror or error}"
            ) from None

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.unbind()
            except (LDAPException, OSError):
                pass
            self._connection = None

    def _search(self, base_dn: str, search_filter: str, scope: str, attributes: list[str], *,
                size_limit: int = 0, missing_ok: bool = False,
                paged_size: int | None = None, paged_cookie: bytes | None = None
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Run one search, reconnecting once if the connection was lost.

        Returns the entries (referrals left out) and the response controls.
        """
        for attempt in (1, 2):
            connection = self._ensure_connection()
            try:
                connection.search(base_dn, search_filter, scope, attributes=attributes, size_limit=size_limit,
                                  paged_size=paged_size, paged_cookie=paged_cookie, auto_escape=False)
            except (LDAPException, OSError) as error:
                self._drop_connection()
                if attempt == 2:
                    raise DirectoryUnavailable(f"search under {base_dn} failed: {error}") from None
                log.info("connection to AD lost (%s); reconnecting", error)
                continue
            break

        result = connection.result
        if missing_ok and result["result"] == RESULT_NO_SUCH_OBJECT:
            return [], {}
        if result["result"] != RESULT_SUCCESS:
            raise DirectoryError(f"search for {search_filter} under {base_dn} failed: {describe_result(result)}")
        entries = [entry for entry in connection.response or () if entry.get("type") == "searchResEntry"]
        return entries, result.get("controls") or {}

    def _search_page(self, base_dn: str, search_filter: str, attributes: list[str], page_size: int,
                     cookie: bytes | None) -> tuple[list[dict[str, Any]], bytes | None]:
        entries, controls = self._search(base_dn, search_filter, ldap3.SUBTREE, attributes,
                                         paged_size=page_size, paged_cookie=cookie)
        control = controls.get(PAGED_RESULTS_CONTROL, {})
        next_cookie = control.get("value", {}).get("cookie") or None
        return entries, next_cookie


def build_server(url: str, config: DirectoryConfig) -> ldap3.Server:
    parsed = urllib.parse.urlsplit(url)
    use_ssl = parsed.scheme == "ldaps"
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if config.verify_certificate else ssl.CERT_NONE,
        ca_certs_file=str(config.ca_file) if config.ca_file else None,
    )
    return ldap3.Server(
        parsed.hostname,
        port=parsed.port or (636 if use_ssl else 389),
        use_ssl=use_ssl,
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=config.connect_timeout,
    )


def raise_bind_failure(url: str, bind_dn: str, result: dict[str, Any]) -> None:
    if result.get("result") == RESULT_INVALID_CREDENTIALS:
        raise DirectoryBindError(
            f"{url} rejected the look-up account {bind_dn}: {describe_result(result)};"
            " check directory.bind_dn and the password in directory.bind_password_file"
        )
    raise DirectoryBindError(f"{url}: bind as {bind_dn} failed: {describe_result(result)}")


def describe_result(result: dict[str, Any] | None) -> str:
    if not result:
        return "no answer"
    text = f"{result.get('description', 'error')} ({result.get('result')})"
    message = (result.get("message") or "").strip()
    return f"{text}: {message}" if message else text


def first_value(attributes: dict[str, list[bytes]], name: str) -> bytes:
    for key, values in attributes.items():
        if key.lower() == name.lower():
            return values[0] if values else b""
    return b""


def read_user(entry: dict[str, Any], phone_attributes: tuple[str, ...]) -> AdUser | None:
    """Build an AdUser from a raw search entry, or return None if it lacks identity attributes."""
    raw = entry.get("raw_attributes") or {}
    guid_octets = first_value(raw, "objectGUID")
    sam = first_value(raw, "sAMAccountName").decode("utf-8", "replace")
    if len(guid_octets) != 16 or not sam:
        log.warning("skipping %s: no objectGUID or sAMAccountName", entry.get("dn"))
        return None

    dn = first_value(raw, "distinguishedName").decode("utf-8", "replace") or entry.get("dn", "")
    phone = ""
    for name in phone_attributes:
        phone = first_value(raw, name).decode("utf-8", "replace").strip()
        if phone:
            break
    return AdUser(
        guid=guid_from_octets(guid_octets),
        dn=dn,
        sam_account_name=sam,
        user_principal_name=first_value(raw, "userPrincipalName").decode("utf-8", "replace"),
        phone=phone,
    )
