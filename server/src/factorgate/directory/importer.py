"""`factorgate users import`: copy AD users into the store and set their enrollment status.

A user with a phone number becomes `pending`, a user without one becomes
`not_enrolled` (AD alone decides their logins, like the MFA Server's users
"imported disabled"), and an `enrolled` user keeps their enrollment either way.
Running the import again changes only what changed in AD. Users in the store
that the search no longer returns are reported, and deleted only on request.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Iterable

from factorgate.config import ImportConfig
from factorgate.directory.adclient import AdClient, AdUser
from factorgate.directory.phones import normalize_phone
from factorgate.store.base import EnrollmentStatus, Store, UserRecord

log = logging.getLogger("factorgate.directory")


class UserImportError(Exception):
    """The import cannot go on; the message gives the reason and the fix."""


@dataclass
class ImportSummary:
    """Counts and missing users of one import, or of what a dry run would write."""

    pending: int = 0
    not_enrolled: int = 0
    enrolled_kept: int = 0
    added: int = 0
    changed: int = 0    # users added or whose stored record differs from AD's
    missing: list[UserRecord] = field(default_factory=list)   # in the store, not in the search result
    pruned: int = 0
    prune: bool = False
    dry_run: bool = False

    @property
    def imported(self) -> int:
        return self.pending + self.not_enrolled + self.enrolled_kept

    def to_json(self) -> dict:
        """The summary for scripts: `changed` counts writes, so a second import reports 0."""
        return {
            "imported": self.imported,
            "pending": self.pending,
            "not_enrolled": self.not_enrolled,
            "enrolled_kept": self.enrolled_kept,
            "added": self.added,
            "changed": self.changed + self.pruned,
            "missing": [user.sam_account_name for user in self.missing],
            "pruned": self.pruned,
            "dry_run": self.dry_run,
        }

    def describe(self) -> list[str]:
        """Return the lines `users import` prints."""
        lines = [
            f"imported {self.imported} users: {self.pending} pending, {self.not_enrolled} not enrolled,"
            f" {self.enrolled_kept} enrolled kept ({self.added} new)"
        ]
        if self.missing:
            if self.prune:
                verb = "would be deleted" if self.dry_run else "deleted"
            else:
                verb = "kept"
            lines.append(f"{len(self.missing)} users in the store are no longer found in AD ({verb}):")
            lines.extend(f"  {user.sam_account_name} ({user.status.value}) {user.dn}" for user in self.missing)
            if not self.prune:
                lines.append("run `factorgate users import --prune` to delete them")
        if self.dry_run:
            lines.append("dry run: nothing was written to the store")
        return lines


def plan_status(existing: UserRecord | None, phone: str) -> EnrollmentStatus:
    """Return the status an imported user gets: enrolled stays, else the phone decides."""
    if existing is not None and existing.status is EnrollmentStatus.ENROLLED:
        return EnrollmentStatus.ENROLLED
    return EnrollmentStatus.PENDING if phone else EnrollmentStatus.NOT_ENROLLED


def to_record(user: AdUser, domain: str, status: EnrollmentStatus) -> UserRecord:
    return UserRecord(
        guid=user.guid,
        dn=user.dn,
        sam_account_name=user.sam_account_name,
        user_principal_name=user.user_principal_name,
        domain=domain,
        phone=user.phone,
        status=status,
    )


def import_users(store: Store, users: Iterable[AdUser], domain: str, *,
                 dry_run: bool = False, prune: bool = False) -> ImportSummary:
    """Write `users` into `store`, then report (and with `prune`, delete) the users not seen.

    `users` must be the complete result of the import search: anything in the
    store that it lacks counts as gone from AD.

    Raises:
        UserImportError: `prune` was asked for but the search returned no user,
            which points at a wrong base DN or filter rather than an empty domain.
    """
    summary = ImportSummary(prune=prune, dry_run=dry_run)
    seen: set[str] = set()

    for user in users:
        if user.guid in seen:
            continue
        seen.add(user.guid)
        existing = store.get_user(user.guid)
        status = plan_status(existing, user.phone)
        count_user(summary, existing, status)
        record = to_record(user, domain, status)
        if existing != record:
            summary.changed += 1
        if not dry_run:
            store.upsert_user(record)

    summary.missing = [record for record in store.list_users() if record.guid not in seen]
    if prune and summary.missing:
        if not seen:
            raise UserImportError(
                "cannot prune: the AD search returned no users, so pruning would delete every user;"
                " check import.base_dn and import.filter"
            )
        if not dry_run:
            summary.pruned = sum(1 for record in summary.missing if store.delete_user(record.guid))
            log.info("pruned %d users no longer found in AD", summary.pruned)
    return summary


def count_user(summary: ImportSummary, existing: UserRecord | None, status: EnrollmentStatus) -> None:
    if existing is None:
        summary.added += 1
    if status is EnrollmentStatus.ENROLLED:
        summary.enrolled_kept += 1
    elif status is EnrollmentStatus.PENDING:
        summary.pending += 1
    else:
        summary.not_enrolled += 1


def run_import(store: Store, client: AdClient, settings: ImportConfig, domain: str, *,
               dry_run: bool = False, prune: bool = False) -> ImportSummary:
    """Search AD with the `import:` settings and import every user found."""
    users = client.search_users(settings.base_dn, settings.filter, settings.phone_attributes, settings.page_size)
    # Read the whole result first: a search that fails half-way must not
    # leave users looking "gone" to the prune step.
    found = [with_normalized_phone(user, settings.phone_region) for user in users]
    log.info("AD search under %s returned %d users", settings.base_dn, len(found))
    summary = import_users(store, found, domain, dry_run=dry_run, prune=prune)
    if not dry_run:
        changed = store.set_import_methods([user.guid for user in found], settings.default_method, time.time())
        log.info("default method %s set for %d users; methods set with `users set-method` are kept",
                 settings.default_method, changed)
    return summary


def with_normalized_phone(user: AdUser, region: str) -> AdUser:
    """Return the user with their phone number in E.164 form (see directory.phones)."""
    phone = normalize_phone(user.phone, region, user.sam_account_name)
    return user if phone == user.phone else dataclasses.replace(user, phone=phone)
