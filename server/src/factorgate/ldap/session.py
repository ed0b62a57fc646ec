"""One client connection of the LDAP front end.

The session relays every operation to AD byte for byte, except:

- simple binds, which go through the authentication pipeline;
- SASL binds, refused with authMethodNotSupported unless the client address is
  allowed to pass them through (then relayed without any second factor);
- StartTLS, which upgrades the client hop here;
- Unbind, which closes both hops;
- simple binds and password changes over cleartext, refused with
  confidentialityRequired unless the client is exempt from `require_tls`.

While a bind, the upstream connect or a StartTLS upgrade is in progress, later
requests wait in a small bounded queue, because RFC 4511 §4.2.1 lets a server
hold them. A client that overflows the queue is disconnected.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from factorgate.auth.model import AuthDecision, AuthRequest, PrimaryResult, Reason
from factorgate.auth.pipeline import Pipeline
from factorgate.ldap import messages as m
from factorgate.ldap.ber import BerError, Limits, MessageFramer
from factorgate.ldap.upstream import UpstreamError, UpstreamProtocol, UpstreamSettings, open_upstream

log = logging.getLogger("factorgate.ldap")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SessionSettings:
    upstream: UpstreamSettings
    limits: Limits
    require_tls: bool
    cleartext_clients: tuple[Network, ...]
    sasl_passthrough_clients: tuple[Network, ...]
    pending_requests: int
    tls_context: object | None  # ssl.SSLContext for StartTLS, None when no certificate is set


def address_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class LdapSession(asyncio.Protocol):
    def __init__(
        self,
        settings: SessionSettings,
        pipeline: Pipeline,
        tls: bool,
        admit: Callable[[LdapSession], bool] = lambda session: True,
        on_close: Callable[[LdapSession], None] = lambda session: None,
    ) -> None:
        self._settings = settings
        self._pipeline = pipeline
        self._admit = admit
        self._on_close = on_close
        self.tls = tls
        self.transport: asyncio.Transport | None = None
        self.peer = "-"
        self.last_activity = time.monotonic()
        self.busy = False  # a bind, connect or TLS upgrade is in progress
        self._framer = MessageFramer(settings.limits.max_message_size)
        self._pending: deque[bytes] = deque()
        self._upstream: UpstreamProtocol | None = None
        self._closing = False
        self._cleartext_allowed = False
        self._sasl_allowed = False
        self._task: asyncio.Task | None = None

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else "-"
        self._cleartext_allowed = address_in(self.peer, self._settings.cleartext_clients)
        self._sasl_allowed = address_in(self.peer, self._settings.sasl_passthrough_clients)
        if not self._admit(self):
            self._closing = True
            transport.abort()

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        try:
            messages = self._framer.feed(data)
        except BerError as error:
            self._protocol_error(error)
            return
        for raw in messages:
            if self._closing:
                return
            self._accept_message(raw)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._upstream is not None:
            self._upstream.close()
        self._on_close(self)

    def pause_writing(self) -> None:
        if self._upstream is not None and self._upstream.transport is not None:
            self._upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._upstream is not None and self._upstream.transport is not None:
            self._upstream.transport.resume_reading()

    # UpstreamListener

    def upstream_message(self, upstream: UpstreamProtocol, envelope: m.Envelope) -> None:
        if upstream is not self._upstream:
            return  # a late message from a connection this session already dropped
        if envelope.message_id == 0 and envelope.op_tag == m.OP_EXTENDED_RESPONSE:
            log.info("%s: AD sent a notice of disconnection", self.peer)
            self._write(envelope.raw)
            self.close()
            return
        self._write(envelope.raw)

    def upstream_closed(self, upstream: UpstreamProtocol, error: Exception | None) -> None:
        if upstream is not self._upstream or self._closing:
            return  # a connection this session dropped on purpose
        self._upstream = None
        # The client's bound state lived on that connection and cannot be
        # restored, so the client gets a notice of disconnection.
        log.info("%s: connection to AD lost: %s", self.peer, error or "closed by AD")
        self._write(m.encode_notice_of_disconnection(m.ResultCode.UNAVAILABLE, "connection to the directory lost"))
        self.close()

    def pause_client_reading(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_client_reading(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    # message handling

    def close(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.close()
        if self._upstream is not None:
            self._upstream.close()

    def _accept_message(self, raw: bytes) -> None:
        if self.busy:
            if len(self._pending) >= self._settings.pending_requests:
                log.warning("%s: more than %d requests sent during a bind, closing", self.peer, len(self._pending))
                self.close()
                return
            self._pending.append(raw)
            return
        self._handle(raw)

    def _drain_pending(self) -> None:
        while self._pending and not self.busy and not self._closing:
            self._handle(self._pending.popleft())

    def _handle(self, raw: bytes) -> None:
        try:
            self._dispatch(raw)
        except BerError as error:
            self._protocol_error(error)

    def _dispatch(self, raw: bytes) -> None:
        envelope = m.decode_envelope(raw, self._settings.limits)
        op = envelope.op_tag
        if op == m.OP_BIND_REQUEST:
            request = m.decode_bind_request(envelope)
            self._run_blocking(self._bind(envelope, request))
        elif op == m.OP_UNBIND_REQUEST:
            self.close()
        elif op == m.OP_EXTENDED_REQUEST:
            self._extended(envelope)
        elif op == m.OP_MODIFY_REQUEST and self._reject_cleartext_password_change(envelope):
            return
        else:
            self._relay(envelope.raw)

    def _protocol_error(self, error: BerError) -> None:
        log.warning("%s: malformed LDAP message, closing: %s", self.peer, error)
        self._write(m.encode_notice_of_disconnection(m.ResultCode.PROTOCOL_ERROR, "malformed message"))
        self.close()

    def _run_blocking(self, coroutine) -> None:
        """Run a step that must finish before the next request is handled."""
        self.busy = True
        self._task = asyncio.get_running_loop().create_task(self._guarded(coroutine))

    async def _guarded(self, coroutine) -> None:
        try:
            await coroutine
        except Exception:  # noqa: BLE001 - one client's failure must not reach the loop
            log.exception("%s: internal error, closing the connection", self.peer)
            self.close()
        finally:
            self.busy = False
            self._task = None
        self._drain_pending()

    def _relay(self, raw: bytes) -> None:
        if self._upstream is not None:
            self._upstream.send(raw)
            return
        self._pending.appendleft(raw)
        self._run_blocking(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        try:
            await self._ensure_upstream()
        except UpstreamError as error:
            log.error("%s: %s", self.peer, error)
            self._write(m.encode_notice_of_disconnection(m.ResultCode.UNAVAILABLE, "directory unavailable"))
            self.close()

    async def _ensure_upstream(self) -> UpstreamProtocol:
        if self._upstream is None or self._upstream.closed:
            self._upstream = await open_upstream(self._settings.upstream, self)
        return self._upstream

    def _drop_upstream(self) -> None:
        """Close the upstream hop so no identity stays bound on it.

        The next request opens a new, anonymous one.
        """
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.close()

    def _write(self, raw: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(raw)

    def _cleartext_rejected(self) -> bool:
        return self._settings.require_tls and not self.tls and not self._cleartext_allowed

    def _reject_cleartext_password_change(self, envelope: m.Envelope) -> bool:
        if not self._cleartext_rejected():
            return False
        if not any(m.is_password_attribute(name) for name in m.modify_attribute_types(envelope)):
            return False
        log.warning("%s: password change over cleartext rejected", self.peer)
        self._write(
            m.encode_result_response(
                envelope.message_id,
                m.RESPONSE_TAG_FOR_REQUEST[m.OP_MODIFY_REQUEST],
                m.ResultCode.CONFIDENTIALITY_REQUIRED,
                "password changes require TLS",
            )
        )
        return True

    # binds

    async def _bind(self, envelope: m.Envelope, request: m.BindRequest) -> None:
        if request.method != "simple":
            await self._sasl_bind(envelope, request)
            return
        if not request.name and not request.password:
            # An anonymous bind carries no secret and returns the connection
            # to the anonymous state, so it may use cleartext.
            await self._relay_bind(envelope, request)
            return
        if self._cleartext_rejected():
            log.warning("%s: simple bind over cleartext rejected", self.peer)
            self._drop_upstream()
            self._bind_response(request, m.ResultCode.CONFIDENTIALITY_REQUIRED, "simple bind requires TLS (use LDAPS or StartTLS)")
            return

        auth_request = AuthRequest(
            login=request.name.decode("utf-8", "replace"),
            password=request.password,
            client_address=self.peer,
            protocol="ldap",
        )
        decision = await self._pipeline.authenticate(auth_request, self._primary_check(request))
        self._answer_bind(request, decision)

    def _primary_check(self, request: m.BindRequest):
        async def check(password: bytes) -> PrimaryResult:
            try:
                upstream = await self._ensure_upstream()
                waiter = upstream.expect(request.message_id, m.OP_BIND_RESPONSE)
                upstream.send(m.encode_bind_request(request.message_id, request.name, password, request.version, request.controls))
                response = await waiter
            except UpstreamError as error:
                log.error("%s: bind could not reach AD: %s", self.peer, error)
                return PrimaryResult(ok=False, result_code=m.ResultCode.UNAVAILABLE, diagnostic="directory unavailable", unavailable=True)
            result = m.decode_result(response)
            return PrimaryResult(
                ok=result.result_code == m.ResultCode.SUCCESS,
                result_code=result.result_code,
                diagnostic=result.diagnostic.decode("utf-8", "replace"),
                detail=response.raw,
            )

        return check

    def _answer_bind(self, request: m.BindRequest, decision: AuthDecision) -> None:
        primary = decision.primary
        if decision.accepted:
            self._write(primary.detail)
            return
        if decision.reason is Reason.AD_REJECTED and primary is not None and primary.detail:
            self._write(primary.detail)  # AD's own failure, unchanged
            return

        # AD may have accepted the password; the bound identity must not
        # survive a failed second factor.
        self._drop_upstream()
        code = m.ResultCode.UNAVAILABLE if decision.reason is Reason.AD_UNAVAILABLE else m.ResultCode.INVALID_CREDENTIALS
        self._bind_response(request, code, decision.message)

    def _bind_response(self, request: m.BindRequest, code: int, diagnostic: str) -> None:
        self._write(m.encode_bind_response(request.message_id, code, diagnostic))

    async def _relay_bind(self, envelope: m.Envelope, request: m.BindRequest) -> None:
        """Relay a bind whose response goes back to the client unchanged."""
        try:
            upstream = await self._ensure_upstream()
        except UpstreamError as error:
            log.error("%s: %s", self.peer, error)
            self._bind_response(request, m.ResultCode.UNAVAILABLE, "directory unavailable")
            return
        waiter = upstream.expect(request.message_id, m.OP_BIND_RESPONSE)
        upstream.send(envelope.raw)
        try:
            response = await waiter
        except UpstreamError:
            self._bind_response(request, m.ResultCode.UNAVAILABLE, "directory unavailable")
            return
        self._write(response.raw)

    async def _sasl_bind(self, envelope: m.Envelope, request: m.BindRequest) -> None:
        if not self._sasl_allowed:
            self._drop_upstream()
            self._bind_response(request, m.ResultCode.AUTH_METHOD_NOT_SUPPORTED, "SASL binds are not supported; use a simple bind with password and code")
            return
        log.info("%s: relaying a SASL %s bind without a second factor", self.peer, request.sasl_mechanism)
        await self._relay_bind(envelope, request)

    # extended operations

    def _extended(self, envelope: m.Envelope) -> None:
        request = m.decode_extended_request(envelope)
        if request.oid == m.STARTTLS_OID:
            self._run_blocking(self._start_tls(request))
            return
        if request.oid == m.PASSWORD_MODIFY_OID and self._cleartext_rejected():
            log.warning("%s: password modify over cleartext rejected", self.peer)
            self._write(m.encode_extended_response(request.message_id, m.ResultCode.CONFIDENTIALITY_REQUIRED, "password changes require TLS"))
            return
        self._relay(envelope.raw)

    async def _start_tls(self, request: m.ExtendedRequest) -> None:
        if self.tls:
            self._write(m.encode_extended_response(request.message_id, m.ResultCode.OPERATIONS_ERROR, "TLS already established", oid=m.STARTTLS_OID))
            return
        if self._settings.tls_context is None:
            self._write(m.encode_extended_response(request.message_id, m.ResultCode.PROTOCOL_ERROR, "StartTLS is not configured on this server", oid=m.STARTTLS_OID))
            return

        if self._pending or self._framer.buffered:
            # Anything sent behind the StartTLS request arrived in cleartext
            # and must not run as if TLS had protected it (STARTTLS command
            # injection), so the connection is closed instead of upgraded.
            log.warning("%s: data sent behind a StartTLS request; closing", self.peer)
            self._pending.clear()
            self.close()
            return

        self._write(m.encode_extended_response(request.message_id, m.ResultCode.SUCCESS, oid=m.STARTTLS_OID))
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self.transport, self, self._settings.tls_context, server_side=True)
        except (OSError, ConnectionError) as error:
            log.warning("%s: StartTLS handshake failed: %s", self.peer, error)
            self.close()
            return
        self.transport = transport
        self.tls = True
