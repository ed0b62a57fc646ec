"""Fraud alert email: sent with STARTTLS to a local aiosmtpd server when a user presses 0#."""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from factorgate.auth.model import Reason
from factorgate.factors.fraud import AlertMailSettings

sys.path.insert(0, str(Path(__file__).parent))
from support.node import free_port  # noqa: E402
from support.tls import make_server_certificate  # noqa: E402
from test_second_factor import Node  # noqa: E402


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.tls_used: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.tls_used.append(session.ssl is not None)
        return "250 OK"


def make_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


@pytest.fixture
def smtp_server(tmp_path):
    ca_file, cert, key = make_server_certificate(make_dir(tmp_path / "smtp-tls"), "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True)
    controller.start()
    yield inbox, controller.port, ca_file
    controller.stop()


async def test_fraud_alert_email_received(tmp_path, smtp_server):
    inbox, port, ca_file = smtp_server
    mail = AlertMailSettings(recipients=("soc@example.test",), sender="factorgate@example.test",
                             host="127.0.0.1", port=port, starttls=True, ca_file=ca_file)
    node = Node(tmp_path, mail=mail)
    node.simulator.queue_answer("carol", "0#")
    decision = await node.login()
    await node.alerter.drain()
    assert decision.reason is Reason.FRAUD_REPORTED
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert recipients == ["soc@example.test"]
    assert b"Subject: FactorGate fraud alert: carol" in content
    assert b"factorgate users unblock carol" in content
    assert inbox.tls_used == [True]


async def test_fraud_alert_smtp_down_still_blocks(tmp_path, caplog):
    mail = AlertMailSettings(recipients=("soc@example.test",), host="127.0.0.1", port=free_port(), timeout=2)
    node = Node(tmp_path, mail=mail)
    node.simulator.queue_answer("carol", "0#")
    await node.login()
    await node.alerter.drain()
    assert node.store.get_block("44444444-4444-4444-4444-444444444444", node.clock.now) is not None
    assert "fraud alert email for user carol" in caplog.text


async def test_fraud_report_logs_warning(tmp_path, caplog):
    node = Node(tmp_path)
    node.simulator.queue_answer("carol", "0#")
    await node.login()
    assert "fraud reported: user=carol method=voice" in caplog.text
