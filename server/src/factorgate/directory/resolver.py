"""Resolve a login name to one AD user, imported records first.

A search in AD per login would halve throughput, so the resolver looks in the
store first (users imported by `factorgate users import`) and asks AD only on
a miss; AD's answers, negative ones included, are cached for `cache_ttl`
seconds. Exemption by DN or OU is a string test on the user's DN; exemption by
group asks AD for nested membership and is cached the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from factorgate.auth.model import DirectoryUser
from factorgate.directory.cache import MISSING, TtlCache
from factorgate.directory.names import LoginName, normalize_dn, parse_login
from factorgate.store.base import Store, UserRecord

log = logging.getLogger("factorgate.directory")


class DirectoryLookup(Protocol):
    """Blocking AD queries; the resolver runs them in a worker thread."""

    def find_user(self, login: LoginName, raw_login: str) -> DirectoryUser | None: ...

    def is_member_nested(self, user_dn: str, group_dn: str) -> bool: ...


@dataclass(frozen=True)
class ExemptRules:
    dns: frozenset[str] = frozenset()
    groups: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()

    @classmethod
    def build(cls, dns: list[str], groups: list[str], ous: list[str]) -> ExemptRules:
        return cls(
            dns=frozenset(normalize_dn(dn) for dn in dns),
            groups=tuple(groups),
            ous=tuple(normalize_dn(ou) for ou in ous),
        )


@dataclass(frozen=True)
class Resolution:
    user: DirectoryUser | None
    record: UserRecord | None
    exempt: bool


UNKNOWN = Resolution(user=None, record=None, exempt=False)


class Resolver:
    def __init__(
        self,
        store: Store,
        lookup: DirectoryLookup | None,
        exempt: ExemptRules,
        netbios_domain: str = "",
        upn_suffixes: tuple[str, ...] = (),
        cache_ttl: float = 300.0,
        cache_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._exempt = exempt
        self._netbios_domain = netbios_domain
        self._upn_suffixes = upn_suffixes
        self._user_cache: TtlCache[DirectoryUser | None] = TtlCache(cache_ttl, cache_entries, clock)
        self._group_cache: TtlCache[bool] = TtlCache(cache_ttl, cache_entries, clock)

    async def resolve(self, login: str) -> Resolution:
        """Find the user behind `login`; an unknown user gives `UNKNOWN`."""
        name = parse_login(login, self._netbios_domain, self._upn_suffixes)
        if name is None:
            return UNKNOWN

        record = self._find_imported(name)
        if record is not None:
            user = DirectoryUser(record.guid, record.dn, record.sam_account_name, record.user_principal_name)
        else:
            user = await self._find_in_directory(name, login)
            if user is None:
                return UNKNOWN
            # A name form the store has no key for (an escaped DN, say) may
            # still belong to an imported user: the GUID settles it.
            record = self._store.get_user(user.guid)

        exempt = await self._is_exempt(user)
        return Resolution(user=user, record=record, exempt=exempt)

    def _find_imported(self, name: LoginName) -> UserRecord | None:
        for key in name.keys:
            record = self._store.find_user(key)
            if record is not None:
                return record
        return None

    async def _find_in_directory(self, name: LoginName, login: str) -> DirectoryUser | None:
        if self._lookup is None:
            return None
        cache_key = name.keys[0]
        cached = self._user_cache.get(cache_key)
        if cached is not MISSING:
            return cached

        user = await asyncio.to_thread(self._lookup.find_user, name, login)
        self._user_cache.put(cache_key, user)
        if user is not None:
            log.debug("resolved %r from AD to %s", login, user.dn)
        return user

    async def _is_exempt(self, user: DirectoryUser) -> bool:
        if not (self._exempt.dns or self._exempt.ous or self._exempt.groups):
            return False   # saves normalising the DN, a tenth of a RADIUS login's CPU time
        dn = normalize_dn(user.dn)
        if dn in self._exempt.dns:
            return True
        if any(dn.endswith("," + ou) for ou in self._exempt.ous):
            return True
        for group in self._exempt.groups:
            if await self._is_member(user, group):
                return True
        return False

    async def is_member(self, user: DirectoryUser, group_dn: str) -> bool:
        """Return whether `user` is a nested member of `group_dn`, cached for `cache_ttl`."""
        return await self._is_member(user, group_dn)

    async def _is_member(self, user: DirectoryUser, group_dn: str) -> bool:
        if self._lookup is None:
            return False
        cache_key = f"{user.guid}|{group_dn}"
        cached = self._group_cache.get(cache_key)
        if cached is not MISSING:
            return cached

        member = await asyncio.to_thread(self._lookup.is_member_nested, user.dn, group_dn)
        self._group_cache.put(cache_key, member)
        return member
