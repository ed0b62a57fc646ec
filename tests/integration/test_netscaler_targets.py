"""Run the netscaler_* integration targets against a fresh NITRO simulator each.

Each target in tests/integration/targets/netscaler_* is a role whose tasks
check, apply, re-apply and verify one module. The simulator listens on
127.0.0.22 on an ephemeral port; no root and no test AD are needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nitro_simulator import NitroSimulator, SimulatorConfig

REPOSITORY = Path(__file__).resolve().parents[2]
TARGETS = REPOSITORY / "tests" / "integration" / "targets"
RUNNER = TARGETS / "netscaler_runner" / "run_target.yml"
COLLECTIONS = REPOSITORY / ".collections"
SIMULATOR_PASSWORD = "simulator-pass-31"
TARGET_NAMES = sorted(path.name for path in TARGETS.glob("netscaler_*") if (path / "tasks" / "main.yml").exists())
PLAYBOOK_TIMEOUT_SECONDS = 300


def ansible_playbook() -> str:
    return str(Path(sys.executable).parent / "ansible-playbook")


@pytest.fixture
def simulator() -> str:
    server = NitroSimulator(SimulatorConfig(address="127.0.0.22", port=0, password=SIMULATOR_PASSWORD))
    host, port = server.start()
    yield f"{host}:{port}"
    server.stop()


def run_target(target: str, address: str) -> subprocess.CompletedProcess[str]:
    command = [
        ansible_playbook(), "-i", "localhost,", "-c", "local", str(RUNNER),
        "-e", f"target={target}", "-e", f"nitro_address={address}", "-e", f"nitro_password={SIMULATOR_PASSWORD}",
        "-e", f"ansible_python_interpreter={sys.executable}",
    ]
    environment = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_ROLES_PATH": str(TARGETS),
                   "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)}
    return subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, env=environment,
                          timeout=PLAYBOOK_TIMEOUT_SECONDS)


@pytest.mark.skipif(not (COLLECTIONS / "ansible_collections" / "factorgate" / "mfa").exists(),
                    reason="the collection is not linked: run make collection")
@pytest.mark.parametrize("target", TARGET_NAMES)
def test_netscaler_target(target: str, simulator: str) -> None:
    result = run_target(target, simulator)

    assert result.returncode == 0, f"{target} failed:\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
