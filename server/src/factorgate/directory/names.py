"""Login names: turn what a client sent into keys the store can look up.

AD accepts four forms in a simple bind: a DN, a UPN (`user@suffix`), the
down-level `DOMAIN\\user`, and a bare sAMAccountName. The name itself always
goes to AD exactly as the client sent it; these keys only find the user.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoginName:
    kind: str       # "dn" | "upn" | "downlevel" | "sam"
    keys: tuple[str, ...]   # store keys to try, in order


def normalize_dn(dn: str) -> str:
    """Lower-case a DN and drop the blanks around RDN separators."""
    parts = []
    for rdn in split_dn(dn):
        attr, _, value = rdn.partition("=")
        parts.append(f"{attr.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def split_dn(dn: str) -> list[str]:
    """Split a DN on unescaped commas (RFC 4514 escaping)."""
    rdns, current, escaped = [], [], False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            rdns.append("".join(current))
            current = []
        else:
            current.append(char)
    rdns.append("".join(current))
    return [rdn for rdn in rdns if rdn.strip()]


def dn_key(dn: str) -> str:
    return "dn:" + normalize_dn(dn)


def sam_key(sam: str) -> str:
    return "sam:" + sam.strip().lower()


def upn_key(upn: str) -> str:
    return "upn:" + upn.strip().lower()


def parse_login(login: str, netbios_domain: str = "", upn_suffixes: tuple[str, ...] = ()) -> LoginName | None:
    """Classify a login name and return the store keys that may match it.

    Returns None for a name that cannot belong to this domain (a down-level
    name with another domain, or an empty name).
    """
    name = login.strip()
    if not name:
        return None

    if "=" in name:
        return LoginName("dn", (dn_key(name),))

    if "\\" in name:
        domain, _, sam = name.partition("\\")
        if netbios_domain and domain.lower() != netbios_domain.lower():
            return None
        return LoginName("downlevel", (sam_key(sam),))

    if "@" in name:
        user, _, suffix = name.rpartition("@")
        keys = [upn_key(name)]
        if suffix.lower() in {s.lower() for s in upn_suffixes}:
            keys.append(sam_key(user))   # AD also accepts sAMAccountName@realm
        return LoginName("upn", tuple(keys))

    return LoginName("sam", (sam_key(name),))


def user_keys(dn: str, sam_account_name: str, user_principal_name: str = "") -> tuple[str, ...]:
    """Return every store key under which a user can be found."""
    keys = [dn_key(dn), sam_key(sam_account_name)]
    if user_principal_name:
        keys.append(upn_key(user_principal_name))
    return tuple(keys)


def ad_bind_name(login: bytes, netbios_domain: str) -> bytes:
    """Return the name to bind to AD with for a login a NAS sent over RADIUS.

    AD's simple bind takes a DN, a UPN or `DOMAIN\\user`, but not a bare
    sAMAccountName, while users at a VPN or Wi-Fi prompt usually type just
    that. A bare name therefore gets the NetBIOS domain in front; every other
    form goes to AD exactly as received.
    """
    if not netbios_domain or any(marker in login for marker in (b"@", b"\\", b"=")):
        return login
    return netbios_domain.encode("utf-8") + b"\\" + login
