"""Configuration: load the YAML file, apply defaults, validate every key.

`load_config` reads the file once, checks all of it and raises `ConfigError`
with one line per problem, so an operator fixes everything in one round. Each
line names the key path, the problem, the value found (never a secret's value)
and, where one exists, the fix:

    ldap.listen[1].port: must be between 1 and 65535 (got 70000)

The defaults are those of `server/examples/factorgate.yml`; both must change
together. The site-specific keys `directory.servers`, `directory.base_dn`,
`directory.netbios_domain` and `directory.bind_dn` have no default in a loaded
file: the dataclass defaults are example values for tests that build a
`Config` directly, and a file that leaves one of these keys out is an error.
Values that are valid but weaken security (certificate checks off,
clients allowed cleartext binds or SASL pass-through) are not errors: they are
returned by `Config.warnings()` for `check-config` and start-up to report.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import ssl
import stat
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from factorgate.factors.settings import FactorsConfig

import yaml

DEFAULT_CONFIG_PATH = "/etc/factorgate/factorgate.yml"
DATABASE_FILE_NAME = "factorgate.db"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOG_LEVELS = ("debug", "info", "warning", "error")
LISTENER_TLS_MODES = ("none", "ldaps")
MAX_TOTP_WINDOW = 10
FACTOR_METHODS = ("voice", "sms", "push", "totp", "hotp")   # as in factorgate.store.base


class ConfigError(Exception):
    """The configuration is invalid; `errors` has one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# --- the configuration values -------------------------------------------------


@dataclass(frozen=True)
class NodeConfig:
    name: str = "fg1"


@dataclass(frozen=True)
class PathsConfig:
    state_dir: Path = Path("/var/lib/factorgate")
    key_file: Path = Path("/etc/factorgate/secret.key")

    @property
    def database_file(self) -> Path:
        """The SQLite store inside `state_dir`."""
        return self.state_dir / DATABASE_FILE_NAME


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "info"


@dataclass(frozen=True)
class ListenerConfig:
    address: str
    port: int
    tls: str = "none"   # "none" (StartTLS offered when a certificate is set) | "ldaps"


@dataclass(frozen=True)
class LdapConfig:
    listen: tuple[ListenerConfig, ...] = (
        ListenerConfig("0.0.0.0", 389, "none"),
        ListenerConfig("0.0.0.0", 636, "ldaps"),
    )
    certificate: Path | None = Path("/etc/factorgate/tls/server.crt")
    private_key: Path | None = Path("/etc/factorgate/tls/server.key")
    require_tls: bool = True
    cleartext_clients: tuple[IPNetwork, ...] = ()
    sasl_passthrough_clients: tuple[IPNetwork, ...] = ()
    max_message_size: int = 1048576
    max_upstream_message_size: int = 16777216
    pending_requests: int = 16
    max_connections: int = 10000
    max_connections_per_client: int = 5000
    idle_timeout: float = 900
    drain_timeout: float = 30


@dataclass(frozen=True)
class DirectoryConfig:
    servers: tuple[str, ...] = ("ldaps://dc1.corp.example.test:636",)
    start_tls: bool = True
    verify_certificate: bool = True
    ca_file: Path | None = None
    connect_timeout: float = 5
    base_dn: str = "DC=corp,DC=example,DC=test"
    netbios_domain: str = "CORP"
    upn_suffixes: tuple[str, ...] = ("corp.example.test",)
    bind_dn: str = "CN=svc-factorgate,CN=Users,DC=corp,DC=example,DC=test"
    bind_password_file: Path = Path("/etc/factorgate/ad-bind.password")
    cache_ttl: float = 300

    def bind_password(self) -> bytes:
        """Read the look-up account's password from `bind_password_file`.

        Returns the file's octets with one trailing line break removed. The
        password is read on each call and not kept on this object, so no repr
        of the configuration contains it.

        Raises:
            OSError: the file cannot be read.
        """
        data = self.bind_password_file.read_bytes()
        return strip_line_break(data)


@dataclass(frozen=True)
class ExemptConfig:
    dns: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()


@dataclass(frozen=True)
class TotpConfig:
    window: int = 1
    issuer: str = "FactorGate"


@dataclass(frozen=True)
class MfaConfig:
    require_user_match: bool = False
    code_delimiter: str = ""
    exempt: ExemptConfig = field(default_factory=ExemptConfig)
    totp: TotpConfig = field(default_factory=TotpConfig)


@dataclass(frozen=True)
class ImportConfig:
    base_dn: str = "DC=corp,DC=example,DC=test"
    filter: str = "(&(objectCategory=person)(objectClass=user))"
    phone_attributes: tuple[str, ...] = ("mobile", "telephoneNumber")
    page_size: int = 500
    phone_region: str = "US"          # region for numbers written without a +country code
    default_method: str = "totp"      # method of imported users that no administrator set


RADIUS_OTP_MODES = ("challenge", "append", "code_only")
MIN_RADIUS_SECRET_LENGTH = 16          # below this, start-up warns (a GPU tries billions of MD5 a second)
RECOMMENDED_RADIUS_SECRET_LENGTH = 32
MAX_RADIUS_SECRET_LENGTH = 256


@dataclass(frozen=True)
class RadiusListenerConfig:
    address: str
    port: int


@dataclass(frozen=True)
class GroupReplyConfig:
    """Reply attributes added to an Access-Accept when the user is a (nested) member of `group`."""

    group: str
    attributes: tuple[tuple[int, bytes], ...]   # (type, value) pairs, Vendor-Specific already encoded


@dataclass(frozen=True)
class RadiusClientConfig:
    """One NAS allowed to send requests, matched by source address."""

    name: str
    network: IPNetwork
    secret: bytes = field(repr=False)
    secret_file: Path | None = None
    require_message_authenticator: bool = True
    limit_proxy_state: bool = True
    otp_mode: str = "challenge"
    code_only_allowed: bool = False
    reply_attributes_by_group: tuple[GroupReplyConfig, ...] = ()


