"""Seed the test AD with its users and groups, and keep lockout states right."""

from __future__ import annotations

from testad import directory
from testad.ldaptools import Connection, bind_outcome, modify, search
from testad.samba import log

# msDS-User-Account-Control-Computed flag of a locked-out account.
UF_LOCKOUT = 0x0010


def admin_connection(ca_file: str) -> Connection:
    return Connection(
        f"ldap://{directory.ADDRESS}:389", ca_file,
        directory.ADMIN_DN, directory.ADMIN_PASSWORD, starttls=True,
    )


def existing_dns(connection: Connection, base: str, ldap_filter: str) -> set[str]:
    """Return the lower-cased DNs of the entries below `base` that match."""
    entries = search(connection, base, ldap_filter, ["1.1"])
    return {entry["dn"][0].lower() for entry in entries}


def seed_users(connection: Connection) -> int:
    """Add the OUs, users and groups that are missing; return how many were added.

    Passwords travel over StartTLS, as AD requires for unicodePwd.
    """
    present = existing_dns(connection, directory.BASE_DN, "(|(objectClass=user)(objectClass=group)(objectClass=organizationalUnit))")
    records: list[str] = []
    for ou in directory.ORGANIZATIONAL_UNITS:
        if ou.lower() not in present:
            records.append(directory.build_ou_ldif(ou))
    for user in directory.USERS:
        if user.dn.lower() in present:
            continue
        records.append(directory.build_user_ldif(user))
        if user.expect == "locked":
            records.append(directory.build_pso_apply_ldif(directory.LOCKED_USER_PSO, user.dn))
    for group in directory.GROUPS:
        if group.dn.lower() not in present:
            records.append(directory.build_group_ldif(group.name, group.dn, group.members))
    if records:
        modify(connection, "\n".join(records))
    return len(records)


def unlock_seeded_users(connection: Connection) -> list[str]:
    """Clear lockoutTime of every locked account except `locked`.

    Writing 0 to lockoutTime is how an administrator unlocks an AD account.
    """
    ldap_filter = "(&(objectCategory=person)(lockoutTime>=1)(!(sAMAccountName=locked)))"
    entries = search(connection, directory.BASE_DN, ldap_filter, ["sAMAccountName"])
    records = [
        f"{directory.ldif_value('dn', entry['dn'][0])}\nchangetype: modify\n"
        "replace: lockoutTime\nlockoutTime: 0\n-\n"
        for entry in entries
    ]
    if records:
        modify(connection, "\n".join(records))
    return [entry["samaccountname"][0] for entry in entries]


def ensure_locked_user_locked(connection: Connection) -> bool:
    """Lock `locked` by binding with a wrong password until AD locks it.

    Returns True when the account had to be locked again.
    """
    user = directory.USERS_BY_SAM["locked"]
    entries = search(connection, user.dn, "(objectClass=user)",
                     ["msDS-User-Account-Control-Computed"], scope="base")
    computed = int(entries[0].get("msds-user-account-control-computed", ["0"])[0])
    if computed & UF_LOCKOUT:
        return False

    wrong = Connection(connection.url, connection.ca_file, user.dn, "wrong-Password-1",
                       starttls=connection.starttls)
    for _ in range(directory.LOCKOUT_THRESHOLD):
        bind_outcome(wrong)
    outcome = bind_outcome(Connection(connection.url, connection.ca_file, user.dn,
                                      user.password, starttls=connection.starttls))
    if outcome != "775":
        raise RuntimeError(
            f"user 'locked' is not locked out after {directory.LOCKOUT_THRESHOLD} wrong "
            f"passwords: a bind returned {outcome!r}, expected AD sub-code 775"
        )
    log("locked the user 'locked'")
    return True


def seed_bulk(connection: Connection, count: int) -> int:
    """Add bench users 1..count and the FG-Bench group; return how many were added.

    Existing bench users are kept, so the call is idempotent.
    """
    present = existing_dns(connection, directory.BASE_DN, "(|(objectClass=organizationalUnit)(objectClass=group)(sAMAccountName=bench*))")
    records: list[str] = []
    if directory.BENCH_OU.lower() not in present:
        records.append(directory.build_ou_ldif(directory.BENCH_OU))
    users = [directory.bulk_user(index) for index in range(1, count + 1)]
    missing = [user for user in users if user.dn.lower() not in present]
    records.extend(directory.build_user_ldif(user) for user in missing)

    group_dn = directory.bulk_group_dn()
    if group_dn.lower() not in present:
        records.append(directory.build_group_ldif(
            directory.BULK_GROUP, group_dn, [user.dn for user in users]))
    elif missing:
        members = "".join(
            directory.ldif_value("member", user.dn) + "\n" for user in missing)
        records.append(
            f"{directory.ldif_value('dn', group_dn)}\nchangetype: modify\n"
            f"add: member\n{members}-\n"
        )
    if records:
        modify(connection, "\n".join(records))
    return len(missing)
