"""The upstream hop: one connection to AD per client connection.

It is opened on the client's first request, tries the configured domain
controllers in order, and is encrypted unless the configuration turns TLS
off. `ldaps://` URLs use TLS from the start, and `ldap://` URLs are upgraded
with StartTLS before any request is relayed. Certificate verification is on
by default.

Messages from AD are framed and handed to the session; the BindResponse that
answers FactorGate's own bind is delivered to a waiting future instead.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from factorgate.ldap.ber import BerError, MessageFramer
from factorgate.ldap.messages import (
    OP_BIND_RESPONSE,
    OP_EXTENDED_RESPONSE,
    STARTTLS_OID,
    Envelope,
    decode_envelope,
    decode_extended_response,
    encode_extended_request,
)

log = logging.getLogger("factorgate.ldap")

# The message ID FactorGate uses for its own StartTLS request to AD, before any
# client request has been relayed on the connection.
STARTTLS_MESSAGE_ID = 1


class UpstreamError(Exception):
    """No domain controller could be reached or the hop to it failed."""


@dataclass(frozen=True)
class DomainController:
    url: str
    host: str
    port: int
    ldaps: bool

    @classmethod
    def parse(cls, url: str) -> DomainController:
        parts = urlsplit(url)
        ldaps = parts.scheme.lower() == "ldaps"
        return cls(url=url, host=parts.hostname or "", port=parts.port or (636 if ldaps else 389), ldaps=ldaps)


@dataclass(frozen=True)
class UpstreamSettings:
    controllers: tuple[DomainController, ...]
    start_tls: bool
    tls_context: ssl.SSLContext | None
    connect_timeout: float
    max_message_size: int


class UpstreamListener(Protocol):
    def upstream_message(self, upstream: UpstreamProtocol, envelope: Envelope) -> None: ...

    def upstream_closed(self, upstream: UpstreamProtocol, error: Exception | None) -> None: ...


class UpstreamProtocol(asyncio.Protocol):
    """Moves bytes between FactorGate and one domain controller."""

    def __init__(self, settings: UpstreamSettings, listener: UpstreamListener) -> None:
        self._settings = settings
        self._listener = listener
        self._framer = MessageFramer(settings.max_message_size)
        self.transport: asyncio.Transport | None = None
        self._waiters: dict[int, tuple[int, asyncio.Future[Envelope]]] = {}
        self._closed = False
        # True from FactorGate's StartTLS request until TLS is up: nothing but
        # the StartTLS response may arrive in cleartext then.
        self.upgrading = False

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._framer.feed(data)
        except BerError as error:
            log.warning("malformed message from AD, closing the upstream connection: %s", error)
            self.close()
            return
        for raw in messages:
            self._dispatch(raw)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        error = exc or UpstreamError("the domain controller closed the connection")
        for _, waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(UpstreamError(str(error)))
        self._waiters.clear()
        self._listener.upstream_closed(self, exc)

    def pause_writing(self) -> None:
        pause = getattr(self._listener, "pause_client_reading", None)
        if pause:
            pause()

    def resume_writing(self) -> None:
        resume = getattr(self._listener, "resume_client_reading", None)
        if resume:
            resume()

    # used by the session

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, raw: bytes) -> None:
        if self.transport is not None and not self._closed:
            self.transport.write(raw)

    def expect(self, message_id: int, op_tag: int) -> asyncio.Future[Envelope]:
        """Take the response of type `op_tag` to `message_id` for FactorGate itself (it is not relayed).

        Matching the type as well as the ID matters: a client may reuse an ID
        that an earlier, still outstanding request of another type carries,
        and that request's answer must never decide FactorGate's bind.
        """
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._waiters[message_id] = (op_tag, future)
        return future

    @property
    def buffered(self) -> int:
        """Octets received but not yet framed into a whole message."""
        return self._framer.buffered

    def close(self) -> None:
        if self.transport is not None and not self._closed:
            self._closed = True
            self.transport.close()

    def _dispatch(self, raw: bytes) -> None:
        try:
            envelope = decode_envelope(raw, full_walk=False)
        except BerError as error:
            log.warning("malformed message from AD, closing the upstream connection: %s", error)
            self.close()
            return

        expected = self._waiters.get(envelope.message_id)
        if expected is not None and expected[0] == envelope.op_tag:
            del self._waiters[envelope.message_id]
            if not expected[1].done():
                expected[1].set_result(envelope)
            return
        if self.upgrading:
            # Cleartext behind the StartTLS response: a host on the path to AD
            # could inject responses here, so the connection is dropped.
            log.warning("AD sent a message in cleartext during StartTLS; closing the upstream connection")
            self.close()
            return
        self._listener.upstream_message(self, envelope)


async def open_upstream(settings: UpstreamSettings, listener: UpstreamListener) -> UpstreamProtocol:
    """Connect to the first domain controller that accepts the connection, with TLS as configured."""
    failures = []
    for controller in settings.controllers:
        try:
            return await asyncio.wait_for(
                _connect(controller, settings, listener), timeout=settings.connect_timeout
            )
        except (OSError, asyncio.TimeoutError, ssl.SSLError, UpstreamError) as error:
            reason = str(error) or type(error).__name__
            log.warning("domain controller %s failed: %s", controller.url, reason)
            failures.append(f"{controller.url}: {reason}")
    raise UpstreamError("no domain controller reachable (" + "; ".join(failures) + ")")


async def _connect(
    controller: DomainController, settings: UpstreamSettings, listener: UpstreamListener
) -> UpstreamProtocol:
    loop = asyncio.get_running_loop()
    use_tls = controller.ldaps
    _, protocol = await loop.create_connection(
        lambda: UpstreamProtocol(settings, listener),
        controller.host,
        controller.port,
        ssl=settings.tls_context if use_tls else None,
        server_hostname=controller.host if use_tls and settings.tls_context else None,
    )
    if not controller.ldaps and settings.start_tls:
        await _start_tls(protocol, controller, settings)
    return protocol


async def _start_tls(protocol: UpstreamProtocol, controller: DomainController, settings: UpstreamSettings) -> None:
    if settings.tls_context is None:
        raise UpstreamError("StartTLS needs a TLS context")
    protocol.upgrading = True
    waiter = protocol.expect(STARTTLS_MESSAGE_ID, OP_EXTENDED_RESPONSE)
    protocol.send(encode_extended_request(STARTTLS_MESSAGE_ID, STARTTLS_OID))
    envelope = await waiter

    result, _, _ = decode_extended_response(envelope)
    if result.result_code != 0:
        protocol.close()
        raise UpstreamError(f"StartTLS rejected by {controller.url} (result code {result.result_code}); check that the domain controller has a certificate, or use an ldaps:// URL")
    if protocol.closed or protocol.buffered:
        protocol.close()
        raise UpstreamError(f"{controller.url} sent cleartext data behind its StartTLS response")

    loop = asyncio.get_running_loop()
    tls_transport = await loop.start_tls(
        protocol.transport, protocol, settings.tls_context, server_hostname=controller.host
    )
    protocol.transport = tls_transport  # type: ignore[assignment]
    protocol.upgrading = False
