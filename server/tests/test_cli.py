"""Tests of the factorgate command, through main() and through the installed console script."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import types
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorgate.cli import main, mask_phone
from factorgate.factors.otp import seed_from_base32
from factorgate.factors.secretbox import SecretBox
from factorgate.store.base import EnrollmentStatus, UserRecord
from factorgate.store.sqlite import SqliteStore

SCRIPT = Path(sys.executable).parent / "factorgate"
SEED_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"   # "12345678901234567890", the RFC 4226 test secret

ALICE = UserRecord("9ed320b6-656e-4af1-87cb-04b22333a349", "CN=Alice Anders,OU=Staff,DC=corp,DC=example,DC=test",
                   "alice", "alice@corp.example.test", "CORP", "+1 555 0100", EnrollmentStatus.PENDING)
BOB = UserRecord("c4a63872-9fb2-4d04-a8f5-36a605080b16", "CN=Bob Berger,OU=Staff,DC=corp,DC=example,DC=test",
                 "bob", "bob@corp.example.test", "CORP", "", EnrollmentStatus.NOT_ENROLLED)


class Node:
    """A configuration file with its key, password file and store in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.state_dir.mkdir()
        self.key_file = root / "secret.key"
        SecretBox.generate_key_file(self.key_file)
        self.password_file = root / "ad-bind.password"
        self.password_file.write_text("placeholder\n")
        self.password_file.chmod(0o600)
        self.config = root / "factorgate.yml"
        self.write_config()

    def write_config(self, **sections: Any) -> Path:
        document = {
            "paths": {"state_dir": str(self.state_dir), "key_file": str(self.key_file)},
            "ldap": {"listen": [{"address": "127.0.0.1", "port": 3389}], "certificate": "", "private_key": "",
                     "require_tls": False},
            "directory": {"servers": ["ldaps://127.0.0.2:636"], "base_dn": "DC=corp,DC=example,DC=test",
                          "netbios_domain": "CORP", "bind_dn": "CN=svc-factorgate,CN=Users,DC=corp,DC=example,DC=test",
                          "bind_password_file": str(self.password_file)},
        }
        for name, values in sections.items():
            document.setdefault(name, {}).update(values)
        self.config.write_text(yaml.safe_dump(document), encoding="utf-8")
        return self.config

    def store(self) -> SqliteStore:
        return SqliteStore(self.state_dir / "factorgate.db", SecretBox.from_key_file(self.key_file))

    def add_users(self, *users: UserRecord) -> None:
        with self.store() as store:
            for user in users:
                store.upsert_user(user)


@pytest.fixture()
def node(tmp_path: Path) -> Node:
    return Node(tmp_path)


def run(node: Node, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with -c pointing at the node's configuration."""
    return subprocess.run([str(SCRIPT), "-c", str(node.config), *args], input=stdin, capture_output=True,
                          text=True, timeout=60, env=env, check=False)


def uri_parameters(uri: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))


# --- check-config ---------------------------------------------------------------------


def test_check_config_ok(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(node.config), "check-config"]) == 0
    assert capsys.readouterr().out == f"configuration OK: {node.config}\n"


def test_check_config_option_after_command(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "-c", str(node.config)]) == 0
    assert capsys.readouterr().out == f"configuration OK: {node.config}\n"


def test_check_config_from_environment(node: Node) -> None:
    env = dict(os.environ, FACTORGATE_CONFIG=str(node.config))
    result = subprocess.run([str(SCRIPT), "check-config"], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0
    assert result.stdout == f"configuration OK: {node.config}\n"


def test_check_config_errors_exit_2(node: Node) -> None:
    node.write_config(ldap={"listen": [{"address": "127.0.0.1", "port": 70000}]}, mfa={"totp": {"window": 11}})
    result = run(node, "check-config")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "ldap.listen[0].port: must be between 1 and 65535 (got 70000)",
        "mfa.totp.window: must be between 0 and 10 (got 11)",
    ]


def test_check_config_missing_file_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT), "-c", str(tmp_path / "none.yml"), "check-config"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "configuration file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_warns_insecure(node: Node) -> None:
    node.write_config(directory={"verify_certificate": False}, ldap={"cleartext_clients": ["192.0.2.0/24"]})
    result = run(node, "check-config")
    assert result.returncode == 0
    assert result.stderr.splitlines()[1] == "warning: ldap.cleartext_clients[0]: 192.0.2.0/24 may send passwords without TLS"
    assert result.stdout.startswith("configuration OK")


