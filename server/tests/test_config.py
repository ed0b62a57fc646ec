"""Tests of config.py: defaults, every kind of validation error and its exact wording."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorgate.config import (
    Config,
    Checker,
    ConfigError,
    DirectoryConfig,
    ImportConfig,
    LdapConfig,
    ListenerConfig,
    MfaConfig,
    RadiusConfig,
    RadiusListenerConfig,
    describe_dn_problem,
    load_config,
)
from factorgate.factors.settings import FactorsConfig
from support.tls import make_server_certificate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "factorgate.yml"


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """Files a valid configuration refers to, with the modes it requires."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"k" * 32)
    key_file.chmod(0o600)
    password_file = tmp_path / "ad-bind.password"
    password_file.write_bytes("Pässword-1\n".encode())
    password_file.chmod(0o600)
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    ca, certificate, private_key = make_server_certificate(tls_dir, "127.0.0.1")
    return {
        "state_dir": state_dir, "key_file": key_file, "password_file": password_file,
        "ca": ca, "certificate": certificate, "private_key": private_key,
    }


def base_document(files: dict[str, Path]) -> dict[str, Any]:
    return {
        "paths": {"state_dir": str(files["state_dir"]), "key_file": str(files["key_file"])},
        "ldap": {"certificate": str(files["certificate"]), "private_key": str(files["private_key"])},
        "directory": {
            "servers": ["ldaps://dc1.corp.example.test:636"],
            "base_dn": "DC=corp,DC=example,DC=test",
            "netbios_domain": "CORP",
            "bind_dn": "CN=svc-factorgate,CN=Users,DC=corp,DC=example,DC=test",
            "bind_password_file": str(files["password_file"]),
            "ca_file": str(files["ca"]),
        },
    }


