"""Calls and SMS over RADIUS end to end: FreeRADIUS's radclient through a real node to the test AD.

Logins use the UPN, which AD accepts as a bind name. A voice login waits out of band inside one Access-Request; radclient's
retransmissions of it must not start a second call. An SMS user gets an
Access-Challenge and answers it with the code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from support.node import Node
from test_radius_ad import SECRET, login, quote

pytestmark = [
    pytest.mark.ad,
    pytest.mark.skipif(shutil.which("radclient") is None, reason="radclient not installed (apt-get install freeradius-utils)"),
]


@pytest.fixture(scope="module")
def node(tmp_path_factory, test_ad):
    secret_file = tmp_path_factory.mktemp("oob-radius-secret") / "nas.secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    radius = {"clients": [{"name": "nas-append", "address": "127.0.0.0/8", "secret_file": str(secret_file),
                           "otp_mode": "append"}]}
    root = tmp_path_factory.mktemp("fg-oob-radius")
    node = Node(root, test_ad, radius=radius)
    node.script_file = root / "simulator-script.json"
    node.outbox_file = root / "simulator-outbox.jsonl"
    config = yaml.safe_load(node.config_path.read_text())
    config["factors"] = {
        "voice": {"provider": "simulator", "timeout": 10},
        "prompts": {"limit": 100, "window": 60},
        "providers": {"simulator": {"script_file": str(node.script_file), "outbox_file": str(node.outbox_file)}},
    }
    node.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    node.cli("users", "import")
    node.cli("users", "set-method", "carol", "voice")
    node.cli("users", "set-method", "alice", "sms")
    node.start()
    yield node
    assert node.stop() == 0
    assert "Traceback" not in node.log_text


def answer_calls(node: Node, **answers: str) -> None:
    node.script_file.write_text(json.dumps(answers))


def calls_placed(node: Node, user: str) -> int:
    return len(re.findall(rf"voice for {user} through simulator", node.log_text))


def radclient_with_retries(node: Node, user: str, password: str, retries: int, timeout: float) -> str:
    """Send one Access-Request and let radclient retransmit it `retries` times, `timeout` seconds apart."""
    lines = [f"User-Name = {quote(user)}", f"User-Password = {quote(password)}", "Message-Authenticator = 0x00"]
    result = subprocess.run(
        ["radclient", "-x", "-r", str(retries), "-t", str(timeout), f"{node.address}:{node.radius_port}", "auth", SECRET],
        input=("\n".join(lines) + "\n").encode(), capture_output=True, timeout=60, check=False,
    )
    return result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")


def test_voice_waits_out_of_band(node, test_ad):
    carol = test_ad["users"]["carol"]
    answer_calls(node, carol="#")
    reply = login(node, carol["upn"], carol["password"])
    assert reply.code == "Access-Accept", reply.output


def test_voice_retransmissions_start_one_call(node, test_ad):
    carol = test_ad["users"]["carol"]
    answer_calls(node, carol="slow:3:#")
    before = calls_placed(node, "carol")
    output = radclient_with_retries(node, carol["upn"], carol["password"], retries=4, timeout=1)
    assert "Received Access-Accept" in output, output
    assert output.count("Sent Access-Request") >= 2
    assert calls_placed(node, "carol") == before + 1


def test_voice_hangup_rejected(node, test_ad):
    carol = test_ad["users"]["carol"]
    answer_calls(node, carol="hangup")
    reply = login(node, carol["upn"], carol["password"])
    assert reply.code == "Access-Reject"
    assert "outcome=FAILED_USER_HUNGUP_ON_US" in node.log_text


def test_fraud_over_radius_blocks_later_logins(node, test_ad):
    carol = test_ad["users"]["carol"]
    answer_calls(node, carol="0#")
    reported = login(node, carol["upn"], carol["password"])
    answer_calls(node, carol="#")
    before = calls_placed(node, "carol")
    later = login(node, carol["upn"], carol["password"])
    node.cli("users", "unblock", "carol")
    assert reported.code == "Access-Reject"
    assert later.code == "Access-Reject"
    assert calls_placed(node, "carol") == before


def test_sms_code_through_access_challenge(node, test_ad):
    alice = test_ad["users"]["alice"]
    challenge = login(node, alice["upn"], alice["password"])
    assert challenge.code == "Access-Challenge", challenge.output
    assert challenge.reply_message == "Enter the code sent to your phone by SMS"

    message = json.loads(node.outbox_file.read_text().splitlines()[-1])
    code = re.search(r"\b(\d{6})\b", message["message"]).group(1)
    answer = login(node, alice["upn"], code, state=challenge.state)
    assert answer.code == "Access-Accept", answer.output


def test_sms_wrong_code_rejected(node, test_ad):
    alice = test_ad["users"]["alice"]
    challenge = login(node, alice["upn"], alice["password"])
    answer = login(node, alice["upn"], "000000", state=challenge.state)
    assert answer.code == "Access-Reject"
