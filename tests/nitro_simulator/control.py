"""Test-side state of the simulator: sessions, request counters, injected faults."""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Mapping

from . import errors

MAX_WRITE_LOG = 500


@dataclass
class Session:
    username: str
    last_used: float
    timeout: float


class Sessions:
    """NITRO login sessions with an idle timeout measured on an injectable clock."""

    def __init__(self, clock: Callable[[], float], default_timeout: float) -> None:
        self._clock = clock
        self.offset = 0.0
        self.default_timeout = default_timeout
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock() + self.offset

    def create(self, username: str, timeout: float | None) -> str:
        # The appliance's session ids start with "##"; clients send the same
        # value back as the NITRO_AUTH_TOKEN cookie.
        token = "##" + secrets.token_hex(24).upper()
        with self._lock:
            self._sessions[token] = Session(username, self.now(), timeout or self.default_timeout)
        return token

    def touch(self, token: str) -> Session:
        """Return the live session for ``token`` and restart its idle timer.

        Raises:
            NitroError: 444 when the token is unknown, logged out or idle
                longer than its timeout.
        """
        with self._lock:
            session = self._sessions.get(token)
            now = self.now()
            if session is None or now - session.last_used > session.timeout:
                self._sessions.pop(token, None)
                raise errors.NitroError(errors.SESSION_EXPIRED)
            session.last_used = now
            return session

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def expire_all(self) -> None:
        with self._lock:
            self._sessions.clear()

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)


@dataclass
class Stats:
    """Request counters; writes are POST/PUT/DELETE under /nitro except login/logout."""

    by_method: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    logins: int = 0
    logouts: int = 0
    write_log: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_WRITE_LOG))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, resource: str | None) -> None:
        with self.lock:
            self.by_method[method] += 1
            if resource == "login":
                self.logins += 1
            elif resource == "logout":
                self.logouts += 1
            elif method in ("POST", "PUT", "DELETE") and path.startswith("/nitro/"):
                self.writes += 1
                self.write_log.append(f"{method} {path}")

    def to_json(self) -> dict[str, object]:
        with self.lock:
            return {
                "requests": sum(self.by_method.values()),
                "by_method": dict(self.by_method),
                "writes": self.writes,
                "logins": self.logins,
                "logouts": self.logouts,
                "write_log": list(self.write_log),
            }

    def reset(self) -> None:
        with self.lock:
            self.by_method.clear()
            self.writes = self.logins = self.logouts = 0
            self.write_log.clear()


@dataclass
class FaultRule:
    """One injected fault, applied to the next ``times`` matching requests."""

    times: int = 1
    status: int | None = None
    errorcode: int = errors.COMMAND_EXECUTION_FAILED
    message: str | None = None
    delay: float = 0.0
    drop: bool = False
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or path.startswith(self.path)


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, spec: Mapping[str, object]) -> FaultRule:
        """Queue a fault described by a ``/_sim/fail`` body.

        Raises:
            ValueError: for an unknown key or a value of the wrong type.
        """
        allowed = {"times", "status", "errorcode", "message", "delay", "drop", "method", "path"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        rule = FaultRule(**spec)  # type: ignore[arg-type]
        if rule.times < 1 or rule.delay < 0:
            raise ValueError("times must be at least 1 and delay must not be negative")
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._rules)
