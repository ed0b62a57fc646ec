"""site.yml against the demo inventory: idempotence, check mode, the unit.

These tests deploy the demo pair (127.0.0.11 and 127.0.0.12) with the real
role, so they need root, the test AD (`scripts/test-ad up`) and ansible-core
in the Python environment that runs pytest (`make test-integration`).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
INVENTORY = REPOSITORY / "inventories" / "demo"
AD_FILE = REPOSITORY / ".demo" / "ad" / "ad.json"
NODE_CONFIG = Path("/etc/factorgate-fg1/factorgate.yml")
PLAYBOOK_TIMEOUT_SECONDS = 900
RECAP_LINE = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="deploys services and binds ports 389/636: run as root"),
    pytest.mark.skipif(not AD_FILE.exists(), reason="the test AD is not up: run scripts/test-ad up"),
]


def find_ansible_playbook() -> str:
    beside_python = Path(sys.executable).parent / "ansible-playbook"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("ansible-playbook")
    if found is None:
        pytest.fail("ansible-playbook not found: install ansible-core into this environment (make venv)")
    return found


def run_playbook(*args: str) -> subprocess.CompletedProcess[str]:
    command = [find_ansible_playbook(), "-i", str(INVENTORY), *args]
    result = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False,
                            timeout=PLAYBOOK_TIMEOUT_SECONDS, env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return result


def read_recap(output: str) -> dict[str, int]:
    """Map each host of the PLAY RECAP to its changed count."""
    recap = {host: int(changed) for host, changed, _unreachable, _failed in RECAP_LINE.findall(output)}
    assert recap, f"no PLAY RECAP in the output:\n{output[-3000:]}"
    return recap


@pytest.fixture(scope="module")
def deployed_pair() -> None:
    """Start the demo's NetScaler (the NITRO simulator) and deploy the stack once for this module."""
    subprocess.run([str(REPOSITORY / "scripts" / "nitro-sim"), "up"], check=True, timeout=60,
                   env={**os.environ, "FACTORGATE_VENV": str(Path(sys.executable).parent.parent)})
    run_playbook(str(REPOSITORY / "site.yml"))


def nitro_writes() -> int:
    with urllib.request.urlopen("http://127.0.0.20/_sim/stats", timeout=10) as response:
        return json.load(response)["writes"]


def test_site_second_run_changes_nothing(deployed_pair: None) -> None:
    writes_before = nitro_writes()
    result = run_playbook(str(REPOSITORY / "site.yml"))

    recap = read_recap(result.stdout)
    assert set(recap) >= {"fg1", "fg2", "ns1"}
    assert nitro_writes() == writes_before
    assert recap == {host: 0 for host in recap}, result.stdout[-6000:]


def test_check_diff_shows_change_and_writes_nothing(deployed_pair: None) -> None:
    before = NODE_CONFIG.read_bytes()
    modified_before = NODE_CONFIG.stat().st_mtime_ns

    result = run_playbook(str(REPOSITORY / "site.yml"), "--check", "--diff", "-e", "mfa_server_log_level=debug")

    assert "-  level: info" in result.stdout
    assert "+  level: debug" in result.stdout
    assert NODE_CONFIG.read_bytes() == before
    assert NODE_CONFIG.stat().st_mtime_ns == modified_before


def test_rendered_unit_passes_systemd_analyze(deployed_pair: None, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    playbook = tmp_path / "render_unit.yml"
    playbook.write_text(
        "- hosts: fg1\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role: {name: factorgate.mfa.mfa_server, tasks_from: noop.yml, public: true}\n"
        "    - ansible.builtin.template:\n"
        f"        src: {REPOSITORY}/roles/mfa_server/templates/factorgate.service.j2\n"
        f"        dest: {tmp_path}/factorgate-fg1.service\n"
        "        mode: '0644'\n"
    )
    run_playbook(str(playbook))

    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "factorgate-fg1.service")],
                            capture_output=True, text=True, check=False, timeout=60)

    assert verify.returncode == 0, verify.stderr
    assert verify.stderr == ""


# --- logins through the deployed demo pair -------------------------------------

NODES = ("127.0.0.11", "127.0.0.12")
ENROLLMENT = REPOSITORY / ".demo" / "enrollments" / "alice.otpauth"


def ad_users() -> dict:
    return json.loads(AD_FILE.read_text())["users"]


def current_code(uri: str, at: float) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)
    secret = query["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.digest(key, struct.pack(">Q", int(at) // 30), "sha1")
    offset = digest[-1] & 15
    return "%06d" % ((int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF) % 10**6)


def ldapsearch(node: str, bind_dn: str, password: str, base: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["ldapsearch", "-x", "-LLL", "-H", f"ldap://{node}", "-D", bind_dn, "-w", password, "-b", base, *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="module")
def enrolled_alice(deployed_pair: None) -> str:
    """Enroll alice on both nodes with one seed, as `make demo` does."""
    run_playbook(str(REPOSITORY / "playbooks" / "demo_enroll.yml"))
    return ENROLLMENT.read_text().strip()


@pytest.mark.parametrize("node", NODES)
def test_netscaler_ldap_flow_through_node(enrolled_alice: str, node: str) -> None:
    """The gateway's flow: bind as its account, search the user, bind as the user with password and code."""
    users = ad_users()
    svc, alice = users["svc-netscaler"], users["alice"]
    search = ldapsearch(node, svc["dn"], svc["password"], "DC=corp,DC=example,DC=test", "(sAMAccountName=alice)", "dn")
    assert search.returncode == 0, search.stderr
    assert f"dn: {alice['dn']}" in search.stdout

    # Each node keeps its own replay record, so both can take a code from the
    # same step; the previous step keeps the second node's check independent.
    at = time.time() - (30 if node == NODES[1] else 0)
    bind = ldapsearch(node, alice["dn"], alice["password"] + current_code(enrolled_alice, at), alice["dn"],
                      "-s", "base", "memberOf")
    assert bind.returncode == 0, bind.stderr
    assert "memberOf: CN=FG-VPN-Staff" in bind.stdout


@pytest.mark.parametrize("node", NODES)
def test_wrong_code_rejected_by_node(enrolled_alice: str, node: str) -> None:
    alice = ad_users()["alice"]
    result = ldapsearch(node, alice["dn"], alice["password"] + "000000", alice["dn"], "-s", "base")
    assert result.returncode == 49
    assert "second factor failed" in result.stderr


@pytest.mark.parametrize("node", NODES)
def test_not_enrolled_user_through_node(deployed_pair: None, node: str) -> None:
    bob = ad_users()["bob"]
    result = ldapsearch(node, bob["dn"], bob["password"], bob["dn"], "-s", "base", "dn")
    assert result.returncode == 0, result.stderr


def radtest(user: str, password: str, node: str) -> subprocess.CompletedProcess[str]:
    group_vars = yaml.safe_load((INVENTORY / "group_vars" / "mfa_servers.yml").read_text())
    secret = group_vars["mfa_server_radius_clients"][0]["secret"]
    return subprocess.run(["radtest", "-x", user, password, node, "0", secret],
                          capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.parametrize("node", NODES)
def test_radius_login_through_node(deployed_pair: None, node: str) -> None:
    bob = ad_users()["bob"]
    result = radtest("bob", bob["password"], node)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Access-Accept" in result.stdout


@pytest.mark.parametrize("node", NODES)
def test_radius_wrong_password_through_node(deployed_pair: None, node: str) -> None:
    result = radtest("bob", "not-bobs-password", node)
    assert "Access-Reject" in result.stdout
