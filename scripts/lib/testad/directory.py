"""The seeded directory: domain names, accounts, groups and their passwords.

Every password here is a fixed test value for a directory that listens only
on 127.0.0.2. Each one meets AD's default complexity rule (three of upper
case, lower case, digits and symbols, and no part of the account or display
name), so Samba accepts it on add.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

REALM = "CORP.EXAMPLE.TEST"
DNS_DOMAIN = "corp.example.test"
NETBIOS_DOMAIN = "CORP"
DC_HOST_NAME = "DC1"
BASE_DN = "DC=corp,DC=example,DC=test"
ADDRESS = "127.0.0.2"

ADMIN_DN = f"CN=Administrator,CN=Users,{BASE_DN}"
ADMIN_PASSWORD = "Adm1n-Pass-2024!"

STAFF_OU = f"OU=Staff,{BASE_DN}"
SERVICE_ACCOUNTS_OU = f"OU=Service Accounts,{BASE_DN}"
GROUPS_OU = f"OU=Groups,{BASE_DN}"
BENCH_OU = f"OU=Bench,{BASE_DN}"
ORGANIZATIONAL_UNITS = (STAFF_OU, SERVICE_ACCOUNTS_OU, GROUPS_OU)

# Domain-wide lockout policy. Because the duration and the observation window
# are short, a test that sends too many bad passwords for alice locks her for
# one minute only. `test-ad up` also unlocks every seeded account except
# `locked`. A password settings object (PSO) keeps `locked` locked for
# LOCKED_USER_DURATION_MINUTES.
LOCKOUT_THRESHOLD = 5
LOCKOUT_DURATION_MINUTES = 1
LOCKOUT_OBSERVATION_MINUTES = 1
LOCKED_USER_PSO = "FG-Lockout-Test"
LOCKED_USER_DURATION_MINUTES = 99999

# Raise this when USERS or GROUPS gain entries: `up` then adds the missing
# entries to a directory seeded by an older version.
SEED_VERSION = 2
PASSWORD_CHANGE_USER = "pwchange"

BULK_GROUP = "FG-Bench"
BULK_PASSWORD = "Load-Test-Pw-2024!"
BULK_PREFIX = "bench"

# userAccountControl flags (MS-ADTS 2.2.16).
UAC_ACCOUNTDISABLE = 0x0002
UAC_NORMAL_ACCOUNT = 0x0200
UAC_DONT_EXPIRE_PASSWORD = 0x10000


@dataclass(frozen=True)
class User:
    """An account that `test-ad up` seeds, and the bind result to expect."""

    sam: str
    given_name: str
    surname: str
    password: str
    ou: str = STAFF_OU
    mobile: str | None = None
    expect: str = "ok"  # ok | must_change | disabled | locked

    @property
    def cn(self) -> str:
        return f"{self.given_name} {self.surname}".strip()

    @property
    def dn(self) -> str:
        return f"CN={self.cn},{self.ou}"

    @property
    def upn(self) -> str:
        return f"{self.sam}@{DNS_DOMAIN}"


@dataclass(frozen=True)
class Group:
    """A global security group and its direct members (DNs)."""

    key: str
    name: str
    members: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dn(self) -> str:
        return f"CN={self.name},{GROUPS_OU}"


USERS: tuple[User, ...] = (
    User("alice", "Alice", "Anders", "Vpn-Blue-Harbor-17", mobile="+1 555 0100"),
    User("bob", "Bob", "Berger", "Vpn-Green-Forest-23"),
    User("carol", "Carol", "Castillo", "Call-Red-Mountain-31", mobile="+1 555 0102"),
    User("dora", "Dora", "Dürr", "Grüße-Straße-€42", mobile="+49 30 5550103"),
    User("mustchange", "Mia", "Neumann", "Temp-Issued-Pw-2024!",
         mobile="+1 555 0104", expect="must_change"),
    User("disabled", "Dirk", "Ohnesorg", "Switched-Off-Pw-2024!",
         mobile="+1 555 0105", expect="disabled"),
    User("locked", "Lena", "Sperling", "Frozen-Door-Pw-2024!",
         mobile="+1 555 0106", expect="locked"),
    # For tests of password changes through the proxy. They change it and
    # restore it with ad_env.reset_password, so other users stay stable.
    User("pwchange", "Paul", "Wechsler", "Rotate-Me-Pw-2024!", mobile="+1 555 0107"),
    User("svc-netscaler", "svc-netscaler", "", "Gw-Bind-Account-2024!",
         ou=SERVICE_ACCOUNTS_OU),
    User("svc-factorgate", "svc-factorgate", "", "Lookup-Reader-2024!",
         ou=SERVICE_ACCOUNTS_OU),
)

USERS_BY_SAM = {user.sam: user for user in USERS}
LOOKUP_USER = USERS_BY_SAM["svc-factorgate"]

VPN_STAFF = Group(
    "vpn_staff", "FG-VPN-Staff",
    (USERS_BY_SAM["alice"].dn, USERS_BY_SAM["bob"].dn),
)
# Groups are listed in the order they must be created: a member must exist
# before a group can reference it.
GROUPS: tuple[Group, ...] = (
    VPN_STAFF,
    Group("mfa_users", "FG-MFA-Users", (VPN_STAFF.dn,)),
    Group("exempt", "FG-Exempt", (USERS_BY_SAM["svc-netscaler"].dn,)),
)


def encode_unicode_pwd(password: str) -> str:
    """Encode a password as AD's unicodePwd value for LDIF (base64).

    AD expects the password in double quotes, encoded as UTF-16LE.
    """
    quoted = f'"{password}"'.encode("utf-16-le")
    return base64.b64encode(quoted).decode("ascii")


def ldif_value(name: str, value: str) -> str:
    """Format one LDIF attribute line, base64-encoding non-ASCII values."""
    if value.isascii() and not value.startswith((" ", ":", "<")):
        return f"{name}: {value}"
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    return f"{name}:: {encoded}"


def build_ou_ldif(dn: str) -> str:
    return f"dn: {dn}\nchangetype: add\nobjectClass: organizationalUnit\n"


def build_user_ldif(user: User) -> str:
    """Build the add record of a seeded user, with password and flags."""
    control = UAC_NORMAL_ACCOUNT | UAC_DONT_EXPIRE_PASSWORD
    if user.expect == "disabled":
        control |= UAC_ACCOUNTDISABLE
    if user.expect == "must_change":
        # Samba 4.17 ignores pwdLastSet=0 while DONT_EXPIRE_PASSWORD is set.
        control &= ~UAC_DONT_EXPIRE_PASSWORD

    lines = [
        ldif_value("dn", user.dn),
        "changetype: add",
        "objectClass: user",
        ldif_value("sAMAccountName", user.sam),
        ldif_value("userPrincipalName", user.upn),
        ldif_value("displayName", user.cn),
        f"unicodePwd:: {encode_unicode_pwd(user.password)}",
        f"userAccountControl: {control}",
    ]
    if user.surname:
        # A person; service accounts have neither given name nor surname.
        lines.append(ldif_value("givenName", user.given_name))
        lines.append(ldif_value("sn", user.surname))
    if user.ou == STAFF_OU:
        lines.append(ldif_value("mail", user.upn))
    if user.mobile:
        lines.append(ldif_value("mobile", user.mobile))
    if user.expect == "must_change":
        lines.append("pwdLastSet: 0")
    return "\n".join(lines) + "\n"


def build_group_ldif(name: str, dn: str, members: tuple[str, ...] | list[str]) -> str:
    lines = [
        ldif_value("dn", dn),
        "changetype: add",
        "objectClass: group",
        ldif_value("sAMAccountName", name),
    ]
    lines.extend(ldif_value("member", member) for member in members)
    return "\n".join(lines) + "\n"


def build_pso_apply_ldif(pso_name: str, target_dn: str) -> str:
    """Build a modify record that applies a PSO to one more account."""
    pso_dn = f"CN={pso_name},CN=Password Settings Container,CN=System,{BASE_DN}"
    return (
        f"{ldif_value('dn', pso_dn)}\nchangetype: modify\n"
        f"add: msDS-PSOAppliesTo\n{ldif_value('msDS-PSOAppliesTo', target_dn)}\n-\n"
    )


def bulk_user(index: int) -> User:
    """Return bench user number `index` (1-based): bench00001, bench00002, ..."""
    sam = f"{BULK_PREFIX}{index:05d}"
    return User(
        sam, "Bench", f"User {index:05d}", BULK_PASSWORD,
        ou=BENCH_OU, mobile=f"+1 555 {index:07d}",
    )


def bulk_group_dn() -> str:
    return f"CN={BULK_GROUP},{GROUPS_OU}"


def build_facts(ca_file: str, bulk_count: int) -> dict:
    """Build the content of ad.json, the facts that tests read."""
    return {
        "url": f"ldap://{ADDRESS}:389",
        "ldaps_url": f"ldaps://{ADDRESS}:636",
        "ca_file": ca_file,
        "base_dn": BASE_DN,
        "realm": REALM,
        "dns_domain": DNS_DOMAIN,
        "netbios_domain": NETBIOS_DOMAIN,
        "admin_dn": ADMIN_DN,
        "admin_password": ADMIN_PASSWORD,
        "lookup_dn": LOOKUP_USER.dn,
        "lookup_password": LOOKUP_USER.password,
        "password_change_user": PASSWORD_CHANGE_USER,
        "users": {
            user.sam: {
                "dn": user.dn,
                "upn": user.upn,
                "password": user.password,
                "mobile": user.mobile,
                "expect": user.expect,
            }
            for user in USERS
        },
        "groups": {group.key: group.dn for group in GROUPS},
        "ous": {
            "staff": STAFF_OU,
            "service_accounts": SERVICE_ACCOUNTS_OU,
            "groups": GROUPS_OU,
            "bench": BENCH_OU,
        },
        "bulk": {
            "count": bulk_count,
            "password": BULK_PASSWORD,
            "group": bulk_group_dn(),
            "prefix": BULK_PREFIX,
        },
        "lockout_threshold": LOCKOUT_THRESHOLD,
        "lockout_duration_minutes": LOCKOUT_DURATION_MINUTES,
        "lockout_observation_minutes": LOCKOUT_OBSERVATION_MINUTES,
    }