def merge(document: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(document)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "factorgate.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def load(tmp_path: Path, files: dict[str, Path], **overrides: Any) -> Config:
    return load_config(write(tmp_path, merge(base_document(files), overrides)))


def errors_of(tmp_path: Path, files: dict[str, Path], **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, files, **overrides)
    return caught.value.errors


# --- defaults and the example file --------------------------------------------


def test_example_file_loads_with_its_defaults(tmp_path: Path, files: dict[str, Path]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for default, replacement in [
        ("/var/lib/factorgate", files["state_dir"]),
        ("/etc/factorgate/secret.key", files["key_file"]),
        ("/etc/factorgate/tls/server.crt", files["certificate"]),
        ("/etc/factorgate/tls/server.key", files["private_key"]),
        ("/etc/factorgate/ad-bind.password", files["password_file"]),
    ]:
        text = text.replace(default, str(replacement))
    path = tmp_path / "example.yml"
    path.write_text(text, encoding="utf-8")

    config = load_config(path)

    assert config.ldap.listen == LdapConfig().listen
    assert config.ldap.require_tls is True
    assert config.directory.servers == DirectoryConfig().servers
    assert config.directory.upn_suffixes == ("corp.example.test",)
    assert config.directory.ca_file is None
    assert config.mfa == MfaConfig()
    assert config.import_ == ImportConfig()
    assert config.radius == RadiusConfig()
    assert config.factors == FactorsConfig()
    assert config.node.name == "fg1"


def test_example_file_has_every_default_key() -> None:
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert set(example) == {"node", "paths", "logging", "ldap", "directory", "mfa", "import", "radius", "factors"}


def test_missing_sections_take_defaults(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files)
    assert config.ldap.pending_requests == 16
    assert config.ldap.max_message_size == 1048576
    assert config.mfa.totp.window == 1
    assert config.mfa.totp.issuer == "FactorGate"
    assert config.import_.page_size == 500
    assert config.logging.level == "info"
    assert config.paths.database_file == files["state_dir"] / "factorgate.db"


def test_values_are_converted(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, ldap={
        "listen": [{"address": "::1", "port": 1389}],
        "cleartext_clients": ["192.0.2.0/24", "2001:db8::1"],
    })
    assert config.ldap.listen == (ListenerConfig("::1", 1389, "none"),)
    assert config.ldap.cleartext_clients == (
        ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("2001:db8::1/128"),
    )


def test_empty_file_reports_missing_files_and_site_keys(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert all("not found" in line or ": is missing;" in line for line in caught.value.errors)


@pytest.mark.parametrize(("key", "fix"), [
    ("servers", "list your domain controllers, such as [ldaps://dc1.corp.example.com:636]"),
    ("base_dn", "set it to the DN of your domain, such as DC=corp,DC=example,DC=com"),
    ("netbios_domain", "set it to the NetBIOS name of your domain, such as CORP"),
    ("bind_dn", "set it to the DN of the look-up account, such as CN=svc-factorgate,CN=Users,DC=corp,DC=example,DC=com"),
], ids=["servers", "base_dn", "netbios_domain", "bind_dn"])
def test_directory_site_key_missing_rejected(tmp_path: Path, files: dict[str, Path], key: str, fix: str) -> None:
    document = base_document(files)
    del document["directory"][key]
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, document))
    assert caught.value.errors == [f"directory.{key}: is missing; {fix}"]


def test_upn_suffixes_default_to_base_dn_domain(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, directory={"base_dn": "OU=Staff,DC=branch,dc=example,DC=org"})
    assert config.directory.upn_suffixes == ("branch.example.org",)


def test_upn_suffixes_empty_without_dc_components(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, directory={"base_dn": "O=Example"})
    assert config.directory.upn_suffixes == ()


def test_import_base_dn_defaults_to_directory_base_dn(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, directory={"base_dn": "DC=branch,DC=example,DC=org"})
    assert config.import_.base_dn == "DC=branch,DC=example,DC=org"


# --- reading the file ------------------------------------------------------------


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yml")
    assert caught.value.errors == [f"{tmp_path / 'nope.yml'}: configuration file not found; pass the right one with -c PATH"]


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("ldap:\n  listen: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors[0].startswith(f"{path}: invalid YAML: ")
    assert "line 3" in caught.value.errors[0]


def test_top_level_list_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, [1, 2]))
    assert "the top level must be a mapping" in caught.value.errors[0]


# --- keys and types -------------------------------------------------------------


def test_unknown_key_suggests_near_miss(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"requre_tls": False})
    assert errors == ["ldap.requre_tls: unknown key; did you mean 'require_tls'?"]


def test_unknown_section_suggests_near_miss(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directroy={})
    assert errors == ["directroy: unknown key; did you mean 'directory'?"]


def test_unknown_key_without_near_miss_lists_keys(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa={"totp": {"zzz": 1}})
    assert errors == ["mfa.totp.zzz: unknown key; known keys: window, issuer"]


def test_unknown_key_in_listener(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"listen": [{"address": "127.0.0.1", "port": 389, "tsl": "none"}]})
    assert errors == ["ldap.listen[0].tsl: unknown key; did you mean 'tls'?"]


def test_boolean_as_string_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"require_tls": "yes"})
    assert errors == ['ldap.require_tls: must be true or false (got "yes")']


def test_integer_as_string_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"pending_requests": "16"})
    assert errors == ['ldap.pending_requests: must be an integer between 1 and 1024 (got "16")']


def test_boolean_is_not_an_integer(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, **{"import": {"page_size": True}})
    assert errors == ["import.page_size: must be an integer between 1 and 10000 (got true)"]


def test_section_must_be_mapping(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa=[1])
    assert errors == ["mfa: must be a mapping (got list)"]


def test_list_must_be_list(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"upn_suffixes": "corp.example.test"})
    assert errors == ['directory.upn_suffixes: must be a list (got "corp.example.test")']


def test_choice_lists_options(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, logging={"level": "verbose"})
    assert errors == ['logging.level: must be one of debug, info, warning, error (got "verbose")']


