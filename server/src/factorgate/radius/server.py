"""The RADIUS listeners: UDP sockets whose readers only move bytes.

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
MAX_DATAGRAMS_PER_TURN = 64               # then other callbacks (replies of finished logins) get a turn
MAX_DATAGRAM_OCTETS = 4096                # RFC 2865 §3 maximum; octets past it can only be padding


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


class RadiusSocketReader:
    """Read every queued datagram of one socket per readiness event and send replies on it.

    asyncio's datagram transport reads one datagram per event-loop turn.
    Draining up to MAX_DATAGRAMS_PER_TURN per turn saves a poll per datagram
    under load, which the 10,000 requests per second per core goal needs.
    Replies are sent with a non-blocking `sendto`. A reply that does not fit
    the socket buffer is dropped, as the network may drop it anyway, and the
    client's retransmission then gets the cached reply.
    """

    def __init__(self, sock: socket.socket, handler: RadiusHandler) -> None:
        self._sock = sock
        self._handler = handler
        self._closed = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self._sock.fileno(), self._read_ready)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._closed:
            self._closed = True
            loop.remove_reader(self._sock.fileno())
            self._sock.close()

    def _read_ready(self) -> None:
        receive = self._sock.recvfrom
        handle = self._handler.datagram_received
        for _ in range(MAX_DATAGRAMS_PER_TURN):
            try:
                data, address = receive(MAX_DATAGRAM_OCTETS)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # ICMP port unreachable from a client that went away, for example.
                log.debug("RADIUS socket error: %s", error)
                return
            handle(data, address, self._send)

    def _send(self, reply: bytes, address: Address) -> None:
        if self._closed:
            return
        try:
            self._sock.sendto(reply, address)
        except (BlockingIOError, InterruptedError):
            log.warning("RADIUS send buffer full; reply to %s dropped", address[0])
        except OSError as error:
            log.info("RADIUS reply to %s not sent: %s", address[0], error)


class RadiusServer:
    """Run one `RadiusSocketReader` per bound socket, all sharing one handler."""

    def __init__(self, handler: RadiusHandler) -> None:
        self._handler = handler
        self._readers: list[RadiusSocketReader] = []

    async def start(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for sock in sockets:
            reader = RadiusSocketReader(sock, self._handler)
            reader.start(loop)
            self._readers.append(reader)
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
        loop = asyncio.get_running_loop()
        for reader in self._readers:
            reader.close(loop)
