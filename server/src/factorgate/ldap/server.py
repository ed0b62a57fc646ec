"""The LDAP listeners: accept client connections and keep track of sessions.

Each listening socket is either plain (StartTLS offered when a certificate is
configured) or LDAPS. The server closes sessions that stay idle too long and,
on shutdown, stops accepting, lets binds in progress finish up to a deadline,
then closes everything.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from dataclasses import dataclass

from factorgate.auth.pipeline import Pipeline
from factorgate.ldap.session import LdapSession, SessionSettings
from factorgate.radius.ratelimit import RateLimitedLog

log = logging.getLogger("factorgate.ldap")

IDLE_SWEEP_INTERVAL = 10.0  # seconds between two scans for idle sessions


@dataclass(frozen=True)
class BoundListener:
    sock: socket.socket
    ldaps: bool

    @property
    def label(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{'ldaps' if self.ldaps else 'ldap'}://{host}:{port}"


def bind_listener(address: str, port: int, ldaps: bool, backlog: int = 1024) -> BoundListener:
    """Create and bind a listening socket (done before privileges are dropped)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return BoundListener(sock, ldaps)


@dataclass(frozen=True)
class ConnectionLimits:
    """Caps on open client connections, so that clients holding idle
    connections cannot exhaust the process's file descriptors."""

    total: int = 10000
    per_client: int = 5000


class LdapServer:
    def __init__(
        self,
        settings: SessionSettings,
        pipeline: Pipeline,
        server_tls: ssl.SSLContext | None,
        idle_timeout: float,
        limits: ConnectionLimits = ConnectionLimits(),
    ) -> None:
        self._settings = settings
        self._pipeline = pipeline
        self._server_tls = server_tls
        self._idle_timeout = idle_timeout
        self._limits = limits
        self._servers: list[asyncio.AbstractServer] = []
        self._sessions: set[LdapSession] = set()
        self._per_client: dict[str, int] = {}
        self._refusals = RateLimitedLog(log)
        self._sweeper: asyncio.Task | None = None

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def start(self, listeners: list[BoundListener]) -> None:
        loop = asyncio.get_running_loop()
        for listener in listeners:
            if listener.ldaps and self._server_tls is None:
                raise ValueError(f"{listener.label}: LDAPS needs ldap.certificate and ldap.private_key")
            server = await loop.create_server(
                lambda ldaps=listener.ldaps: self._new_session(ldaps),
                sock=listener.sock,
                ssl=self._server_tls if listener.ldaps else None,
                ssl_handshake_timeout=10.0 if listener.ldaps else None,
            )
            self._servers.append(server)
            log.info("listening on %s", listener.label)
        self._sweeper = loop.create_task(self._sweep_idle())

    def _new_session(self, ldaps: bool) -> LdapSession:
        return LdapSession(self._settings, self._pipeline, tls=ldaps, admit=self._admit, on_close=self._release)

    def _admit(self, session: LdapSession) -> bool:
        """Count a new connection in, or refuse it when a limit is reached."""
        count = self._per_client.get(session.peer, 0)
        if len(self._sessions) >= self._limits.total:
            self._refusals.warning("total", "", "connection from %s refused: %d connections open, the maximum "
                                   "(ldap.max_connections)", session.peer, len(self._sessions))
            return False
        if count >= self._limits.per_client:
            self._refusals.warning("client", session.peer, "connection from %s refused: it has %d connections open, "
                                   "the maximum per client (ldap.max_connections_per_client)", session.peer, count)
            return False
        self._per_client[session.peer] = count + 1
        self._sessions.add(session)
        return True

    def _release(self, session: LdapSession) -> None:
        if session not in self._sessions:
            return
        self._sessions.discard(session)
        remaining = self._per_client.get(session.peer, 1) - 1
        if remaining > 0:
            self._per_client[session.peer] = remaining
        else:
            self._per_client.pop(session.peer, None)

    async def _sweep_idle(self) -> None:
        while True:
            await asyncio.sleep(IDLE_SWEEP_INTERVAL)
            deadline = time.monotonic() - self._idle_timeout
            idle = [s for s in self._sessions if s.last_activity < deadline and not s.busy]
            for session in idle:
                session.close()
            if idle:
                log.info("closed %d idle connections", len(idle))

    async def drain(self, timeout: float) -> None:
        """Stop accepting, wait up to `timeout` s for binds in progress, then close all."""
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()

        deadline = time.monotonic() + timeout
        while any(s.busy for s in self._sessions) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        busy = sum(1 for s in self._sessions if s.busy)
        if busy:
            log.warning("drain timed out with %d logins in progress", busy)

        for session in list(self._sessions):
            session.close()
        for server in self._servers:
            await server.wait_closed()