def test_all_errors_reported_at_once(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, logging={"level": "loud"}, mfa={"totp": {"window": 99}},
                       ldap={"idle_timeout": 0})
    assert len(errors) == 3


# --- ports, addresses, networks, URLs ----------------------------------------


def test_port_out_of_range_message(tmp_path: Path, files: dict[str, Path]) -> None:
    listen = [{"address": "0.0.0.0", "port": 389}, {"address": "0.0.0.0", "port": 70000, "tls": "ldaps"}]
    errors = errors_of(tmp_path, files, ldap={"listen": listen})
    assert errors == ["ldap.listen[1].port: must be between 1 and 65535 (got 70000)"]


def test_port_zero_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"listen": [{"address": "0.0.0.0", "port": 0}]})
    assert errors == ["ldap.listen[0].port: must be between 1 and 65535 (got 0)"]


def test_listener_missing_port(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"listen": [{"address": "0.0.0.0"}]})
    assert errors == ["ldap.listen[0].port: is missing"]


def test_listener_duplicate_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    listen = [{"address": "127.0.0.1", "port": 389}, {"address": "127.0.0.1", "port": 389}]
    errors = errors_of(tmp_path, files, ldap={"listen": listen})
    assert errors == ['ldap.listen[1]: repeats ldap.listen[0] (got "127.0.0.1:389"); give each listener its own address and port']


def test_listener_list_empty_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"listen": []})
    assert errors == ["ldap.listen: must have at least one listener (got [])"]


def test_listener_tls_mode_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"listen": [{"address": "0.0.0.0", "port": 389, "tls": "starttls"}]})
    assert errors == ['ldap.listen[0].tls: must be one of none, ldaps (got "starttls")']


def test_address_invalid(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"listen": [{"address": "localhost", "port": 389}]})
    assert errors == ['ldap.listen[0].address: must be an IPv4 or IPv6 address (got "localhost"); use 0.0.0.0 or :: for every interface']


def test_cidr_host_bits_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"cleartext_clients": ["10.1.2.3/8"]})
    assert errors == ['ldap.cleartext_clients[0]: has host bits set (got "10.1.2.3/8"); write 10.0.0.0/8 for the network, or 10.1.2.3/32 for one host']


def test_cidr_garbage_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"sasl_passthrough_clients": ["10.0.0.0/33"]})
    assert errors == ['ldap.sasl_passthrough_clients[0]: must be an address or a network in CIDR notation such as 192.0.2.0/24 (got "10.0.0.0/33")']


@pytest.mark.parametrize("url, problem", [
    ("http://dc1.example.test", "must start with ldap:// or ldaps://"),
    ("ldaps://", "has no host name"),
    ("ldap://dc1:99999", "must be an ldap:// or ldaps:// URL with a valid port"),
    ("ldap://dc1:0", "port must be between 1 and 65535"),
    ("ldaps://dc1/DC=corp", "must have no path, query or fragment"),
    ("ldaps://user:pw@dc1", "must not contain user information"),
])
def test_directory_url_rejected(tmp_path: Path, files: dict[str, Path], url: str, problem: str) -> None:
    errors = errors_of(tmp_path, files, directory={"servers": [url]})
    assert errors == [f'directory.servers[0]: {problem} (got "{url}"); write ldaps://HOST[:PORT] or ldap://HOST[:PORT]']


def test_directory_urls_accepted(tmp_path: Path, files: dict[str, Path]) -> None:
    servers = ["ldaps://dc1.corp.example.test", "ldap://127.0.0.2:389", "ldaps://[::1]:636/"]
    config = load(tmp_path, files, directory={"servers": servers})
    assert config.directory.servers == tuple(servers)


def test_directory_servers_empty_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"servers": []})
    assert errors == ["directory.servers: must list at least one domain controller (got [])"]


# --- files ------------------------------------------------------------------------


