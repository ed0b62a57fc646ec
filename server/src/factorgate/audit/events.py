"""The auth log: one line per login decision, on the `factorgate.audit` logger.

Fields are key=value pairs so that syslog receivers and grep can pick them
apart. A line never contains a password, a code or a secret.
"""

from __future__ import annotations

import logging

from factorgate.auth.model import AuthDecision, AuthRequest

audit_log = logging.getLogger("factorgate.audit")


def record_decision(request: AuthRequest, decision: AuthDecision, duration: float) -> None:
    """Write one auth-log line for a finished login."""
    user = decision.user.sam_account_name if decision.user else "-"
    level = logging.INFO if decision.accepted else logging.WARNING
    audit_log.log(
        level,
        "auth protocol=%s client=%s client_name=%s login=%r user=%s verdict=%s reason=%s outcome=%s duration_ms=%.1f",
        request.protocol,
        request.client_address,
        request.client_name or "-",
        request.login,
        user,
        decision.verdict.value,
        decision.reason.value,
        decision.outcome or "-",
        duration * 1000.0,
    )
