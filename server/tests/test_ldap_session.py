"""The LDAP session and server in process, against a scriptable fake AD: the
failure modes the real test AD cannot produce on cue."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from factorgate.auth.model import DirectoryUser
from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.ldap import messages as m
from factorgate.ldap.ber import Limits, MessageFramer
from factorgate.ldap.server import LdapServer, bind_listener
from factorgate.ldap.session import SessionSettings
from factorgate.ldap.upstream import DomainController, UpstreamSettings
from factorgate.store.sqlite import SqliteStore
from support.fake_ad import FakeAd

USER_DN = b"CN=Bob,OU=Staff,DC=corp,DC=example,DC=test"


@pytest.fixture
def store(tmp_path):
    SecretBox.generate_key_file(tmp_path / "key")
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(tmp_path / "key"))
    yield store
    store.close()


class BobInDirectory:
    """The look-up account's view of AD: it finds the one test user, not enrolled."""

    def find_user(self, login, raw_login):
        return DirectoryUser("22222222-2222-2222-2222-222222222222", USER_DN.decode(), "bob")

    def is_member_nested(self, user_dn, group_dn):
        return False


async def start_proxy(store, ad_ports: list[int], pending: int = 16, limits=None) -> tuple[LdapServer, int]:
    resolver = Resolver(store, BobInDirectory(), ExemptRules())
    pipeline = Pipeline(resolver, store, TotpVerifier(store), PipelinePolicy())
    upstream = UpstreamSettings(
        controllers=tuple(DomainController.parse(f"ldap://127.0.0.1:{port}") for port in ad_ports),
        start_tls=False,
        tls_context=None,
        connect_timeout=2.0,
        max_message_size=1 << 20,
    )
    settings = SessionSettings(
        upstream=upstream,
        limits=Limits(),
        require_tls=True,
        cleartext_clients=(ipaddress.ip_network("127.0.0.0/8"),),
        sasl_passthrough_clients=(),
        pending_requests=pending,
        tls_context=None,
    )
    listener = bind_listener("127.0.0.1", 0, ldaps=False)
    server = LdapServer(settings, pipeline, None, idle_timeout=60, **({"limits": limits} if limits else {}))
    await server.start([listener])
    return server, listener.sock.getsockname()[1]


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = MessageFramer(1 << 20)
        self.buffered: list[bytes] = []

    @classmethod
    async def connect(cls, port: int) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, raw: bytes) -> None:
        self.writer.write(raw)

    async def receive(self, timeout: float = 5.0) -> m.Envelope | None:
        while not self.buffered:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                return None
            self.buffered.extend(self.framer.feed(data))
        return m.decode_envelope(self.buffered.pop(0))


def search_request(message_id: int) -> bytes:
    from factorgate.ldap import ber

    op = ber.encode_octet_string(b"") + ber.encode_enumerated(0) + ber.encode_enumerated(0) + ber.encode_integer(0) \
        + ber.encode_integer(0) + ber.encode_boolean(False) + ber.encode_tlv(0x87, b"objectClass") + ber.encode_sequence()
    return ber.encode_sequence(ber.encode_integer(message_id), ber.encode_tlv(0x63, op))


async def test_upstream_opened_on_first_request_not_on_connect(store):
    ad = FakeAd()
    server, port = await start_proxy(store, [await ad.start()])
    client = await Client.connect(port)
    await asyncio.sleep(0.2)
    assert ad.connections == 0

    client.send(m.encode_bind_request(1, USER_DN, b"pw"))
    response = await client.receive()
    assert m.decode_result(response).result_code == m.ResultCode.SUCCESS
    assert ad.connections == 1
    await server.drain(1)
    await ad.stop()


async def test_second_domain_controller_used_when_first_is_down(store):
    ad = FakeAd()
    closed = bind_listener("127.0.0.1", 0, ldaps=False)
    closed_port = closed.sock.getsockname()[1]
    closed.sock.close()
    server, port = await start_proxy(store, [closed_port, await ad.start()])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw"))
    response = await client.receive()
    assert m.decode_result(response).result_code == m.ResultCode.SUCCESS
    await server.drain(1)
    await ad.stop()