def test_missing_key_file_suggests_keygen(tmp_path: Path, files: dict[str, Path]) -> None:
    missing = tmp_path / "none.key"
    errors = errors_of(tmp_path, files, paths={"key_file": str(missing)})
    assert errors == [f'paths.key_file: file not found (got "{missing}"); create it with: factorgate keygen {missing}']


def test_private_key_readable_by_group_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    files["private_key"].chmod(0o640)
    errors = errors_of(tmp_path, files)
    assert errors == [f'ldap.private_key: file is accessible by group or others (mode 0640) (got "{files["private_key"]}"); run: chmod 600 {files["private_key"]}']


def test_password_file_readable_by_others_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    files["password_file"].chmod(0o604)
    errors = errors_of(tmp_path, files)
    assert errors == [f'directory.bind_password_file: file is accessible by group or others (mode 0604) (got "{files["password_file"]}"); run: chmod 600 {files["password_file"]}']


def test_key_file_mode_checked(tmp_path: Path, files: dict[str, Path]) -> None:
    files["key_file"].chmod(0o644)
    errors = errors_of(tmp_path, files)
    assert len(errors) == 1
    assert errors[0].startswith("paths.key_file: file is accessible by group or others (mode 0644)")


def test_password_file_empty_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    files["password_file"].write_bytes(b"\n")
    errors = errors_of(tmp_path, files)
    assert errors == [f'directory.bind_password_file: file is empty (got "{files["password_file"]}"); write the look-up account\'s password into it']


def test_ca_file_missing_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"ca_file": str(tmp_path / "ca-none.pem")})
    assert errors == [f'directory.ca_file: file not found (got "{tmp_path / "ca-none.pem"}")']


def test_ca_file_not_pem_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"ca_file": str(files["state_dir"].parent / "secret.key")})
    assert len(errors) == 1
    assert errors[0].startswith("directory.ca_file: is not a PEM bundle of CA certificates")


def test_ca_file_empty_means_system_store(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, directory={"ca_file": ""})
    assert config.directory.ca_file is None


def test_state_dir_missing_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, paths={"state_dir": str(tmp_path / "gone")})
    assert errors == [f'paths.state_dir: directory not found (got "{tmp_path / "gone"}"); create it, owned by the service account']


def test_certificate_required_for_ldaps(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, ldap={"certificate": "", "private_key": ""})
    assert errors == [
        "ldap.certificate: is required because ldap.listen[1] uses tls: ldaps; set a PEM certificate chain",
        "ldap.private_key: is required because ldap.listen[1] uses tls: ldaps; set the PEM private key of ldap.certificate",
    ]


def test_certificate_required_for_starttls_only(tmp_path: Path, files: dict[str, Path]) -> None:
    ldap = {"certificate": "", "private_key": "", "listen": [{"address": "0.0.0.0", "port": 389}]}
    errors = errors_of(tmp_path, files, ldap=ldap)
    assert errors[0] == (
        "ldap.certificate: is required because ldap.require_tls is true and ldap.listen[0] can only"
        " offer StartTLS; set a PEM certificate chain"
    )


def test_certificate_optional_for_cleartext(tmp_path: Path, files: dict[str, Path]) -> None:
    ldap = {"certificate": "", "private_key": "", "require_tls": False, "listen": [{"address": "127.0.0.1", "port": 389}]}
    config = load(tmp_path, files, ldap=ldap)
    assert config.ldap.certificate is None


def test_certificate_key_mismatch_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    _, _, other_key = make_server_certificate(other_dir, "127.0.0.1")
    errors = errors_of(tmp_path, files, ldap={"private_key": str(other_key)})
    assert len(errors) == 1
    assert errors[0].startswith("ldap.certificate: cannot be loaded with ldap.private_key (KEY_VALUES_MISMATCH)")


# --- MFA settings -----------------------------------------------------------------


