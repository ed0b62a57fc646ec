"""The netscaler_gateway role against the NITRO simulator.

Runs playbooks/netscaler.yml with the inventory in
tests/integration/targets/netscaler_gateway_role and checks the second run
(no NITRO write at all), check mode with a diff after an inventory change,
pushed secrets, cascade mode and that no secret reaches the -vvv output.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.nitro_simulator import NitroSimulator, SimulatorConfig

REPOSITORY = Path(__file__).resolve().parents[2]
TARGET = REPOSITORY / "tests" / "integration" / "targets" / "netscaler_gateway_role"
COLLECTIONS = REPOSITORY / ".collections"
SIMULATOR_PASSWORD = "simulator-pass-47"
BIND_PASSWORD = "Role-Bind-Secret-9931"
RADIUS_SECRET = "Role-Radius-Secret-7713-xyz"
PLAYBOOK_TIMEOUT_SECONDS = 300

pytestmark = pytest.mark.skipif(
    not (COLLECTIONS / "ansible_collections" / "factorgate" / "mfa").exists(),
    reason="the collection is not linked: run make collection",
)


@pytest.fixture
def simulator() -> str:
    server = NitroSimulator(SimulatorConfig(address="127.0.0.23", port=0, password=SIMULATOR_PASSWORD))
    host, port = server.start()
    yield f"{host}:{port}"
    server.stop()


def run_role(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", str(TARGET / "inventory"), str(TARGET / "site.yml"),
        "-e", f"ns_address={address}", "-e", f"ns_password={SIMULATOR_PASSWORD}", *args,
    ]
    environment = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)}
    result = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, env=environment,
                            timeout=PLAYBOOK_TIMEOUT_SECONDS)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    return result


def control(address: str, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(f"http://{address}/_sim/{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_role_second_run_writes_nothing(simulator: str) -> None:
    run_role(simulator)
    control(simulator, "stats/reset", "POST")

    run_role(simulator)

    stats = control(simulator, "stats")
    assert stats["writes"] == 0, stats["write_log"]


def test_role_builds_the_load_balanced_set_up(simulator: str) -> None:
    run_role(simulator)

    state = control(simulator, "state")
    action = state["objects"]["authenticationldapaction"]["factorgate-ldap"]
    assert action["serverip"] == "127.0.0.55"
    assert action["authtimeout"] == 65
    assert set(state["objects"]["lbvserver"]) == {"factorgate-ldap"}
    assert state["saves"] == 1


def test_role_check_diff_shows_only_the_change(simulator: str) -> None:
    run_role(simulator)
    control(simulator, "stats/reset", "POST")

    result = run_role(simulator, "--check", "--diff", "-e", "netscaler_gateway_factor_timeout=90")

    diff_lines = [line for line in result.stdout.splitlines() if line.startswith(("-  ", "+  "))]
    assert diff_lines == ["-    authtimeout: 65", "+    authtimeout: 95"], result.stdout[-4000:]
    assert control(simulator, "stats")["writes"] == 0


def test_role_refuses_timeout_below_factor_wait(simulator: str) -> None:
    with pytest.raises(AssertionError, match="not longer than the second-factor wait"):
        run_role(simulator, "-e", "netscaler_gateway_authtimeout=30")


def test_role_radius_pushes_secret_with_always(simulator: str) -> None:
    radius = ["-e", "netscaler_gateway_protocol=radius"]
    run_role(simulator, *radius)

    run_role(simulator, *radius, "-e", "netscaler_gateway_update_password=always",
             "-e", "netscaler_gateway_radius_secret=Rotated-Radius-Secret-55")

    state = control(simulator, "state")
    stored = state["objects"]["authenticationradiusaction"]["factorgate-radius"]["radkey"]["sha256"]
    assert stored == hashlib.sha256(b"Rotated-Radius-Secret-55").hexdigest()


def test_role_cascade_binds_one_policy_per_node(simulator: str) -> None:
    run_role(simulator, "-e", "netscaler_gateway_mode=cascade")

    state = control(simulator, "state")
    bindings = state["bindings"]["vpnvserver_authenticationpolicy_binding"]
    order = [row["policy"] for row in sorted(bindings, key=lambda row: row["priority"])]
    assert order == ["factorgate-ldap-fg1", "factorgate-ldap-fg2"]


def test_role_output_carries_no_secret(simulator: str) -> None:
    first = run_role(simulator, "-vvv", "--diff")
    second = run_role(simulator, "-vvv", "--diff", "-e", "netscaler_gateway_protocol=radius",
                      "-e", "netscaler_gateway_update_password=always")

    for output in (first.stdout + first.stderr, second.stdout + second.stderr):
        for secret in (BIND_PASSWORD, RADIUS_SECRET, SIMULATOR_PASSWORD):
            assert secret not in output
