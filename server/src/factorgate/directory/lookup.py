"""AD look-ups for the resolver, on top of the look-up account's `AdClient`.

Each login-name form maps to the AD attribute that contains it. The value goes to
AD escaped (RFC 4515) by `AdClient.find_user_by`.
"""

from __future__ import annotations

from factorgate.auth.model import DirectoryUser
from factorgate.config import DirectoryConfig
from factorgate.directory.adclient import AdClient
from factorgate.directory.names import LoginName


def lookup_queries(login: LoginName, raw_login: str) -> list[tuple[str, str]]:
    """Return the (attribute, value) searches that may find the user, in order."""
    name = raw_login.strip()
    if login.kind == "dn":
        return [("distinguishedName", name)]
    if login.kind == "downlevel":
        return [("sAMAccountName", name.partition("\\")[2])]
    if login.kind == "upn":
        queries = [("userPrincipalName", name)]
        if len(login.keys) > 1:  # the suffix is the domain's: sAMAccountName@realm works too
            queries.append(("sAMAccountName", name.rpartition("@")[0]))
        return queries
    return [("sAMAccountName", name)]


class AdLookup:
    """The resolver's `DirectoryLookup`, sharing one look-up connection (AdClient locks it)."""

    def __init__(self, config: DirectoryConfig) -> None:
        self._client = AdClient(config)

    def find_user(self, login: LoginName, raw_login: str) -> DirectoryUser | None:
        for attribute, value in lookup_queries(login, raw_login):
            user = self._client.find_user_by(attribute, value)
            if user is not None:
                return user.to_directory_user()
        return None

    def is_member_nested(self, user_dn: str, group_dn: str) -> bool:
        return self._client.is_member_nested(user_dn, group_dn)