@pytest.mark.parametrize("window", [0, 10])
def test_totp_window_bounds_accepted(tmp_path: Path, files: dict[str, Path], window: int) -> None:
    assert load(tmp_path, files, mfa={"totp": {"window": window}}).mfa.totp.window == window


def test_totp_window_too_large(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa={"totp": {"window": 11}})
    assert errors == ["mfa.totp.window: must be between 0 and 10 (got 11)"]


def test_code_delimiter_two_characters(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa={"code_delimiter": ",,"})
    assert errors == ['mfa.code_delimiter: must be at most one character (got ",,"); use "" to append the code directly to the password']


def test_code_delimiter_digit(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa={"code_delimiter": "7"})
    assert errors == ['mfa.code_delimiter: must not be a digit, because codes are digits (got "7")']


def test_code_delimiter_comma_accepted(tmp_path: Path, files: dict[str, Path]) -> None:
    assert load(tmp_path, files, mfa={"code_delimiter": ","}).mfa.code_delimiter == ","


def test_issuer_with_colon_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa={"totp": {"issuer": "Corp:VPN"}})
    assert errors == ["mfa.totp.issuer: must not contain ':', which separates issuer and account in otpauth URIs (got \"Corp:VPN\")"]


# --- DNs and filters -----------------------------------------------------------


@pytest.mark.parametrize("dn", [
    "CN=svc-factorgate,CN=Users,DC=corp,DC=example,DC=test",
    "CN=Smith\\, John,OU=Staff,DC=corp",
    "CN=Dora Dürr, OU=Staff, DC=corp",
    "CN=a+UID=b,DC=corp",
    "2.5.4.3=x,DC=corp",
])
def test_dn_plausible(dn: str) -> None:
    assert describe_dn_problem(dn) == ""


@pytest.mark.parametrize("dn, problem", [
    ("svc-factorgate", "RDN 'svc-factorgate' has no '='"),
    ("CN=a,,DC=x", "has an empty RDN (two commas in a row, or a comma at an end)"),
    ("CN=a,DC=x,", "has an empty RDN (two commas in a row, or a comma at an end)"),
    ("CN=,DC=x", "RDN 'CN=' has an empty value"),
    ("C N=a,DC=x", "RDN 'C N=a' has an invalid attribute type"),
    ("CN=a\\", "ends with a lone backslash"),
])
def test_dn_implausible(dn: str, problem: str) -> None:
    assert describe_dn_problem(dn) == problem


def test_exempt_dn_error_names_index(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, mfa={"exempt": {"groups": ["CN=ok,DC=corp", "not a dn"]}})
    assert errors == ["mfa.exempt.groups[1]: is not a valid DN: RDN 'not a dn' has no '=' (got \"not a dn\")"]


def test_bind_dn_empty_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"bind_dn": ""})
    assert errors == ['directory.bind_dn: must not be empty (got "")']


def test_import_filter_unbalanced(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, **{"import": {"filter": "(&(objectClass=user)"}})
    assert errors == ["import.filter: is not a valid LDAP filter: has an unmatched '(' (got \"(&(objectClass=user)\")"]


def test_import_phone_attribute_name(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, **{"import": {"phone_attributes": ["mobile", "tele phone"]}})
    assert errors == ['import.phone_attributes[1]: is not an LDAP attribute name (got "tele phone")']


def test_netbios_domain_too_long(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"netbios_domain": "CORP.EXAMPLE.TEST"})
    assert len(errors) == 1
    assert errors[0].startswith("directory.netbios_domain: must be a NetBIOS domain name")


# --- secrets ------------------------------------------------------------------------


def test_inline_secret_value_never_echoed(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, directory={"bind_password": "hunter2-secret"})
    assert errors == ["directory.bind_password: unknown key; did you mean 'bind_password_file'?"]


