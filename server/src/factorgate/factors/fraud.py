"""Fraud reports: block the user's second factor at once, log a warning, email the security team.

The block is written to this node's store. NOTE: until the pair replicates,
the other node does not know about the block; `docs/factors.md` says so.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

log = logging.getLogger("factorgate.factors")

DEFAULT_BLOCK_DAYS = 90


@dataclass(frozen=True)
class AlertMailSettings:
    recipients: tuple[str, ...] = ()
    sender: str = "factorgate@localhost"
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    username: str = ""
    password_file: Path | None = None
    ca_file: Path | None = None
    verify_certificate: bool = True
    timeout: float = 30.0


@dataclass(frozen=True)
class FraudReport:
    guid: str
    user: str
    method: str
    client: str
    protocol: str
    blocked_until: float


class FraudAlerter:
    """Block a user after a fraud report and send the alert email in the background."""

    def __init__(self, store, mail: AlertMailSettings, node: str, block_seconds: float,
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._mail = mail
        self._node = node
        self._block_seconds = block_seconds
        self._clock = clock
        self._sending: set[asyncio.Task] = set()

    def report(self, guid: str, user: str, method: str, client: str, protocol: str) -> FraudReport:
        """Block the user now and start the email; return what was recorded."""
        now = self._clock()
        until = now + self._block_seconds
        self._store.block_user(guid, until, f"fraud reported by {method}", now)
        log.warning(
            "fraud reported: user=%s method=%s client=%s protocol=%s node=%s; second factor blocked for %.0f days",
            user, method, client, protocol, self._node, self._block_seconds / 86400,
        )
        report = FraudReport(guid, user, method, client, protocol, until)
        if self._mail.recipients:
            task = asyncio.get_running_loop().create_task(self._send(report))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return report

    async def drain(self) -> None:
        """Wait for the emails still being sent (tests and shutdown)."""
        if self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def _send(self, report: FraudReport) -> None:
        import aiosmtplib

        mail = self._mail
        message = build_alert(report, mail, self._node)
        password = read_password(mail.password_file)
        try:
            await aiosmtplib.send(
                message,
                hostname=mail.host,
                port=mail.port,
                start_tls=mail.starttls,
                use_tls=False,
                username=mail.username or None,
                password=password,
                tls_context=build_tls_context(mail) if mail.starttls else None,
                timeout=mail.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            log.error("fraud alert email for user %s to %s:%d failed: %s", report.user, mail.host, mail.port, error)
            return
        log.info("fraud alert email for user %s sent to %s", report.user, ", ".join(mail.recipients))


def build_alert(report: FraudReport, mail: AlertMailSettings, node: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = f"FactorGate fraud alert: {report.user}"
    message.set_content(
        f"User {report.user} reported a second-factor prompt as fraud ({report.method}).\n"
        f"The login came from client {report.client} over {report.protocol}, to node {node}.\n"
        f"The user's second factor is blocked on {node}; every login of this user is refused until\n"
        f"an administrator runs: factorgate users unblock {report.user}\n"
        "Someone else probably knows this user's AD password: reset it.\n"
    )
    return message


def read_password(path: Path | None) -> str | None:
    if path is None:
        return None
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def build_tls_context(mail: AlertMailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(mail.ca_file) if mail.ca_file else None)
    if not mail.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
