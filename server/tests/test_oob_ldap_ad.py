"""Calls, SMS, HOTP, fraud and bypass end to end: `ldapsearch` through a real node to the test AD.

The node uses the simulator provider. Its script file is the hook a test uses
to choose how the simulated phone answers the next call.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from factorgate.factors.otp import hotp
from support.node import Node

pytestmark = pytest.mark.ad

RFC4226_SEED = b"12345678901234567890"
VOICE_TIMEOUT = 3


@pytest.fixture(scope="module")
def node(tmp_path_factory, test_ad):
    root = tmp_path_factory.mktemp("fg-oob")
    node = Node(root, test_ad)
    node.script_file = root / "simulator-script.json"
    node.outbox_file = root / "simulator-outbox.jsonl"
    config = yaml.safe_load(node.config_path.read_text())
    config["import"].update({"default_method": "totp", "phone_region": "US"})
    config["factors"] = {
        "voice": {"provider": "simulator", "timeout": VOICE_TIMEOUT},
        "sms": {"provider": "simulator"},
        "lockout": {"max_failures": 100},
        "prompts": {"limit": 100, "window": 60},
        "providers": {"simulator": {"default_answer": "#", "script_file": str(node.script_file),
                                    "outbox_file": str(node.outbox_file)}},
    }
    node.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    node.cli("users", "import")
    node.cli("users", "set-method", "carol", "voice")
    node.cli("users", "set-method", "alice", "sms")
    node.cli("users", "enroll-hotp", "dora", "--secret-file", "-", input=base64.b32encode(RFC4226_SEED).decode())
    node.cli("users", "set-method", "dora", "hotp")
    node.start()
    yield node
    assert node.stop() == 0
    assert "Traceback" not in node.log_text


def answer_calls(node: Node, **answers: str) -> None:
    node.script_file.write_text(json.dumps(answers))


def ldapsearch(node: Node, user: dict, password: str) -> subprocess.CompletedProcess:
    command = ["ldapsearch", "-x", "-LLL", "-H", node.url, "-D", user["dn"], "-w", password,
               "-b", user["dn"], "-s", "base", "dn"]
    return subprocess.run(command, capture_output=True, text=True, timeout=VOICE_TIMEOUT + 30)


def calls_placed(node: Node, user: str) -> int:
    return len(re.findall(rf"voice for {user} through simulator", node.log_text))


def auth_lines(node: Node, user: str) -> list[str]:
    return [line for line in node.log_text.splitlines() if "factorgate.audit" in line and f"user={user} " in line]


def wait_for_log(node: Node, needle: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in node.log_text and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def carol(test_ad):
    return test_ad["users"]["carol"]


# Voice


def test_voice_approved_with_pound(node, carol):
    answer_calls(node, carol="#")
    result = ldapsearch(node, carol, carol["password"])
    assert result.returncode == 0, result.stderr
    assert carol["dn"] in result.stdout
    assert "reason=OOB_APPROVED outcome=SUCCESS_NO_PIN" in auth_lines(node, "carol")[-1]


@pytest.mark.parametrize(("answer", "outcome"), [
    ("hangup", "FAILED_USER_HUNGUP_ON_US"),
    ("no_answer", "FAILED_NO_ANSWER"),
    ("silent", "SUCCESS_NO_PIN_BUT_TIMEOUT"),
    ("1234", "SUCCESS_WITH_PIN_BUT_TIMEOUT"),
])
def test_voice_not_approved(node, carol, answer, outcome):
    answer_calls(node, carol=answer)
    result = ldapsearch(node, carol, carol["password"])
    assert result.returncode == 49
    assert "second factor failed" in result.stderr
    assert f"outcome={outcome}" in auth_lines(node, "carol")[-1]


def test_voice_timeout_waits_then_fails(node, carol):
    answer_calls(node, carol="never")
    started = time.monotonic()
    result = ldapsearch(node, carol, carol["password"])
    elapsed = time.monotonic() - started
    assert result.returncode == 49
    assert elapsed >= VOICE_TIMEOUT
    assert "outcome=FAILED_NO_ANSWER" in auth_lines(node, "carol")[-1]


def test_voice_wrong_password_places_no_call(node, carol):
    answer_calls(node, carol="#")
    before = calls_placed(node, "carol")
    result = ldapsearch(node, carol, "Wrong-Password-99")
    assert result.returncode == 49
    assert "data 52e" in result.stderr
    assert calls_placed(node, "carol") == before


# Fraud, unblock, bypass


def test_fraud_blocks_at_once_and_later_logins_without_call(node, carol):
    answer_calls(node, carol="0#")
    reported = ldapsearch(node, carol, carol["password"])
    assert reported.returncode == 49
    assert "fraud reported: user=carol method=voice" in node.log_text

    answer_calls(node, carol="#")
    before = calls_placed(node, "carol")
    later = ldapsearch(node, carol, carol["password"])
    assert later.returncode == 49
    assert "blocked after a fraud report" in later.stderr
    assert "reason=FRAUD_BLOCKED" in auth_lines(node, "carol")[-1]
    assert calls_placed(node, "carol") == before

    node.cli("users", "unblock", "carol")
    unblocked = ldapsearch(node, carol, carol["password"])
    assert unblocked.returncode == 0, unblocked.stderr


def test_bypass_used_once(node, carol):
    node.cli("users", "bypass", "carol", "--seconds", "120", "--reason", "phone left at home")
    answer_calls(node, carol="hangup")
    first = ldapsearch(node, carol, carol["password"])
    second = ldapsearch(node, carol, carol["password"])
    assert first.returncode == 0, first.stderr
    assert second.returncode == 49
    assert "one-time bypass (reason: phone left at home)" in node.log_text


# SMS


def test_sms_code_appended_on_second_login(node, test_ad):
    alice = test_ad["users"]["alice"]
    first = ldapsearch(node, alice, alice["password"])
    assert first.returncode == 49
    assert "SMS sent, log in again with the code appended" in first.stderr

    message = json.loads(node.outbox_file.read_text().splitlines()[-1])
    code = re.search(r"\b(\d{6})\b", message["message"]).group(1)
    assert message["phone"] == "+15550100"
    second = ldapsearch(node, alice, alice["password"] + code)
    assert second.returncode == 0, second.stderr

    reused = ldapsearch(node, alice, alice["password"] + code)
    assert reused.returncode == 49


# HOTP


def test_hotp_drift_inside_window_accepted(node, test_ad):
    dora = test_ad["users"]["dora"]
    result = ldapsearch(node, dora, dora["password"] + hotp(RFC4226_SEED, 3))
    assert result.returncode == 0, result.stderr


def test_hotp_drift_outside_window_rejected(node, test_ad):
    dora = test_ad["users"]["dora"]
    result = ldapsearch(node, dora, dora["password"] + hotp(RFC4226_SEED, 40))
    assert result.returncode == 49
    assert "invalid code" in result.stderr


def test_hotp_used_code_rejected(node, test_ad):
    dora = test_ad["users"]["dora"]
    result = ldapsearch(node, dora, dora["password"] + hotp(RFC4226_SEED, 3))
    assert result.returncode == 49