def test_secret_key_value_never_echoed() -> None:
    checker = Checker()
    checker.error("radius.clients[0].secret", "must be at least 16 characters", "short-Secret")
    assert checker.errors == ["radius.clients[0].secret: must be at least 16 characters"]


def test_bind_password_strips_newline(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files)
    assert config.directory.bind_password() == "Pässword-1".encode()


def test_bind_password_keeps_inner_blanks(tmp_path: Path, files: dict[str, Path]) -> None:
    files["password_file"].write_bytes(b" two words \r\n")
    config = load(tmp_path, files)
    assert config.directory.bind_password() == b" two words "


def test_repr_has_no_password(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files)
    assert "Pässword" not in repr(config)


# --- warnings -------------------------------------------------------------------------


def test_secure_config_has_no_warnings(tmp_path: Path, files: dict[str, Path]) -> None:
    assert load(tmp_path, files).warnings() == []


def test_insecure_choices_warned(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, directory={"verify_certificate": False},
                  ldap={"cleartext_clients": ["192.0.2.0/24", "192.0.2.7"], "sasl_passthrough_clients": ["198.51.100.0/24"]})
    warnings = config.warnings()
    assert warnings[0].startswith("directory.verify_certificate: is false")
    assert warnings[1] == "ldap.cleartext_clients[0]: 192.0.2.0/24 may send passwords without TLS"
    assert warnings[2] == "ldap.cleartext_clients[1]: 192.0.2.7/32 may send passwords without TLS"
    assert warnings[3] == "ldap.sasl_passthrough_clients[0]: SASL binds from 198.51.100.0/24 are relayed to AD without a second factor"


# --- radius -------------------------------------------------------------------


def secret_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "nas.secret"
    path.write_bytes(content)
    path.chmod(mode)
    return path


def radius_client(**values: Any) -> dict[str, Any]:
    client = {"name": "nas", "address": "192.0.2.0/24", "secret": "s" * 32}
    client.update(values)
    return client


def test_radius_defaults(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files)
    assert config.radius.listen == (RadiusListenerConfig("0.0.0.0", 1812), RadiusListenerConfig("0.0.0.0", 1645))
    assert config.radius.enabled is False
    assert config.radius.retransmit_cache_ttl == 90
    assert config.radius.state_ttl == 120


def test_radius_client_defaults(tmp_path: Path, files: dict[str, Path]) -> None:
    client = load(tmp_path, files, radius={"clients": [radius_client()]}).radius.clients[0]
    assert client.require_message_authenticator is True
    assert client.limit_proxy_state is True
    assert client.otp_mode == "challenge"
    assert client.code_only_allowed is False
    assert client.network == ipaddress.ip_network("192.0.2.0/24")


def test_radius_secret_from_file(tmp_path: Path, files: dict[str, Path]) -> None:
    path = secret_file(tmp_path, b"f" * 64 + b"\n")
    config = load(tmp_path, files, radius={"clients": [{"name": "nas", "address": "192.0.2.1", "secret_file": str(path)}]})
    assert config.radius.clients[0].secret == b"f" * 64


def test_radius_secret_file_mode_checked(tmp_path: Path, files: dict[str, Path]) -> None:
    path = secret_file(tmp_path, b"f" * 32, 0o644)
    errors = errors_of(tmp_path, files, radius={"clients": [{"name": "nas", "address": "192.0.2.1", "secret_file": str(path)}]})
    assert errors == [f"radius.clients[0].secret_file: file is accessible by group or others (mode 0644) (got {format_path(path)}); run: chmod 600 {path}"]


def format_path(path: Path) -> str:
    return f'"{path}"'


def test_radius_secret_and_file_both_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    path = secret_file(tmp_path, b"f" * 32)
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(secret_file=str(path))]})
    assert errors == ["radius.clients[0]: must set exactly one of secret and secret_file; put the shared secret in a file of mode 0600 and set secret_file"]


