"""The RADIUS front end's primary check: a simple bind as the user on pooled connections.

Opening a TLS connection per login would cost AD more than the bind itself,
so `AdBindChecker` keeps up to `pool_size` connections to the domain
controllers and rebinds on them. A connection that has bound as a user is
only ever used for further bind checks, never for a search, so no request
runs with the rights of a user who bound earlier. The login name goes to AD
exactly as the client sent it and the password as the exact octets received.
"""

from __future__ import annotations

import asyncio
import logging

from factorgate.auth.model import PrimaryResult
from factorgate.ldap import messages as m
from factorgate.ldap.upstream import UpstreamError, UpstreamProtocol, UpstreamSettings, open_upstream

log = logging.getLogger("factorgate.directory")

FIRST_MESSAGE_ID = 2        # 1 is the StartTLS request on a fresh connection
MAX_MESSAGE_ID = 2**31 - 1
DEFAULT_BIND_TIMEOUT = 10.0  # seconds to wait for one BindResponse

UNAVAILABLE = PrimaryResult(ok=False, result_code=m.ResultCode.UNAVAILABLE, diagnostic="directory unavailable",
                            unavailable=True)


class _PooledConnection:
    """One upstream connection and its next message ID."""

    def __init__(self, protocol: UpstreamProtocol) -> None:
        self.protocol = protocol
        self.next_message_id = FIRST_MESSAGE_ID

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id = FIRST_MESSAGE_ID if message_id >= MAX_MESSAGE_ID else message_id + 1
        return message_id


class AdBindChecker:
    """Check passwords with simple binds on a pool of connections to AD.

    Args:
        settings: the domain controllers, TLS and timeouts (shared with the LDAP proxy).
        pool_size: maximum connections; more concurrent checks wait for a free one.
        bind_timeout: seconds to wait for AD's BindResponse.
    """

    def __init__(self, settings: UpstreamSettings, pool_size: int, bind_timeout: float = DEFAULT_BIND_TIMEOUT) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1 (got {pool_size})")
        self._settings = settings
        self._bind_timeout = bind_timeout
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[_PooledConnection] = []
        self._all: set[_PooledConnection] = set()

    async def check(self, login: bytes, password: bytes) -> PrimaryResult:
        """Bind as `login` with `password` and return AD's result.

        An empty password never reaches AD, which would take it as an
        anonymous bind and return success (RFC 4513 §5.1.2).
        """
        if not password:
            return PrimaryResult(ok=False, result_code=m.ResultCode.INVALID_CREDENTIALS, diagnostic="empty password")
        async with self._slots:
            try:
                connection = await self._acquire()
            except UpstreamError as error:
                log.error("bind check could not reach AD: %s", error)
                return UNAVAILABLE
            try:
                result = await self._bind(connection, login, password)
            except (UpstreamError, asyncio.TimeoutError, m.BerError) as error:
                log.error("bind check on AD failed: %s", str(error) or type(error).__name__)
                self._discard(connection)
                return UNAVAILABLE
            self._idle.append(connection)
            return result

    async def close(self) -> None:
        """Close every pooled connection."""
        for connection in list(self._all):
            self._discard(connection)

    @property
    def connection_count(self) -> int:
        return len(self._all)

    async def _acquire(self) -> _PooledConnection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.protocol.closed:
                return connection
            self._all.discard(connection)
        protocol = await open_upstream(self._settings, self)
        connection = _PooledConnection(protocol)
        self._all.add(connection)
        return connection

    async def _bind(self, connection: _PooledConnection, login: bytes, password: bytes) -> PrimaryResult:
        message_id = connection.take_message_id()
        waiter = connection.protocol.expect(message_id, m.OP_BIND_RESPONSE)
        connection.protocol.send(m.encode_bind_request(message_id, login, password))
        envelope = await asyncio.wait_for(waiter, self._bind_timeout)
        result = m.decode_result(envelope)
        return PrimaryResult(
            ok=result.result_code == m.ResultCode.SUCCESS,
            result_code=result.result_code,
            diagnostic=result.diagnostic.decode("utf-8", "replace"),
        )

    def _discard(self, connection: _PooledConnection) -> None:
        self._all.discard(connection)
        if connection in self._idle:
            self._idle.remove(connection)
        connection.protocol.close()

    # UpstreamListener callbacks

    def upstream_message(self, upstream: UpstreamProtocol, envelope: m.Envelope) -> None:
        # Only BindResponses are expected; anything else (a Notice of
        # Disconnection, say) means the connection is no longer usable.
        log.info("unexpected message from AD on a bind-check connection; closing it")
        upstream.close()

    def upstream_closed(self, upstream: UpstreamProtocol, error: Exception | None) -> None:
        for connection in list(self._all):
            if connection.protocol is upstream:
                self._all.discard(connection)
                if connection in self._idle:
                    self._idle.remove(connection)