@dataclass(frozen=True)
class RadiusConfig:
    listen: tuple[RadiusListenerConfig, ...] = (
        RadiusListenerConfig("0.0.0.0", 1812),
        RadiusListenerConfig("0.0.0.0", 1645),
    )
    clients: tuple[RadiusClientConfig, ...] = ()
    retransmit_cache_entries: int = 65536
    retransmit_cache_ttl: float = 90
    state_ttl: float = 120
    max_pending_challenges: int = 65536
    bind_pool_size: int = 8

    @property
    def enabled(self) -> bool:
        """The RADIUS listeners run only when at least one client is configured."""
        return bool(self.clients)


@dataclass(frozen=True)
class Config:
    node: NodeConfig = field(default_factory=NodeConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    ldap: LdapConfig = field(default_factory=LdapConfig)
    directory: DirectoryConfig = field(default_factory=DirectoryConfig)
    mfa: MfaConfig = field(default_factory=MfaConfig)
    import_: ImportConfig = field(default_factory=ImportConfig)   # the `import:` section
    radius: RadiusConfig = field(default_factory=RadiusConfig)
    factors: FactorsConfig = field(default_factory=lambda: default_factors())
    source: Path | None = None

    def warnings(self) -> list[str]:
        """List the valid but insecure settings, one line each."""
        found = self.factors.warnings()
        if not self.directory.verify_certificate:
            found.append(
                "directory.verify_certificate: is false, so anyone on the path to AD can read"
                " the passwords FactorGate checks; set it to true and set directory.ca_file"
            )
        cleartext_servers = [url for url in self.directory.servers if url.lower().startswith("ldap://")]
        if cleartext_servers and not self.directory.start_tls:
            found.append(
                "directory.start_tls: is false, so passwords go to "
                + ", ".join(cleartext_servers)
                + " in cleartext; set it to true or use ldaps:// URLs"
            )
        for index, network in enumerate(self.ldap.cleartext_clients):
            found.append(
                f"ldap.cleartext_clients[{index}]: {network} may send passwords without TLS"
            )
        for index, network in enumerate(self.ldap.sasl_passthrough_clients):
            found.append(
                f"ldap.sasl_passthrough_clients[{index}]: SASL binds from {network} are relayed"
                " to AD without a second factor"
            )
        found.extend(radius_warnings(self.radius))
        return found


def radius_warnings(radius: RadiusConfig) -> list[str]:
    """List the RADIUS settings that are valid but weaken security."""
    found = []
    for index, client in enumerate(radius.clients):
        key_path = f"radius.clients[{index}]"
        if len(client.secret) < MIN_RADIUS_SECRET_LENGTH:
            found.append(
                f"{key_path}.secret: has {len(client.secret)} octets; an MD5 search recovers secrets this short,"
                f" so use at least {RECOMMENDED_RADIUS_SECRET_LENGTH} random octets (minimum {MIN_RADIUS_SECRET_LENGTH})"
            )
        if not client.require_message_authenticator:
            found.append(
                f"{key_path}.require_message_authenticator: is false, so client {client.name!r} is open to"
                " Blast-RADIUS (CVE-2024-3596); switch Message-Authenticator on in the NAS and set this to true"
            )
    return found


def strip_line_break(data: bytes) -> bytes:
    """Remove one trailing LF or CRLF, as editors add one at the end of a file."""
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


# --- loading ------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, validate and return the configuration in `path`.

    Raises:
        ConfigError: the file cannot be read or parsed, or any key is invalid.
            `errors` lists every problem found.
    """
    path = Path(path)
    document = read_document(path)
    checker = Checker()
    config = build_config(checker, document, path)
    if checker.errors:
        raise ConfigError(checker.errors)
    return config


def read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: configuration file not found; pass the right one with -c PATH"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the configuration file ({describe_os_error(error)})"]) from None

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: invalid YAML: {describe_yaml_error(error)}"]) from None

    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of sections (got {type_name(document)})"])
    return document


def describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return problem
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def describe_os_error(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


# --- checking helpers ---------------------------------------------------------


SECRET_KEY_PATTERN = re.compile(r"password|secret|token", re.IGNORECASE)


def format_value(value: Any) -> str:
    """Format a value for an error line the way YAML would spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def is_secret_key(key_path: str) -> bool:
    """True for a key whose value would be a secret (and so is never echoed)."""
    last = key_path.rsplit(".", 1)[-1]
    return bool(SECRET_KEY_PATTERN.search(last)) and not last.endswith("_file")


class Checker:
    """Collects error lines and checks values against one expected shape each."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, key_path: str, problem: str, value: Any = None, *, show_value: bool = True, fix: str = "") -> None:
        line = f"{key_path}: {problem}"
        if show_value and not is_secret_key(key_path):
            line += f" (got {format_value(value)})"
        if fix:
            line += f"; {fix}"
        self.errors.append(line)

    def section(self, key_path: str, value: Any, known: tuple[str, ...]) -> dict[str, Any]:
        """Return a mapping's items after reporting unknown keys; {} if not a mapping."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(key_path, f"must be a mapping (got {type_name(value)})", show_value=False)
            return {}
        for key in value:
            if key not in known:
                self.report_unknown_key(key_path, key, known)
        return value

    def report_unknown_key(self, key_path: str, key: Any, known: tuple[str, ...]) -> None:
        where = f"{key_path}.{key}" if key_path else str(key)
        suggestions = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if suggestions:
            fix = f"did you mean {suggestions[0]!r}?"
        else:
            fix = "known keys: " + ", ".join(known)
        self.errors.append(f"{where}: unknown key; {fix}")

    def boolean(self, key_path: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        self.error(key_path, "must be true or false", value)
        return None

    def string(self, key_path: str, value: Any, *, allow_empty: bool = True) -> str | None:
        if not isinstance(value, str):
            self.error(key_path, f"must be a string (got {type_name(value)})", show_value=False)
            return None
        if not allow_empty and not value.strip():
            self.error(key_path, "must not be empty", value)
            return None
        return value

    def integer(self, key_path: str, value: Any, minimum: int, maximum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key_path, f"must be an integer between {minimum} and {maximum}", value)
            return None
        if not minimum <= value <= maximum:
            self.error(key_path, f"must be between {minimum} and {maximum}", value)
            return None
        return value

    def number(self, key_path: str, value: Any, minimum: float, maximum: float, unit: str = "") -> float | None:
        suffix = f" {unit}" if unit else ""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(key_path, f"must be a number between {minimum:g} and {maximum:g}{suffix}", value)
            return None
        if not minimum <= value <= maximum:
            self.error(key_path, f"must be between {minimum:g} and {maximum:g}{suffix}", value)
            return None
        return value

    def choice(self, key_path: str, value: Any, choices: tuple[str, ...]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            self.error(key_path, "must be one of " + ", ".join(choices), value)
            return None
        return value

    def items(self, key_path: str, value: Any) -> list[Any]:
        """Return a list's items; an empty list (and an error) if it is not a list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(key_path, "must be a list", value)
            return []
        return value

    def string_list(self, key_path: str, value: Any, check: Callable[[str, str], str | None] | None = None) -> tuple[str, ...]:
        result = []
        for index, item in enumerate(self.items(key_path, value)):
            item_path = f"{key_path}[{index}]"
            text = self.string(item_path, item, allow_empty=False)
            if text is not None and check is not None:
                text = check(item_path, text)
            if text is not None:
                result.append(text)
        return tuple(result)

    # --- value syntax ---

    def address(self, key_path: str, value: Any) -> str | None:
        text = self.string(key_path, value, allow_empty=False)
        if text is None:
            return None
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            self.error(key_path, "must be an IPv4 or IPv6 address", text,
                       fix="use 0.0.0.0 or :: for every interface")
            return None

    def network(self, key_path: str, value: Any) -> IPNetwork | None:
        """Parse a CIDR, rejecting host bits: `10.0.0.5/8` is a typo more often than not."""
        text = self.string(key_path, value, allow_empty=False)
        if text is None:
            return None
        try:
            return ipaddress.ip_network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            self.error(key_path, "must be an address or a network in CIDR notation such as 192.0.2.0/24", text)
            return None
        host = text.split("/")[0]
        self.error(key_path, "has host bits set", text,
                   fix=f"write {loose} for the network, or {host}/{loose.max_prefixlen} for one host")
        return None

    def ldap_url(self, key_path: str, value: Any) -> str | None:
        text = self.string(key_path, value, allow_empty=False)
        if text is None:
            return None
        problem = describe_ldap_url_problem(text)
        if problem:
            self.error(key_path, problem, text, fix="write ldaps://HOST[:PORT] or ldap://HOST[:PORT]")
            return None
        return text

    def dn(self, key_path: str, value: Any) -> str | None:
        text = self.string(key_path, value, allow_empty=False)
        if text is None:
            return None
        problem = describe_dn_problem(text)
        if problem:
            self.error(key_path, f"is not a valid DN: {problem}", text)
            return None
        return text

    def attribute_name(self, key_path: str, value: str) -> str | None:
        if ATTRIBUTE_NAME.fullmatch(value):
            return value
        self.error(key_path, "is not an LDAP attribute name", value)
        return None

    # --- files ---

    def readable_file(self, key_path: str, value: Any, *, private: bool = False, missing_fix: str = "") -> Path | None:
        """Check that a path names a readable regular file.

        With `private`, the file must also give group and others no access,
        because it contains a key or a password.
        """
        text = self.string(key_path, value, allow_empty=False)
        if text is None:
            return None
        path = Path(text)
        try:
            info = path.stat()
        except FileNotFoundError:
            self.error(key_path, "file not found", text, fix=missing_fix)
            return None
        except OSError as error:
            self.error(key_path, f"cannot read the file: {describe_os_error(error)}", text)
            return None
        if not stat.S_ISREG(info.st_mode):
            self.error(key_path, "is not a regular file", text)
            return None
        if not os.access(path, os.R_OK):
            self.error(key_path, "file is not readable by this user", text,
                       fix="run FactorGate as the file's owner or fix its permissions")
            return None
        if private and info.st_mode & 0o077:
            self.error(key_path, f"file is accessible by group or others (mode {stat.S_IMODE(info.st_mode):04o})",
                       text, fix=f"run: chmod 600 {text}")
        return path

    def directory_path(self, key_path: str, value: Any) -> Path | None:
        text = self.string(key_path, value, allow_empty=False)
        if text is None:
            return None
        path = Path(text)
        if not path.is_dir():
            self.error(key_path, "directory not found", text, fix="create it, owned by the service account")
            return None
        return path


ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-2](\.[0-9]+)+")
NETBIOS_FORBIDDEN = set('\\/:*?"<>|.')


def describe_ldap_url_problem(text: str) -> str:
    """Return why `text` is not an ldap:// or ldaps:// URL, or "" if it is one."""
    try:
        parsed = urllib.parse.urlsplit(text)
        port = parsed.port
    except ValueError:
        return "must be an ldap:// or ldaps:// URL with a valid port"
    if parsed.scheme not in ("ldap", "ldaps"):
        return "must start with ldap:// or ldaps://"
    if not parsed.hostname:
        return "has no host name"
    if port is not None and not 1 <= port <= 65535:
        return "port must be between 1 and 65535"
    if port is None and parsed.netloc.endswith(":"):
        return "has an empty port"
    if parsed.username is not None or parsed.password is not None:
        return "must not contain user information"
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        return "must have no path, query or fragment"
    return ""


def describe_dn_problem(dn: str) -> str:
    """Return why `dn` is not a plausible DN (RFC 4514, as AD writes it), or ""."""
    if dn.endswith("\\") and not dn.endswith("\\\\"):
        return "ends with a lone backslash"
    rdns = split_unescaped(dn, ",")
    if any(not rdn.strip() for rdn in rdns):
        return "has an empty RDN (two commas in a row, or a comma at an end)"
    for rdn in rdns:
        for part in split_unescaped(rdn, "+"):
            attribute, equals, value = part.partition("=")
            if not equals:
                return f"RDN {part.strip()!r} has no '='"
            if not ATTRIBUTE_NAME.fullmatch(attribute.strip()):
                return f"RDN {part.strip()!r} has an invalid attribute type"
            if not value.strip():
                return f"RDN {part.strip()!r} has an empty value"
    return ""


def split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def describe_filter_problem(text: str) -> str:
    """Return why `text` is not a plausible RFC 4515 filter, or ""."""
    if not (text.startswith("(") and text.endswith(")")):
        return "must be enclosed in parentheses"
    depth = 0
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and position != len(text) - 1:
                return "has text after the closing parenthesis"
        if depth < 0:
            return "has an unmatched ')'"
    if depth:
        return "has an unmatched '('"
    if "()" in text:
        return "has an empty filter item '()'"
    return ""


# --- building each section ----------------------------------------------------


SECTIONS = ("node", "paths", "logging", "ldap", "directory", "mfa", "import", "radius", "factors")


def build_config(checker: Checker, document: dict[str, Any], source: Path) -> Config:
    top = checker.section("", document, SECTIONS)
    # An empty key path makes an unknown top-level key read "nod: unknown key".
    directory = build_directory(checker, top.get("directory"))
    return Config(
        node=build_node(checker, top.get("node")),
        paths=build_paths(checker, top.get("paths")),
        logging=build_logging(checker, top.get("logging")),
        ldap=build_ldap(checker, top.get("ldap")),
        directory=directory,
        mfa=build_mfa(checker, top.get("mfa")),
        import_=build_import(checker, top.get("import"), directory.base_dn),
        radius=build_radius(checker, top.get("radius")),
        factors=build_factors_section(checker, top.get("factors")),
        source=source,
    )


def default_factors() -> FactorsConfig:
    from factorgate.factors.settings import FactorsConfig

    return FactorsConfig()


def build_factors_section(checker: Checker, raw: Any) -> FactorsConfig:
    # Imported here because factors.settings builds on this module's Checker.
    from factorgate.factors.settings import build_factors

    return build_factors(checker, raw)


def pick(values: dict[str, Any], key: str, default: Any, convert: Callable[[], Any]) -> Any:
    """Return `convert()` when `key` is present and valid, else the default."""
    if key not in values:
        return default
    result = convert()
    return default if result is None else result


def build_node(checker: Checker, raw: Any) -> NodeConfig:
    values = checker.section("node", raw, ("name",))
    default = NodeConfig()

    def convert_name() -> str | None:
        name = checker.string("node.name", values["name"], allow_empty=False)
        if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", name):
            checker.error("node.name", "must be 1 to 63 letters, digits, '.', '_' or '-'", name)
            return None
        return name

    return NodeConfig(name=pick(values, "name", default.name, convert_name))


def build_paths(checker: Checker, raw: Any) -> PathsConfig:
    values = checker.section("paths", raw, ("state_dir", "key_file"))
    state_dir = values.get("state_dir", str(PathsConfig.state_dir))
    key_file = values.get("key_file", str(PathsConfig.key_file))
    return PathsConfig(
        state_dir=checker.directory_path("paths.state_dir", state_dir) or PathsConfig.state_dir,
        key_file=checker.readable_file("paths.key_file", key_file, private=True,
                                       missing_fix=f"create it with: factorgate keygen {key_file}") or PathsConfig.key_file,
    )


def build_logging(checker: Checker, raw: Any) -> LoggingConfig:
    values = checker.section("logging", raw, ("level",))
    level = pick(values, "level", "info", lambda: checker.choice("logging.level", values["level"], LOG_LEVELS))
    return LoggingConfig(level=level)


LDAP_KEYS = (
    "listen", "certificate", "private_key", "require_tls", "cleartext_clients", "sasl_passthrough_clients",
    "max_message_size", "max_upstream_message_size", "pending_requests", "max_connections",
    "max_connections_per_client", "idle_timeout", "drain_timeout",
)


def build_ldap(checker: Checker, raw: Any) -> LdapConfig:
    values = checker.section("ldap", raw, LDAP_KEYS)
    default = LdapConfig()
    listen = build_listeners(checker, values["listen"]) if "listen" in values else default.listen

    def networks(key: str) -> tuple[IPNetwork, ...]:
        found = (checker.network(f"ldap.{key}[{i}]", item) for i, item in enumerate(checker.items(f"ldap.{key}", values.get(key))))
        return tuple(network for network in found if network is not None)

    require_tls = pick(values, "require_tls", default.require_tls,
                       lambda: checker.boolean("ldap.require_tls", values["require_tls"]))
    cleartext_clients = networks("cleartext_clients")
    certificate, private_key = build_server_certificate(checker, values, listen, require_tls, cleartext_clients)

    return LdapConfig(
        listen=listen,
        certificate=certificate,
        private_key=private_key,
        require_tls=require_tls,
        cleartext_clients=cleartext_clients,
        sasl_passthrough_clients=networks("sasl_passthrough_clients"),
        max_message_size=pick(values, "max_message_size", default.max_message_size,
                              lambda: checker.integer("ldap.max_message_size", values["max_message_size"], 1024, 2**28)),
        max_upstream_message_size=pick(values, "max_upstream_message_size", default.max_upstream_message_size,
                                       lambda: checker.integer("ldap.max_upstream_message_size",
                                                               values["max_upstream_message_size"], 1024, 2**30)),
        pending_requests=pick(values, "pending_requests", default.pending_requests,
                              lambda: checker.integer("ldap.pending_requests", values["pending_requests"], 1, 1024)),
        max_connections=pick(values, "max_connections", default.max_connections,
                             lambda: checker.integer("ldap.max_connections", values["max_connections"], 1, 1_000_000)),
        max_connections_per_client=pick(
            values, "max_connections_per_client", default.max_connections_per_client,
            lambda: checker.integer("ldap.max_connections_per_client", values["max_connections_per_client"], 1, 1_000_000)),
        idle_timeout=pick(values, "idle_timeout", default.idle_timeout,
                          lambda: checker.number("ldap.idle_timeout", values["idle_timeout"], 1, 86400, "seconds")),
        drain_timeout=pick(values, "drain_timeout", default.drain_timeout,
                           lambda: checker.number("ldap.drain_timeout", values["drain_timeout"], 0, 3600, "seconds")),
    )


def build_listeners(checker: Checker, raw: Any) -> tuple[ListenerConfig, ...]:
    items = checker.items("ldap.listen", raw)
    if isinstance(raw, list) and not items:
        checker.error("ldap.listen", "must have at least one listener", raw)
    listeners = []
    seen: dict[tuple[str, int], int] = {}
    for index, item in enumerate(items):
        key_path = f"ldap.listen[{index}]"
        values = checker.section(key_path, item, ("address", "port", "tls"))
        if not isinstance(item, dict):
            continue
        missing = [key for key in ("address", "port") if key not in values]
        for key in missing:
            checker.error(f"{key_path}.{key}", "is missing", show_value=False)
        address = checker.address(f"{key_path}.address", values["address"]) if "address" in values else None
        port = checker.integer(f"{key_path}.port", values["port"], 1, 65535) if "port" in values else None
        tls = pick(values, "tls", "none", lambda: checker.choice(f"{key_path}.tls", values["tls"], LISTENER_TLS_MODES))
        if address is None or port is None:
            continue
        if (address, port) in seen:
            checker.error(f"{key_path}", f"repeats ldap.listen[{seen[(address, port)]}]", f"{address}:{port}",
                          fix="give each listener its own address and port")
            continue
        seen[(address, port)] = index
        listeners.append(ListenerConfig(address, port, tls))
    return tuple(listeners)


def build_server_certificate(checker: Checker, values: dict[str, Any], listen: tuple[ListenerConfig, ...],
                             require_tls: bool, cleartext_clients: tuple[IPNetwork, ...]) -> tuple[Path | None, Path | None]:
    """Check the listeners' certificate and key, and whether TLS needs them.

    Listeners with `tls: ldaps` always need them. Listeners with `tls: none`
    need them for StartTLS when `require_tls` is on and no client is allowed
    cleartext binds, because no client could bind at all otherwise.
    """
    certificate_raw = values.get("certificate", str(LdapConfig.certificate))
    private_key_raw = values.get("private_key", str(LdapConfig.private_key))
    certificate_set = certificate_raw not in ("", None)
    private_key_set = private_key_raw not in ("", None)

    needed_by = ""
    ldaps = [i for i, listener in enumerate(listen) if listener.tls == "ldaps"]
    plain = [i for i, listener in enumerate(listen) if listener.tls == "none"]
    if ldaps:
        needed_by = f"ldap.listen[{ldaps[0]}] uses tls: ldaps"
    elif plain and require_tls and not cleartext_clients:
        needed_by = f"ldap.require_tls is true and ldap.listen[{plain[0]}] can only offer StartTLS"

    if needed_by and not certificate_set:
        checker.error("ldap.certificate", f"is required because {needed_by}", show_value=False,
                      fix="set a PEM certificate chain")
    if needed_by and not private_key_set:
        checker.error("ldap.private_key", f"is required because {needed_by}", show_value=False,
                      fix="set the PEM private key of ldap.certificate")
    if certificate_set != private_key_set and not needed_by:
        missing = "ldap.private_key" if certificate_set else "ldap.certificate"
        checker.error(missing, "must be set together with "
                      + ("ldap.certificate" if certificate_set else "ldap.private_key"), show_value=False)

    certificate = checker.readable_file("ldap.certificate", certificate_raw) if certificate_set else None
    private_key = checker.readable_file("ldap.private_key", private_key_raw, private=True) if private_key_set else None
    if certificate is not None and private_key is not None:
        check_certificate_pair(checker, certificate, private_key)
    return certificate, private_key


def check_certificate_pair(checker: Checker, certificate: Path, private_key: Path) -> None:
    """Load the chain and key as the listeners will, so a mismatch shows up before start-up."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificate, private_key)
    except ssl.SSLError as error:
        checker.error("ldap.certificate", f"cannot be loaded with ldap.private_key ({error.reason or error})",
                      str(certificate), fix="both must be PEM, and the key must belong to the first certificate")


def check_ca_file(checker: Checker, ca_file: Path) -> None:
    try:
        ssl.create_default_context(cafile=str(ca_file))
    except ssl.SSLError as error:
        checker.error("directory.ca_file", f"is not a PEM bundle of CA certificates ({error.reason or error})",
                      str(ca_file))


DIRECTORY_KEYS = (
    "servers", "start_tls", "verify_certificate", "ca_file", "connect_timeout", "base_dn", "netbios_domain",
    "upn_suffixes", "bind_dn", "bind_password_file", "cache_ttl",
)


# The fix printed when one of these site-specific keys is absent from the file.
REQUIRED_DIRECTORY_KEYS = {
    "servers": "list your domain controllers, such as [ldaps://dc1.corp.example.com:636]",
    "base_dn": "set it to the DN of your domain, such as DC=corp,DC=example,DC=com",
    "netbios_domain": "set it to the NetBIOS name of your domain, such as CORP",
    "bind_dn": "set it to the DN of the look-up account, such as CN=svc-factorgate,CN=Users,DC=corp,DC=example,DC=com",
}


def report_missing_directory_keys(checker: Checker, values: dict[str, Any]) -> None:
    for key, fix in REQUIRED_DIRECTORY_KEYS.items():
        if key not in values:
            checker.error(f"directory.{key}", "is missing", show_value=False, fix=fix)


def dns_domain_of(dn: str) -> str:
    """Return the DNS domain named by the DC= components of `dn`, or "" if it has none.

    `OU=Staff,DC=corp,DC=example,DC=com` gives `corp.example.com`.
    """
    labels = []
    for rdn in split_unescaped(dn, ","):
        attribute, _, value = rdn.partition("=")
        if attribute.strip().lower() == "dc" and value.strip():
            labels.append(value.strip())
    return ".".join(labels)


def build_directory(checker: Checker, raw: Any) -> DirectoryConfig:
    values = checker.section("directory", raw, DIRECTORY_KEYS)
    default = DirectoryConfig()
    report_missing_directory_keys(checker, values)

    servers = default.servers
    if "servers" in values:
        servers = checker.string_list("directory.servers", values["servers"], checker.ldap_url)
        if isinstance(values["servers"], list) and not values["servers"]:
            checker.error("directory.servers", "must list at least one domain controller", values["servers"])

    ca_file_raw = values.get("ca_file", "")
    ca_file = None
    if ca_file_raw not in ("", None):
        ca_file = checker.readable_file("directory.ca_file", ca_file_raw)
        if ca_file is not None:
            check_ca_file(checker, ca_file)

    bind_password_file = checker.readable_file(
        "directory.bind_password_file", values.get("bind_password_file", str(default.bind_password_file)),
        private=True, missing_fix="write the look-up account's password into it, mode 0600")
    if bind_password_file is not None:
        check_password_file_content(checker, bind_password_file)

    base_dn = pick(values, "base_dn", default.base_dn, lambda: checker.dn("directory.base_dn", values["base_dn"]))
    base_domain = dns_domain_of(base_dn)
    default_upn_suffixes = (base_domain,) if base_domain else ()

    return DirectoryConfig(
        servers=servers,
        start_tls=pick(values, "start_tls", default.start_tls,
                       lambda: checker.boolean("directory.start_tls", values["start_tls"])),
        verify_certificate=pick(values, "verify_certificate", default.verify_certificate,
                                lambda: checker.boolean("directory.verify_certificate", values["verify_certificate"])),
        ca_file=ca_file,
        connect_timeout=pick(values, "connect_timeout", default.connect_timeout,
                             lambda: checker.number("directory.connect_timeout", values["connect_timeout"], 0.1, 300, "seconds")),
        base_dn=base_dn,
        netbios_domain=pick(values, "netbios_domain", default.netbios_domain,
                            lambda: check_netbios_domain(checker, values["netbios_domain"])),
        upn_suffixes=pick(values, "upn_suffixes", default_upn_suffixes,
                          lambda: checker.string_list("directory.upn_suffixes", values["upn_suffixes"], check_upn_suffix(checker))),
        bind_dn=pick(values, "bind_dn", default.bind_dn, lambda: checker.dn("directory.bind_dn", values["bind_dn"])),
        bind_password_file=bind_password_file or default.bind_password_file,
        cache_ttl=pick(values, "cache_ttl", default.cache_ttl,
                       lambda: checker.number("directory.cache_ttl", values["cache_ttl"], 0, 86400, "seconds")),
    )


def check_password_file_content(checker: Checker, path: Path) -> None:
    """Reject an empty password file: AD takes an empty password as an anonymous bind."""
    try:
        password = strip_line_break(path.read_bytes())
    except OSError as error:
        checker.error("directory.bind_password_file", f"cannot read the file: {describe_os_error(error)}", str(path))
        return
    if not password:
        checker.error("directory.bind_password_file", "file is empty", str(path),
                      fix="write the look-up account's password into it")


def check_netbios_domain(checker: Checker, value: Any) -> str | None:
    name = checker.string("directory.netbios_domain", value)
    if name is None or name == "":
        return name
    if len(name) > 15 or NETBIOS_FORBIDDEN & set(name) or " " in name:
        checker.error("directory.netbios_domain",
                      "must be a NetBIOS domain name: at most 15 characters, no dots, blanks or \\/:*?\"<>|", name)
        return None
    return name


def check_upn_suffix(checker: Checker) -> Callable[[str, str], str | None]:
    def check(key_path: str, suffix: str) -> str | None:
        if "@" in suffix or " " in suffix or suffix.startswith(".") or suffix.endswith("."):
            checker.error(key_path, "must be a DNS suffix such as corp.example.com, without '@'", suffix)
            return None
        return suffix
    return check


def build_mfa(checker: Checker, raw: Any) -> MfaConfig:
    values = checker.section("mfa", raw, ("require_user_match", "code_delimiter", "exempt", "totp"))
    default = MfaConfig()
    return MfaConfig(
        require_user_match=pick(values, "require_user_match", default.require_user_match,
                                lambda: checker.boolean("mfa.require_user_match", values["require_user_match"])),
        code_delimiter=pick(values, "code_delimiter", default.code_delimiter,
                            lambda: check_code_delimiter(checker, values["code_delimiter"])),
        exempt=build_exempt(checker, values.get("exempt")),
        totp=build_totp(checker, values.get("totp")),
    )


def check_code_delimiter(checker: Checker, value: Any) -> str | None:
    delimiter = checker.string("mfa.code_delimiter", value)
    if delimiter is None:
        return None
    if len(delimiter) > 1:
        checker.error("mfa.code_delimiter", "must be at most one character", delimiter,
                      fix='use "" to append the code directly to the password')
        return None
    if delimiter.isdigit():
        checker.error("mfa.code_delimiter", "must not be a digit, because codes are digits", delimiter)
        return None
    return delimiter


def build_exempt(checker: Checker, raw: Any) -> ExemptConfig:
    values = checker.section("mfa.exempt", raw, ("dns", "groups", "ous"))
    return ExemptConfig(**{
        key: checker.string_list(f"mfa.exempt.{key}", values.get(key), checker.dn) for key in ("dns", "groups", "ous")
    })


def build_totp(checker: Checker, raw: Any) -> TotpConfig:
    values = checker.section("mfa.totp", raw, ("window", "issuer"))
    default = TotpConfig()
    return TotpConfig(
        window=pick(values, "window", default.window,
                    lambda: checker.integer("mfa.totp.window", values["window"], 0, MAX_TOTP_WINDOW)),
        issuer=pick(values, "issuer", default.issuer,
                    lambda: check_issuer(checker, values["issuer"])),
    )


def check_issuer(checker: Checker, value: Any) -> str | None:
    issuer = checker.string("mfa.totp.issuer", value, allow_empty=False)
    if issuer is not None and ":" in issuer:
        checker.error("mfa.totp.issuer", "must not contain ':', which separates issuer and account in otpauth URIs", issuer)
        return None
    return issuer


def build_import(checker: Checker, raw: Any, directory_base_dn: str) -> ImportConfig:
    values = checker.section("import", raw, ("base_dn", "filter", "phone_attributes", "page_size",
                                              "phone_region", "default_method"))
    default = ImportConfig()

    def convert_filter() -> str | None:
        text = checker.string("import.filter", values["filter"], allow_empty=False)
        problem = describe_filter_problem(text) if text is not None else ""
        if problem:
            checker.error("import.filter", f"is not a valid LDAP filter: {problem}", text)
            return None
        return text

    def convert_phone_attributes() -> tuple[str, ...] | None:
        raw_names = values["phone_attributes"]
        if isinstance(raw_names, list) and not raw_names:
            checker.error("import.phone_attributes", "must list at least one attribute", raw_names,
                          fix="for example [mobile, telephoneNumber]")
            return None
        return checker.string_list("import.phone_attributes", raw_names, checker.attribute_name)

    return ImportConfig(
        base_dn=pick(values, "base_dn", directory_base_dn, lambda: checker.dn("import.base_dn", values["base_dn"])),
        filter=pick(values, "filter", default.filter, convert_filter),
        phone_attributes=pick(values, "phone_attributes", default.phone_attributes, convert_phone_attributes),
        page_size=pick(values, "page_size", default.page_size,
                       lambda: checker.integer("import.page_size", values["page_size"], 1, 10000)),
        phone_region=pick(values, "phone_region", default.phone_region,
                          lambda: check_phone_region(checker, values["phone_region"])),
        default_method=pick(values, "default_method", default.default_method,
                            lambda: checker.choice("import.default_method", values["default_method"], FACTOR_METHODS)),
    )


def check_phone_region(checker: Checker, value: Any) -> str | None:
    import phonenumbers

    region = checker.string("import.phone_region", value, allow_empty=False)
    if region is not None and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        checker.error("import.phone_region", "must be a two-letter ISO 3166 region code such as US or DE", region)
        return None
    return None if region is None else region.upper()


RADIUS_KEYS = (
    "listen", "clients", "retransmit_cache_entries", "retransmit_cache_ttl", "state_ttl",
    "max_pending_challenges", "bind_pool_size",
)
RADIUS_CLIENT_KEYS = (
    "name", "address", "secret", "secret_file", "require_message_authenticator", "limit_proxy_state",
    "otp_mode", "code_only_allowed", "reply_attributes_by_group",
)


def build_radius(checker: Checker, raw: Any) -> RadiusConfig:
    values = checker.section("radius", raw, RADIUS_KEYS)
    default = RadiusConfig()
    listen = build_radius_listeners(checker, values["listen"]) if "listen" in values else default.listen
    clients = build_radius_clients(checker, values.get("clients"))

    def seconds(key: str, minimum: float, maximum: float) -> float:
        return pick(values, key, getattr(default, key),
                    lambda: checker.number(f"radius.{key}", values[key], minimum, maximum, "seconds"))

    return RadiusConfig(
        listen=listen,
        clients=clients,
        retransmit_cache_entries=pick(
            values, "retransmit_cache_entries", default.retransmit_cache_entries,
            lambda: checker.integer("radius.retransmit_cache_entries", values["retransmit_cache_entries"], 1, 10_000_000)),
        retransmit_cache_ttl=seconds("retransmit_cache_ttl", 1, 3600),
        state_ttl=seconds("state_ttl", 1, 3600),
        max_pending_challenges=pick(
            values, "max_pending_challenges", default.max_pending_challenges,
            lambda: checker.integer("radius.max_pending_challenges", values["max_pending_challenges"], 1, 10_000_000)),
        bind_pool_size=pick(
            values, "bind_pool_size", default.bind_pool_size,
            lambda: checker.integer("radius.bind_pool_size", values["bind_pool_size"], 1, 256)),
    )


def build_radius_listeners(checker: Checker, raw: Any) -> tuple[RadiusListenerConfig, ...]:
    items = checker.items("radius.listen", raw)
    if isinstance(raw, list) and not items:
        checker.error("radius.listen", "must have at least one listener", raw)
    listeners = []
    seen: dict[tuple[str, int], int] = {}
    for index, item in enumerate(items):
        key_path = f"radius.listen[{index}]"
        values = checker.section(key_path, item, ("address", "port"))
        if not isinstance(item, dict):
            continue
        for key in ("address", "port"):
            if key not in values:
                checker.error(f"{key_path}.{key}", "is missing", show_value=False)
        address = checker.address(f"{key_path}.address", values["address"]) if "address" in values else None
        port = checker.integer(f"{key_path}.port", values["port"], 1, 65535) if "port" in values else None
        if address is None or port is None:
            continue
        if (address, port) in seen:
            checker.error(key_path, f"repeats radius.listen[{seen[(address, port)]}]", f"{address}:{port}",
                          fix="give each listener its own address and port")
            continue
        seen[(address, port)] = index
        listeners.append(RadiusListenerConfig(address, port))
    return tuple(listeners)


def build_radius_clients(checker: Checker, raw: Any) -> tuple[RadiusClientConfig, ...]:
    clients = []
    names: dict[str, int] = {}
    networks: dict[IPNetwork, int] = {}
    for index, item in enumerate(checker.items("radius.clients", raw)):
        key_path = f"radius.clients[{index}]"
        client = build_radius_client(checker, key_path, item)
        if client is None:
            continue
        if client.name in names:
            checker.error(f"{key_path}.name", f"repeats radius.clients[{names[client.name]}].name", client.name,
                          fix="give each client its own name; it identifies the client in logs")
            continue
        if client.network in networks:
            checker.error(f"{key_path}.address", f"repeats radius.clients[{networks[client.network]}].address",
                          str(client.network), fix="merge the two clients")
            continue
        names[client.name] = index
        networks[client.network] = index
        clients.append(client)
    return tuple(clients)


def build_radius_client(checker: Checker, key_path: str, raw: Any) -> RadiusClientConfig | None:
    values = checker.section(key_path, raw, RADIUS_CLIENT_KEYS)
    if not isinstance(raw, dict):
        return None
    for key in ("name", "address"):
        if key not in values:
            checker.error(f"{key_path}.{key}", "is missing", show_value=False)
    name = check_client_name(checker, f"{key_path}.name", values["name"]) if "name" in values else None
    network = checker.network(f"{key_path}.address", values["address"]) if "address" in values else None
    secret, secret_file = read_radius_secret(checker, key_path, values)

    def flag(key: str, default: bool) -> bool:
        return pick(values, key, default, lambda: checker.boolean(f"{key_path}.{key}", values[key]))

    otp_mode = pick(values, "otp_mode", "challenge",
                    lambda: checker.choice(f"{key_path}.otp_mode", values["otp_mode"], RADIUS_OTP_MODES))
    code_only_allowed = flag("code_only_allowed", False)
    if otp_mode == "code_only" and not code_only_allowed:
        checker.error(f"{key_path}.otp_mode", "is code_only, which skips the AD password check", otp_mode,
                      fix=f"set {key_path}.code_only_allowed: true only if this NAS checks the AD password itself")
    groups = build_group_replies(checker, f"{key_path}.reply_attributes_by_group", values.get("reply_attributes_by_group"))

    if name is None or network is None or secret is None:
        return None
    return RadiusClientConfig(
        name=name,
        network=network,
        secret=secret,
        secret_file=secret_file,
        require_message_authenticator=flag("require_message_authenticator", True),
        limit_proxy_state=flag("limit_proxy_state", True),
        otp_mode=otp_mode,
        code_only_allowed=code_only_allowed,
        reply_attributes_by_group=groups,
    )


def check_client_name(checker: Checker, key_path: str, value: Any) -> str | None:
    name = checker.string(key_path, value, allow_empty=False)
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", name):
        checker.error(key_path, "must be 1 to 63 letters, digits, '.', '_' or '-'", name)
        return None
    return name


def read_radius_secret(checker: Checker, key_path: str, values: dict[str, Any]) -> tuple[bytes | None, Path | None]:
    """Return the client's shared secret from `secret_file` (preferred) or `secret`.

    Error lines name the key and the length at most, never the secret.
    """
    has_inline, has_file = "secret" in values, "secret_file" in values
    if has_inline == has_file:
        checker.error(key_path, "must set exactly one of secret and secret_file", show_value=False,
                      fix="put the shared secret in a file of mode 0600 and set secret_file")
        return None, None

    secret_file = None
    if has_file:
        secret_file = checker.readable_file(f"{key_path}.secret_file", values["secret_file"], private=True,
                                            missing_fix="write the shared secret into it, mode 0600")
        if secret_file is None:
            return None, None
        try:
            secret = strip_line_break(secret_file.read_bytes())
        except OSError as error:
            checker.error(f"{key_path}.secret_file", f"cannot read the file: {describe_os_error(error)}", str(secret_file))
            return None, None
        where = f"{key_path}.secret_file"
    else:
        text = checker.string(f"{key_path}.secret", values["secret"])
        if text is None:
            return None, None
        secret = text.encode("utf-8")
        where = f"{key_path}.secret"

    if not secret:
        checker.error(where, "is empty", show_value=False, fix="use at least 32 random characters")
        return None, None
    if len(secret) > MAX_RADIUS_SECRET_LENGTH:
        checker.error(where, f"has {len(secret)} octets; the maximum is {MAX_RADIUS_SECRET_LENGTH}", show_value=False)
        return None, None
    return secret, secret_file


def build_group_replies(checker: Checker, key_path: str, raw: Any) -> tuple[GroupReplyConfig, ...]:
    groups = []
    for index, item in enumerate(checker.items(key_path, raw)):
        item_path = f"{key_path}[{index}]"
        values = checker.section(item_path, item, ("group", "attributes"))
        if not isinstance(item, dict):
            continue
        if "group" not in values:
            checker.error(f"{item_path}.group", "is missing", show_value=False)
        group = checker.dn(f"{item_path}.group", values["group"]) if "group" in values else None
        attributes = []
        for attribute_index, attribute in enumerate(checker.items(f"{item_path}.attributes", values.get("attributes"))):
            encoded = build_reply_attribute(checker, f"{item_path}.attributes[{attribute_index}]", attribute)
            if encoded is not None:
                attributes.append(encoded)
        if group is not None:
            groups.append(GroupReplyConfig(group, tuple(attributes)))
    return tuple(groups)


# Attributes FactorGate itself writes into replies; a group may not set them.
RESERVED_REPLY_ATTRIBUTES = frozenset({18, 24, 33, 79, 80})   # Reply-Message, State, Proxy-State, EAP-Message, Message-Authenticator


def build_reply_attribute(checker: Checker, key_path: str, raw: Any) -> tuple[int, bytes] | None:
    """Encode one configured reply attribute as a (type, value) pair.

    `value` as a string is sent as UTF-8 octets, as an integer as 4 octets
    (RFC 2865 integer). With `vendor_id`, `type` is the vendor's attribute
    number and the pair is a Vendor-Specific attribute.
    """
    from factorgate.radius.dictionary import ATTRIBUTE_NAMES
    from factorgate.radius.packet import vendor_attribute

    values = checker.section(key_path, raw, ("type", "name", "value", "vendor_id"))
    if not isinstance(raw, dict):
        return None
    vendor_id = None
    if "vendor_id" in values:
        vendor_id = checker.integer(f"{key_path}.vendor_id", values["vendor_id"], 1, 2**24 - 1)
        if vendor_id is None:
            return None

    attribute_type = None
    if "type" in values and "name" in values:
        checker.error(key_path, "must set type or name, not both", show_value=False)
    elif "type" in values:
        attribute_type = checker.integer(f"{key_path}.type", values["type"], 1, 255)
    elif "name" in values and vendor_id is None:
        by_name = {name.lower(): number for number, name in ATTRIBUTE_NAMES.items()}
        name = checker.string(f"{key_path}.name", values["name"], allow_empty=False)
        if name is not None:
            attribute_type = by_name.get(name.lower())
            if attribute_type is None:
                checker.error(f"{key_path}.name", "is not a known RADIUS attribute name", name,
                              fix="give its number as type instead")
    elif "name" in values:
        checker.error(f"{key_path}.name", "cannot name a vendor attribute", values["name"],
                      fix="give the vendor's attribute number as type")
    else:
        checker.error(f"{key_path}.type", "is missing", show_value=False, fix="set type (a number) or name")

    value = None
    if "value" not in values:
        checker.error(f"{key_path}.value", "is missing", show_value=False)
    elif isinstance(values["value"], bool) or not isinstance(values["value"], (str, int)):
        checker.error(f"{key_path}.value", f"must be a string or an integer (got {type_name(values['value'])})",
                      show_value=False)
    elif isinstance(values["value"], int):
        if not 0 <= values["value"] < 2**32:
            checker.error(f"{key_path}.value", "must be between 0 and 4294967295", values["value"])
        else:
            value = values["value"].to_bytes(4, "big")
    else:
        value = values["value"].encode("utf-8")

    if attribute_type is None or value is None:
        return None
    if vendor_id is None and attribute_type in RESERVED_REPLY_ATTRIBUTES:
        checker.error(f"{key_path}.type", "is an attribute FactorGate sets itself", attribute_type)
        return None
    limit = 247 if vendor_id is not None else 253
    if len(value) > limit:
        checker.error(f"{key_path}.value", f"has {len(value)} octets; the maximum is {limit}", show_value=False)
        return None
    if vendor_id is not None:
        return vendor_attribute(vendor_id, attribute_type, value)
    return attribute_type, value