def test_no_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: factorgate" in capsys.readouterr().err


# --- keygen -------------------------------------------------------------------------------


def test_keygen_creates_private_key(tmp_path: Path) -> None:
    path = tmp_path / "new.key"
    result = subprocess.run([str(SCRIPT), "keygen", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == 32


def test_keygen_never_overwrites(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    before = node.key_file.read_bytes()
    assert main(["keygen", str(node.key_file)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert node.key_file.read_bytes() == before


# --- users list / show -----------------------------------------------------------------


@pytest.mark.parametrize("phone, masked", [
    ("+1 555 0100", "+* *** 0100"),
    ("+49 30 5550103", "+** ** ***0103"),
    ("123", "123"),
    ("", ""),
])
def test_mask_phone_keeps_last_four(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_users_list_table(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    node.add_users(ALICE, BOB)
    assert main(["-c", str(node.config), "users", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "LOGIN       STATUS        METHOD  PHONE",
        "CORP\\alice  pending       -       +* *** 0100",
        "CORP\\bob    not_enrolled  -       -",
    ]


def test_users_list_json(node: Node) -> None:
    node.add_users(ALICE, BOB)
    result = run(node, "users", "list", "--json")
    rows = json.loads(result.stdout)
    assert result.returncode == 0
    assert rows[0]["login"] == "CORP\\alice"
    assert rows[0]["status"] == "pending"
    assert rows[0]["phone"] == "+* *** 0100"
    assert rows[1]["status"] == "not_enrolled"


def test_users_show_masks_phone(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    node.add_users(ALICE)
    assert main(["-c", str(node.config), "users", "show", "alice"]) == 0
    output = capsys.readouterr().out
    assert "phone:   +* *** 0100\n" in output
    assert ALICE.phone not in output


def test_users_show_unknown_user_exit_1(node: Node) -> None:
    result = run(node, "users", "show", "nobody")
    assert result.returncode == 1
    assert result.stderr == (
        "user 'nobody' is not in the store: run `factorgate users import` first,"
        " and check that import.base_dn and import.filter include the user\n"
    )


def test_users_show_long_unknown_user_truncated(node: Node) -> None:
    result = run(node, "users", "show", "x" * 100_000)
    assert result.returncode == 1
    assert result.stderr.startswith("user '" + "x" * 64 + "…' is not in the store:")
    assert len(result.stderr) < 300


def test_users_show_long_other_domain_truncated(node: Node) -> None:
    result = run(node, "users", "show", "OTHER\\" + "x" * 100_000)
    assert result.returncode == 1
    assert result.stderr.startswith("'OTHER\\\\" + "x" * 58 + "…' is not a login of domain CORP")
    assert len(result.stderr) < 300


def test_users_show_other_domain_exit_1(node: Node) -> None:
    node.add_users(ALICE)
    result = run(node, "users", "show", "OTHER\\alice")
    assert result.returncode == 1
    assert "is not a login of domain CORP" in result.stderr


# --- users enroll ----------------------------------------------------------------------------


def test_enroll_from_stdin(node: Node) -> None:
    node.add_users(ALICE)
    result = run(node, "users", "enroll", "alice@corp.example.test", "--method", "totp", "--secret-file", "-",
                  stdin=SEED_BASE32 + "\n")
    assert result.returncode == 0, result.stderr
    with node.store() as store:
        token = store.get_totp(ALICE.guid)
        assert store.get_user(ALICE.guid).status is EnrollmentStatus.ENROLLED
    assert token.secret == b"12345678901234567890"
    assert token.algorithm == "SHA1"


def test_enroll_prints_uri_and_qr(node: Node) -> None:
    node.add_users(ALICE)
    result = run(node, "users", "enroll", "CORP\\alice", "--method", "totp", "--secret-file", "-", stdin=SEED_BASE32)
    lines = result.stdout.splitlines()
    assert lines[0] == "enrolled CORP\\alice: TOTP, SHA1, 6 digits, 30 s"
    assert lines[1] == (
        "otpauth://totp/FactorGate:alice@corp.example.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        "&issuer=FactorGate&algorithm=SHA1&digits=6&period=30"
    )
    assert len(lines) > 20
    assert "█" in result.stdout


def test_enroll_generated_seed_sha512(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    node.add_users(ALICE)
    assert main(["-c", str(node.config), "users", "enroll", "alice", "--method", "totp",
                 "--algorithm", "sha512", "--digits", "8"]) == 0
    uri = capsys.readouterr().out.splitlines()[1]
    parameters = uri_parameters(uri)
    assert len(seed_from_base32(parameters["secret"])) == 64
    assert parameters["algorithm"] == "SHA512"
    assert parameters["digits"] == "8"


def test_enroll_uri_file_mode_0600(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    node.add_users(ALICE)
    uri_file = node.root / "alice.uri"
    uri_file.write_text("old")
    uri_file.chmod(0o644)
    assert main(["-c", str(node.config), "users", "enroll", "alice", "--method", "totp",
                 "--uri-file", str(uri_file), "--quiet"]) == 0
    output = capsys.readouterr().out
    assert stat.S_IMODE(uri_file.stat().st_mode) == 0o600
    assert uri_file.read_text().startswith("otpauth://totp/FactorGate:alice@corp.example.test?secret=")
    assert "otpauth://" not in output


def test_enroll_refuses_overwrite(node: Node) -> None:
    node.add_users(ALICE)
    run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", "-", stdin=SEED_BASE32)
    result = run(node, "users", "enroll", "alice", "--method", "totp")
    assert result.returncode == 1
    assert result.stderr == "CORP\\alice already has a TOTP token; pass --force to replace it (the old token stops working)\n"
    with node.store() as store:
        assert store.get_totp(ALICE.guid).secret == b"12345678901234567890"


def test_enroll_force_replaces(node: Node) -> None:
    node.add_users(ALICE)
    run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", "-", stdin=SEED_BASE32)
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--force")
    assert result.returncode == 0
    with node.store() as store:
        assert store.get_totp(ALICE.guid).secret != b"12345678901234567890"


def test_enroll_unknown_user_suggests_import(node: Node) -> None:
    result = run(node, "users", "enroll", "carol", "--method", "totp")
    assert result.returncode == 1
    assert "run `factorgate users import` first" in result.stderr


def test_enroll_short_seed_rejected(node: Node) -> None:
    node.add_users(ALICE)
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", "-", stdin="JBSWY3DPEHPK3PXP")
    assert result.returncode == 1
    assert result.stderr.startswith("the seed in stdin is 80 bits long; TOTP seeds must have at least 128 bits")


def test_enroll_invalid_seed_not_echoed(node: Node) -> None:
    node.add_users(ALICE)
    seed_file = node.root / "seed"
    seed_file.write_text("GEZDGNBVGY3TQOJQ1GEZDGNBVGY3TQOJQ\n")
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", str(seed_file))
    assert result.returncode == 1
    assert result.stderr == (
        f"the seed in {seed_file} is not valid base32 (1 character outside A-Z and 2-7);"
        " export it again from the system that issued it, or omit --secret-file to generate a new seed\n"
    )


def test_enroll_mistyped_seed_quotes_no_character(node: Node) -> None:
    node.add_users(ALICE)
    seed_file = node.root / "seed"
    seed_file.write_text("GEZDGNBVGY3TQOJQ0GEZDGNBVGY3TQOJ8\n")
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", str(seed_file))
    assert result.returncode == 1
    assert "(2 characters outside A-Z and 2-7)" in result.stderr
    assert "'0'" not in result.stderr
    assert "'8'" not in result.stderr


def test_enroll_non_ascii_seed_quotes_no_octet(node: Node) -> None:
    node.add_users(ALICE)
    seed_file = node.root / "seed"
    seed_file.write_text("GEZDGNBVGY3TQOJQ\u00e9GEZDGNBVGY3TQOJQ\n", encoding="utf-8")
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", str(seed_file))
    assert result.returncode == 1
    assert result.stderr.startswith(f"the seed in {seed_file} is not valid base32 (it contains non-ASCII octets);")
    assert "0xc3" not in result.stderr


def test_enroll_seed_impossible_length_rejected(node: Node) -> None:
    node.add_users(ALICE)
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", "-", stdin="GEZ")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "the seed in stdin is not valid base32 (3 characters, a length that no base32 encoding has:"
        " a character is missing or extra);"
    )


def test_enroll_seed_file_missing(node: Node) -> None:
    node.add_users(ALICE)
    result = run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", str(node.root / "none"))
    assert result.returncode == 1
    assert result.stderr == f"cannot read the seed from {node.root / 'none'}: No such file or directory\n"


def test_show_then_remove_token(node: Node) -> None:
    node.add_users(ALICE)
    run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", "-", stdin=SEED_BASE32)
    shown = run(node, "users", "show", ALICE.guid)
    removed = run(node, "users", "remove-token", "alice")
    again = run(node, "users", "remove-token", "alice")
    assert "totp:    SHA1, 6 digits, 30 s, last used: never" in shown.stdout
    assert SEED_BASE32 not in shown.stdout
    assert removed.stdout == "removed the TOTP token of CORP\\alice; status is now pending\n"
    assert again.stdout == "CORP\\alice has no TOTP token; nothing removed\n"


def test_store_with_wrong_key_exit_1(node: Node) -> None:
    node.add_users(ALICE)
    run(node, "users", "enroll", "alice", "--method", "totp", "--secret-file", "-", stdin=SEED_BASE32)
    node.key_file.unlink()
    SecretBox.generate_key_file(node.key_file)
    result = run(node, "users", "show", "alice")
    assert result.returncode == 1
    assert "failed authentication: wrong key file" in result.stderr
    assert "Traceback" not in result.stderr


# --- serve ----------------------------------------------------------------------------------


def test_serve_calls_app_run(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake_app = types.ModuleType("factorgate.app")
    fake_app.run = lambda config, user=None: calls.append((config, user)) or 0
    monkeypatch.setitem(sys.modules, "factorgate.app", fake_app)
    monkeypatch.setattr("factorgate.app", fake_app, raising=False)
    assert main(["-c", str(node.config), "serve", "--user", "root:root"]) == 0
    assert calls[0][1] == "root:root"
    assert calls[0][0].paths.state_dir == node.state_dir


def test_serve_unknown_user_exit_1(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(node.config), "serve", "--user", "no-such-account-fg"]) == 1
    assert capsys.readouterr().err == "--user: no such user 'no-such-account-fg'; create the service account or correct the name\n"


def test_serve_bad_config_exit_2(node: Node) -> None:
    node.write_config(logging={"level": "loud"})
    result = run(node, "serve")
    assert result.returncode == 2
    assert result.stderr.startswith("logging.level: must be one of")


# --- users import ------------------------------------------------------------------------


def test_import_ad_unreachable_exit_1(node: Node) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node.write_config(directory={"servers": [f"ldap://127.0.0.1:{port}"], "connect_timeout": 2})
    result = run(node, "users", "import")
    assert result.returncode == 1
    assert "cannot reach any domain controller in directory.servers" in result.stderr
    assert "Traceback" not in result.stderr


def ad_node(node: Node, test_ad: dict[str, Any], password: str | None = None) -> Node:
    node.password_file.write_text((password or test_ad["lookup_password"]) + "\n", encoding="utf-8")
    node.write_config(
        directory={"servers": [test_ad["ldaps_url"]], "ca_file": test_ad["ca_file"], "base_dn": test_ad["base_dn"],
                   "bind_dn": test_ad["lookup_dn"]},
        **{"import": {"base_dn": test_ad["ous"]["staff"], "page_size": 3}},
    )
    return node


@pytest.mark.ad
def test_import_then_enroll_with_ad(node: Node, test_ad: dict[str, Any]) -> None:
    ad_node(node, test_ad)
    dry = run(node, "users", "import", "--dry-run")
    first = run(node, "users", "import")
    enroll = run(node, "users", "enroll", "bob", "--method", "totp", "--quiet")
    again = run(node, "users", "import")
    listing = json.loads(run(node, "users", "list", "--json").stdout)
    by_login = {row["login"]: row["status"] for row in listing}

    assert dry.returncode == 0
    assert dry.stdout.splitlines()[-1] == "dry run: nothing was written to the store"
    assert first.returncode == 0
    assert first.stdout.startswith("imported ")
    assert enroll.returncode == 0
    assert again.returncode == 0
    assert ", 1 enrolled kept (0 new)" in again.stdout
    assert by_login["CORP\\alice"] == "pending"
    assert by_login["CORP\\carol"] == "pending"
    assert by_login["CORP\\bob"] == "enrolled"


@pytest.mark.ad
def test_import_bad_credentials_exit_1(node: Node, test_ad: dict[str, Any]) -> None:
    ad_node(node, test_ad, password="not-the-password")
    result = run(node, "users", "import")
    assert result.returncode == 1
    assert "rejected the look-up account" in result.stderr
    assert "check directory.bind_dn and the password in directory.bind_password_file" in result.stderr
    assert "not-the-password" not in result.stderr
