"""A scriptable LDAP server standing in for AD where the real one cannot fail on cue.

It answers simple binds (after an optional delay, success for one password),
answers every other request with a success result, and can drop connections.
Tests use it for failure modes: a slow or vanishing domain controller.
"""

from __future__ import annotations

import asyncio

from factorgate.ldap import messages as m
from factorgate.ldap.ber import MessageFramer


class FakeAd:
    def __init__(self, good_password: bytes = b"pw", bind_delay: float = 0.0) -> None:
        self.good_password = good_password
        self.bind_delay = bind_delay
        self.connections = 0
        self.binds: list[tuple[bytes, bytes]] = []
        self.requests: list[int] = []  # op tags, in arrival order
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self, address: str = "127.0.0.1") -> int:
        self._server = await asyncio.start_server(self._serve, address, 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        framer = MessageFramer(1 << 20)
        try:
            while data := await reader.read(65536):
                for raw in framer.feed(data):
                    await self._answer(m.decode_envelope(raw), writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _answer(self, envelope: m.Envelope, writer: asyncio.StreamWriter) -> None:
        self.requests.append(envelope.op_tag)
        if envelope.op_tag == m.OP_BIND_REQUEST:
            request = m.decode_bind_request(envelope)
            self.binds.append((request.name, request.password))
            await asyncio.sleep(self.bind_delay)
            code = m.ResultCode.SUCCESS if request.password == self.good_password else m.ResultCode.INVALID_CREDENTIALS
            diagnostic = "" if code == m.ResultCode.SUCCESS else "80090308: LdapErr: AcceptSecurityContext error, data 52e, v4563"
            writer.write(m.encode_bind_response(envelope.message_id, code, diagnostic))
        elif envelope.op_tag == m.OP_UNBIND_REQUEST:
            writer.close()
            return
        elif envelope.op_tag in m.RESPONSE_TAG_FOR_REQUEST:
            response_tag = m.RESPONSE_TAG_FOR_REQUEST[envelope.op_tag]
            writer.write(m.encode_result_response(envelope.message_id, response_tag, m.ResultCode.SUCCESS))
        await writer.drain()