async def test_no_domain_controller_gives_unavailable(store):
    closed = bind_listener("127.0.0.1", 0, ldaps=False)
    closed_port = closed.sock.getsockname()[1]
    closed.sock.close()
    server, port = await start_proxy(store, [closed_port])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw"))
    response = await client.receive()
    assert m.decode_result(response).result_code == m.ResultCode.UNAVAILABLE
    await server.drain(1)


async def test_requests_during_bind_wait_and_keep_order(store):
    ad = FakeAd(bind_delay=0.3)
    server, port = await start_proxy(store, [await ad.start()])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw") + search_request(2) + search_request(3))
    ids = [(await client.receive()).message_id for _ in range(3)]
    assert ids == [1, 2, 3]
    assert ad.requests == [m.OP_BIND_REQUEST, m.OP_SEARCH_REQUEST, m.OP_SEARCH_REQUEST]
    await server.drain(1)
    await ad.stop()


async def test_queue_overflow_during_bind_closes(store):
    ad = FakeAd(bind_delay=0.5)
    server, port = await start_proxy(store, [await ad.start()], pending=2)
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw") + b"".join(search_request(i) for i in range(2, 6)))
    received = []
    while (envelope := await client.receive()) is not None:
        received.append(envelope.message_id)
    assert received == []  # closed at the overflow, before the bind was answered
    await server.drain(1)
    await ad.stop()


async def test_ad_dropping_connection_disconnects_client(store):
    ad = FakeAd()
    server, port = await start_proxy(store, [await ad.start()])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw"))
    await client.receive()
    ad.drop_all()
    notice = await client.receive()
    result, oid, _ = m.decode_extended_response(notice)
    assert oid == m.NOTICE_OF_DISCONNECTION_OID
    assert result.result_code == m.ResultCode.UNAVAILABLE
    assert await client.receive() is None
    await server.drain(1)
    await ad.stop()


async def test_drain_lets_bind_in_progress_finish(store):
    ad = FakeAd(bind_delay=0.5)
    server, port = await start_proxy(store, [await ad.start()])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw"))
    await asyncio.sleep(0.1)

    drain = asyncio.create_task(server.drain(5))
    response = await client.receive()
    await drain
    assert m.decode_result(response).result_code == m.ResultCode.SUCCESS
    with pytest.raises(OSError):
        await Client.connect(port)
    await ad.stop()


async def test_drain_gives_up_after_timeout(store):
    ad = FakeAd(bind_delay=3.0)
    server, port = await start_proxy(store, [await ad.start()])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"pw"))
    await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await server.drain(0.3)
    assert loop.time() - started < 1.5
    assert await client.receive() is None
    await ad.stop()


async def test_wrong_password_response_relayed_unchanged(store):
    ad = FakeAd()
    server, port = await start_proxy(store, [await ad.start()])
    client = await Client.connect(port)
    client.send(m.encode_bind_request(1, USER_DN, b"wrong"))
    result = m.decode_result(await client.receive())
    assert result.result_code == m.ResultCode.INVALID_CREDENTIALS
    assert b"data 52e" in result.diagnostic
    await server.drain(1)
    await ad.stop()


async def test_connection_limit_per_client_refuses_extra(store):
    from factorgate.ldap.server import ConnectionLimits

    ad = FakeAd()
    ad_port = await ad.start()
    server, port = await start_proxy(store, [ad_port], limits=ConnectionLimits(total=10, per_client=2))
    kept = [await Client.connect(port) for _ in range(2)]
    refused = await Client.connect(port)
    assert await refused.receive() is None  # closed at once
    assert server.session_count == 2

    kept[0].writer.close()
    await asyncio.sleep(0.1)
    admitted = await Client.connect(port)
    admitted.send(m.encode_bind_request(1, USER_DN, b"pw"))
    assert m.decode_result(await admitted.receive()).result_code == m.ResultCode.SUCCESS
    await server.drain(1)
    await ad.stop()


async def test_connection_limit_total_refuses_extra(store):
    from factorgate.ldap.server import ConnectionLimits

    ad = FakeAd()
    server, port = await start_proxy(store, [await ad.start()], limits=ConnectionLimits(total=3, per_client=3))
    kept = [await Client.connect(port) for _ in range(3)]
    refused = await Client.connect(port)
    assert await refused.receive() is None
    assert server.session_count == 3
    await server.drain(1)
    await ad.stop()
