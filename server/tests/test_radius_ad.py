"""The RADIUS front end end to end: FreeRADIUS's radclient through real nodes to the test AD.

Three nodes run, one per `otp_mode` (challenge, append, code_only), because a
client is chosen by source address and radclient always sends from
127.0.0.1. Each node has its own store, so a TOTP step consumed on one node
is still fresh on the others.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest
import yaml

from factorgate.factors.otp import totp
from support.node import Node

pytestmark = [
    pytest.mark.ad,
    pytest.mark.skipif(shutil.which("radclient") is None, reason="radclient not installed (apt-get install freeradius-utils)"),
]

ALICE_SEED = b"alice-radius-seed-0001"[:20]
DORA_SEED = b"dora-radius-seed-00001"[:20]
SECRET = "radius-ad-test-secret-of-32-oct!"


@dataclass
class RadiusReply:
    code: str                 # "Access-Accept", "Access-Reject", "Access-Challenge" or "" (no reply)
    reply_message: str
    state: str                # hex digits without 0x, or ""
    output: str


def radclient(node: Node, attributes: dict[str, str], *, message_authenticator: bool = True,
              secret: str = SECRET) -> RadiusReply:
    """Send one Access-Request with radclient and parse the reply it prints."""
    lines = [f'{name} = {value}' for name, value in attributes.items()]
    if message_authenticator:
        lines.append("Message-Authenticator = 0x00")
    result = subprocess.run(
        ["radclient", "-x", "-r", "1", "-t", "5", f"{node.address}:{node.radius_port}", "auth", secret],
        input=("\n".join(lines) + "\n").encode("utf-8"), capture_output=True, timeout=30, check=False,
    )
    output = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
    received = re.search(r"Received (Access-\w+)", output)
    message = re.search(r'Reply-Message = "([^"]*)"', output)
    state = re.search(r"State = 0x([0-9a-fA-F]+)", output)
    return RadiusReply(
        code=received.group(1) if received else "",
        reply_message=message.group(1) if message else "",
        state=state.group(1) if state else "",
        output=output,
    )


def login(node: Node, user: str, password: str, state: str = "", **options) -> RadiusReply:
    attributes = {"User-Name": quote(user), "User-Password": quote(password)}
    if state:
        attributes["State"] = "0x" + state
    return radclient(node, attributes, **options)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def start_node(tmp_path_factory, test_ad, name: str, client: dict) -> Node:
    secret_file = tmp_path_factory.mktemp(f"{name}-secret") / "nas.secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    radius = {"clients": [{"name": f"nas-{name}", "address": "127.0.0.0/8", "secret_file": str(secret_file), **client}]}
    node = Node(tmp_path_factory.mktemp(f"fg-radius-{name}"), test_ad, radius=radius)
    node.cli("users", "import")
    node.cli("users", "enroll", "alice", "--method", "totp", "--secret-file", "-", input=base64.b32encode(ALICE_SEED).decode())
    node.cli("users", "enroll", "dora", "--method", "totp", "--secret-file", "-", input=base64.b32encode(DORA_SEED).decode())
    node.start()
    return node


def stop_node(node: Node) -> None:
    assert node.stop() == 0
    assert "Traceback" not in node.log_text


@pytest.fixture(scope="module")
def challenge_node(tmp_path_factory, test_ad):
    node = start_node(tmp_path_factory, test_ad, "challenge", {"otp_mode": "challenge"})
    yield node
    stop_node(node)


@pytest.fixture(scope="module")
def append_node(tmp_path_factory, test_ad):
    node = start_node(tmp_path_factory, test_ad, "append", {"otp_mode": "append"})
    yield node
    stop_node(node)


@pytest.fixture(scope="module")
def code_only_node(tmp_path_factory, test_ad):
    node = start_node(tmp_path_factory, test_ad, "code-only", {"otp_mode": "code_only", "code_only_allowed": True})
    yield node
    stop_node(node)


def upn(test_ad, name: str) -> str:
    return test_ad["users"][name]["upn"]


def password(test_ad, name: str) -> str:
    return test_ad["users"][name]["password"]


def code(seed: bytes) -> str:
    return totp(seed, time.time(), 6, "SHA1", 30)


# --- append and code_only ----------------------------------------------------------


def test_append_code_accepted(append_node, test_ad):
    reply = login(append_node, upn(test_ad, "alice"), password(test_ad, "alice") + code(ALICE_SEED))
    assert reply.code == "Access-Accept", reply.output


def test_append_reused_code_rejected(append_node, test_ad):
    used = code(ALICE_SEED)
    first = login(append_node, upn(test_ad, "alice"), password(test_ad, "alice") + used)
    second = login(append_node, upn(test_ad, "alice"), password(test_ad, "alice") + used)
    assert second.code == "Access-Reject", second.output
    assert second.reply_message == "Code already used; wait for the next one"
    assert first.code in ("Access-Accept", "Access-Reject")   # rejected when test_append_code_accepted used this step


def test_append_non_ascii_password_accepted(append_node, test_ad):
    reply = login(append_node, upn(test_ad, "dora"), password(test_ad, "dora") + code(DORA_SEED))
    assert reply.code == "Access-Accept", reply.output


def test_code_only_accepted_for_marked_client(code_only_node, test_ad):
    reply = login(code_only_node, upn(test_ad, "alice"), code(ALICE_SEED))
    assert reply.code == "Access-Accept", reply.output


def test_code_only_wrong_code_rejected(code_only_node, test_ad):
    reply = login(code_only_node, upn(test_ad, "alice"), "000000" if code(ALICE_SEED) != "000000" else "111111")
    assert reply.code == "Access-Reject", reply.output


def test_code_only_refused_for_unmarked_client(challenge_node, test_ad):
    reply = login(challenge_node, upn(test_ad, "alice"), code(ALICE_SEED))
    assert reply.code == "Access-Reject", reply.output
    assert reply.reply_message == "Wrong user name or password"


def test_code_only_refused_by_check_config(challenge_node):
    config = yaml.safe_load(challenge_node.config_path.read_text())
    config["radius"]["clients"][0]["otp_mode"] = "code_only"
    path = challenge_node.root / "code-only-unmarked.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(["factorgate", "-c", str(path), "check-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "radius.clients[0].otp_mode: is code_only, which skips the AD password check" in result.stderr


# --- the challenge flow ------------------------------------------------------------------


def challenge(node: Node, test_ad, name: str = "alice") -> RadiusReply:
    reply = login(node, upn(test_ad, name), password(test_ad, name))
    assert reply.code == "Access-Challenge", reply.output
    assert reply.state, reply.output
    return reply


def test_challenge_then_code_accepted(challenge_node, test_ad):
    first = challenge(challenge_node, test_ad)
    assert first.reply_message == "Enter the code from your authenticator app"
    second = login(challenge_node, upn(test_ad, "alice"), code(ALICE_SEED), first.state)
    assert second.code == "Access-Accept", second.output


def test_challenge_wrong_code_rejected(challenge_node, test_ad):
    first = challenge(challenge_node, test_ad)
    wrong = "000000" if code(ALICE_SEED) != "000000" else "111111"
    second = login(challenge_node, upn(test_ad, "alice"), wrong, first.state)
    assert second.code == "Access-Reject", second.output
    assert second.reply_message == "Wrong code"


def test_challenge_reused_code_rejected(challenge_node, test_ad):
    used = code(ALICE_SEED)
    first = challenge(challenge_node, test_ad)
    login(challenge_node, upn(test_ad, "alice"), used, first.state)
    again = challenge(challenge_node, test_ad)
    second = login(challenge_node, upn(test_ad, "alice"), used, again.state)
    assert second.code == "Access-Reject", second.output
    assert second.reply_message == "Code already used; wait for the next one"


def test_replayed_state_rejected(challenge_node, test_ad):
    first = challenge(challenge_node, test_ad)
    login(challenge_node, upn(test_ad, "alice"), "000000", first.state)
    replay = login(challenge_node, upn(test_ad, "alice"), code(ALICE_SEED), first.state)
    assert replay.code == "Access-Reject", replay.output
    assert replay.reply_message == "Login session expired or invalid; log in again"


def test_foreign_state_rejected(challenge_node, test_ad):
    challenge(challenge_node, test_ad)
    forged = "00" * 16
    reply = login(challenge_node, upn(test_ad, "alice"), code(ALICE_SEED), forged)
    assert reply.code == "Access-Reject", reply.output
    assert reply.reply_message == "Login session expired or invalid; log in again"


def test_state_of_other_node_rejected(challenge_node, append_node, test_ad):
    # append_node never issues States, so any State it gets is foreign to it.
    first = challenge(challenge_node, test_ad)
    reply = login(append_node, upn(test_ad, "alice"), code(ALICE_SEED), first.state)
    assert reply.code == "Access-Reject", reply.output


def test_second_users_state_rejected(challenge_node, test_ad):
    alice_challenge = challenge(challenge_node, test_ad, "alice")
    reply = login(challenge_node, upn(test_ad, "dora"), code(DORA_SEED), alice_challenge.state)
    assert reply.code == "Access-Reject", reply.output
    assert reply.reply_message == "Login session expired or invalid; log in again"


# --- AD's own refusals ----------------------------------------------------------------


def test_not_enrolled_user_accepted_with_ad_password(challenge_node, test_ad):
    reply = login(challenge_node, upn(test_ad, "bob"), password(test_ad, "bob"))
    assert reply.code == "Access-Accept", reply.output


@pytest.mark.parametrize("name", ["bob", "CORP\\bob"])
def test_bare_and_downlevel_names_accepted(challenge_node, test_ad, name):
    """A NAS passes on what the user typed; a bare sAMAccountName must work too."""
    reply = login(challenge_node, name, password(test_ad, "bob"))
    assert reply.code == "Access-Accept", reply.output


def test_wrong_password_rejected(challenge_node, test_ad):
    reply = login(challenge_node, upn(test_ad, "carol"), "not-carols-password")
    assert reply.code == "Access-Reject", reply.output
    assert reply.reply_message == "Wrong user name or password"


@pytest.mark.parametrize(("name", "message"), [
    ("disabled", "Account disabled"),
    ("locked", "Account locked out"),
    ("mustchange", "Password must be changed"),
])
def test_ad_refusal_message(challenge_node, test_ad, name, message):
    reply = login(challenge_node, upn(test_ad, name), password(test_ad, name))
    assert reply.code == "Access-Reject", reply.output
    assert reply.reply_message == message
    assert not reply.state


def test_missing_message_authenticator_gets_no_answer(challenge_node, test_ad):
    reply = login(challenge_node, upn(test_ad, "bob"), password(test_ad, "bob"), message_authenticator=False)
    assert reply.code == "", reply.output
    assert "No reply from server" in reply.output


def test_wrong_secret_gets_no_answer(challenge_node, test_ad):
    reply = login(challenge_node, upn(test_ad, "bob"), password(test_ad, "bob"), secret="not-the-secret-of-this-client!!")
    assert reply.code == "", reply.output


def test_node_log_has_no_secrets(challenge_node, test_ad):
    text = challenge_node.log_text
    assert SECRET not in text
    assert password(test_ad, "alice") not in text
    assert password(test_ad, "bob") not in text