def test_radius_secret_never_in_errors(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(secret="x" * 300, otp_mode="bogus")]})
    assert all("xxxx" not in line for line in errors)
    assert "radius.clients[0].secret: has 300 octets; the maximum is 256" in errors


def test_radius_short_secret_warns(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, radius={"clients": [radius_client(secret="short-secret")]})
    warnings = config.warnings()
    assert any(line.startswith("radius.clients[0].secret: has 12 octets") for line in warnings)
    assert all("short-secret" not in line for line in warnings)


def test_radius_64_octet_secret_accepted(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, radius={"clients": [radius_client(secret="k" * 64)]})
    assert config.radius.clients[0].secret == b"k" * 64
    assert config.warnings() == []


def test_radius_message_authenticator_off_warns(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, radius={"clients": [radius_client(require_message_authenticator=False)]})
    assert any("Blast-RADIUS" in line for line in config.warnings())


def test_radius_code_only_needs_allowance(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(otp_mode="code_only")]})
    assert errors == ['radius.clients[0].otp_mode: is code_only, which skips the AD password check (got "code_only");'
                      " set radius.clients[0].code_only_allowed: true only if this NAS checks the AD password itself"]


def test_radius_code_only_with_allowance(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, radius={"clients": [radius_client(otp_mode="code_only", code_only_allowed=True)]})
    assert config.radius.clients[0].otp_mode == "code_only"


def test_radius_duplicate_client_name_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(), radius_client(address="198.51.100.1")]})
    assert errors == ['radius.clients[1].name: repeats radius.clients[0].name (got "nas"); give each client its own name; it identifies the client in logs']


def test_radius_client_address_host_bits(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(address="192.0.2.5/24")]})
    assert errors[0].startswith("radius.clients[0].address: has host bits set")


def test_radius_reply_attributes_encoded(tmp_path: Path, files: dict[str, Path]) -> None:
    config = load(tmp_path, files, radius={"clients": [radius_client(reply_attributes_by_group=[{
        "group": "CN=VPN,OU=Groups,DC=corp,DC=example,DC=test",
        "attributes": [
            {"name": "Class", "value": "vpn"},
            {"type": 27, "value": 3600},
            {"vendor_id": 3845, "type": 16, "value": "VPN"},
        ],
    }])]})
    group = config.radius.clients[0].reply_attributes_by_group[0]
    assert group.attributes[0] == (25, b"vpn")
    assert group.attributes[1] == (27, (3600).to_bytes(4, "big"))
    assert group.attributes[2] == (26, (3845).to_bytes(4, "big") + bytes((16, 5)) + b"VPN")


def test_radius_reply_attribute_reserved_rejected(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(reply_attributes_by_group=[{
        "group": "CN=VPN,DC=corp", "attributes": [{"name": "State", "value": "x"}]}])]})
    assert errors == ["radius.clients[0].reply_attributes_by_group[0].attributes[0].type: is an attribute FactorGate sets itself (got 24)"]


def test_radius_reply_attribute_unknown_name(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"clients": [radius_client(reply_attributes_by_group=[{
        "group": "CN=VPN,DC=corp", "attributes": [{"name": "Filter-Idd", "value": "x"}]}])]})
    assert errors == ['radius.clients[0].reply_attributes_by_group[0].attributes[0].name: is not a known RADIUS attribute name (got "Filter-Idd"); give its number as type instead']


def test_radius_cache_ttl_range(tmp_path: Path, files: dict[str, Path]) -> None:
    errors = errors_of(tmp_path, files, radius={"retransmit_cache_ttl": 0})
    assert errors == ["radius.retransmit_cache_ttl: must be between 1 and 3600 seconds (got 0)"]


def test_warning_for_cleartext_hop_to_ad():
    from factorgate.config import Config, DirectoryConfig

    config = Config(directory=DirectoryConfig(servers=("ldap://dc1.corp.example.test",), start_tls=False))
    assert any(line.startswith("directory.start_tls: is false") for line in config.warnings())
