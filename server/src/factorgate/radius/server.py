"""The RADIUS listeners: UDP sockets whose protocol only moves bytes.

Sockets are bound by `bind_radius_socket` before privileges are dropped, at
the same point as the LDAP sockets. Ports 1812 and 1645 are not privileged,
but a configured port below 1024 would be. Every datagram goes to the shared
`RadiusHandler`, which owns all protocol logic.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from factorgate.radius.handler import Address, RadiusHandler

log = logging.getLogger("factorgate.radius")

RECEIVE_BUFFER_OCTETS = 4 * 1024 * 1024   # absorbs bursts while the loop is busy


def bind_radius_socket(address: str, port: int) -> socket.socket:
    """Create and bind a UDP socket (done before privileges are dropped)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_OCTETS)
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class RadiusProtocol(asyncio.DatagramProtocol):
    """Hand each datagram to the handler and send its replies on the same socket."""

    def __init__(self, handler: RadiusHandler) -> None:
        self._handler = handler
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._handler.datagram_received(data, addr, self._send)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away, for example.
        log.debug("RADIUS socket error: %s", exc)

    def _send(self, reply: bytes, addr: Address) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(reply, addr)


class RadiusServer:
    """Run one `RadiusProtocol` per bound socket, all sharing one handler."""

    def __init__(self, handler: RadiusHandler) -> None:
        self._handler = handler
        self._transports: list[asyncio.DatagramTransport] = []

    async def start(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for sock in sockets:
            transport, _ = await loop.create_datagram_endpoint(lambda: RadiusProtocol(self._handler), sock=sock)
            self._transports.append(transport)
            host, port = sock.getsockname()[:2]
            log.info("listening on radius://%s:%s (udp)", host, port)

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` s for requests in progress, then close the sockets.

        The sockets stay open while draining, so replies still reach the
        clients; new requests that arrive meanwhile are processed too.
        """
        left = await self._handler.drain(timeout)
        if left:
            log.warning("RADIUS drain timed out with %d requests in progress", left)
        for transport in self._transports:
            transport.close()
