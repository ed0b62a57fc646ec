"""Review findings in the LDAP front end, written as tests that fail while the flaw is open.

No sockets: the client and AD hops are fake transports, and AD's answers are
fed to the upstream protocol by hand. Each test asserts the correct behaviour;
an xfail(strict=True) marker stays on a test only while its flaw is open.
"""

from __future__ import annotations

import asyncio

import pytest

from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.ldap import ber
from factorgate.ldap import messages as m
from factorgate.ldap import session as session_module
from factorgate.ldap import upstream as upstream_module
from factorgate.ldap.ber import Limits, MessageFramer
from factorgate.ldap.session import LdapSession, SessionSettings
from factorgate.ldap.upstream import DomainController, UpstreamProtocol, UpstreamSettings
from factorgate.store.sqlite import SqliteStore

WHO_AM_I_OID = "1.3.6.1.4.1.4203.1.11.3"
MALLORY_DN = b"CN=Mallory,OU=Staff,DC=corp,DC=example,DC=test"


class FakeTransport(asyncio.Transport):
    def __init__(self, peer: str = "127.0.0.1") -> None:
        super().__init__()
        self.peer = peer
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name, default=None):
        return (self.peer, 40000) if name == "peername" else default

    def write(self, data) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def messages(self) -> list[m.Envelope]:
        return [m.decode_envelope(raw) for raw in MessageFramer(1 << 20).feed(bytes(self.written))]


class RecordingPipeline(Pipeline):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decisions = []

    async def authenticate(self, request, primary):
        decision = await super().authenticate(request, primary)
        self.decisions.append(decision)
        return decision


def upstream_settings(tls_context=None, start_tls=False) -> UpstreamSettings:
    return UpstreamSettings(
        controllers=(DomainController.parse("ldap://dc.invalid:389"),),
        start_tls=start_tls,
        tls_context=tls_context,
        connect_timeout=1.0,
        max_message_size=1 << 20,
    )


@pytest.fixture
def pipeline(tmp_path):
    SecretBox.generate_key_file(tmp_path / "key")
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(tmp_path / "key"))
    yield RecordingPipeline(Resolver(store, None, ExemptRules()), store, TotpVerifier(store), PipelinePolicy())
    store.close()


@pytest.fixture
def ad(monkeypatch):
    """Replace the connection to AD by an UpstreamProtocol on a fake transport."""
    opened: list[UpstreamProtocol] = []

    async def fake_open_upstream(settings, listener):
        protocol = UpstreamProtocol(settings, listener)
        protocol.connection_made(FakeTransport("dc.invalid"))
        opened.append(protocol)
        return protocol

    monkeypatch.setattr(session_module, "open_upstream", fake_open_upstream)
    return opened


def make_session(pipeline, tls_context=None) -> tuple[LdapSession, FakeTransport]:
    settings = SessionSettings(
        upstream=upstream_settings(),
        limits=Limits(),
        require_tls=False,
        cleartext_clients=(),
        sasl_passthrough_clients=(),
        pending_requests=16,
        tls_context=tls_context,
    )
    session = LdapSession(settings, pipeline, tls=False)
    client = FakeTransport()
    session.connection_made(client)
    return session, client


def search_request(message_id: int) -> bytes:
    op = ber.encode_octet_string(b"") + ber.encode_enumerated(0) + ber.encode_enumerated(0) + ber.encode_integer(0) \
        + ber.encode_integer(0) + ber.encode_boolean(False) + ber.encode_tlv(0x87, b"objectClass") + ber.encode_sequence()
    return ber.encode_sequence(ber.encode_integer(message_id), ber.encode_tlv(0x63, op))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_bind_ignores_other_response_types(pipeline, ad):
    session, client = make_session(pipeline)
    # Who-am-I and a bind of an unknown user with a wrong password, both with message ID 5.
    session.data_received(m.encode_extended_request(5, WHO_AM_I_OID) + m.encode_bind_request(5, MALLORY_DN, b"wrong"))
    await settle()
    upstream = ad[0]
    # AD completes the extended operation before it processes the bind (RFC 4511 §4.2.1).
    upstream.data_received(m.encode_extended_response(5, m.ResultCode.SUCCESS))
    upstream.data_received(m.encode_bind_response(5, m.ResultCode.INVALID_CREDENTIALS, "80090308: data 52e"))
    await settle()

    assert [decision.accepted for decision in pipeline.decisions] == [False]


async def test_starttls_drops_requests_sent_behind_it(pipeline, ad, monkeypatch):
    import ssl

    session, client = make_session(pipeline, tls_context=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    loop = asyncio.get_running_loop()

    async def fake_start_tls(transport, protocol, context, **kwargs):
        return FakeTransport()

    monkeypatch.setattr(loop, "start_tls", fake_start_tls)
    # A man in the middle appends a search to the client's StartTLS request, in one segment.
    session.data_received(m.encode_extended_request(1, m.STARTTLS_OID) + search_request(2))
    await settle()

    sent_to_ad = [m.decode_envelope(raw).message_id
                  for protocol in ad for raw in MessageFramer(1 << 20).feed(bytes(protocol.transport.written))]
    assert 2 not in sent_to_ad


class Listener:
    def __init__(self) -> None:
        self.messages: list[m.Envelope] = []

    def upstream_message(self, upstream, envelope) -> None:
        self.messages.append(envelope)

    def upstream_closed(self, upstream, error) -> None:
        pass


async def test_upstream_starttls_drops_cleartext_behind_response(monkeypatch):
    import ssl

    settings = upstream_settings(tls_context=ssl.create_default_context(), start_tls=True)
    listener = Listener()
    protocol = UpstreamProtocol(settings, listener)
    protocol.connection_made(FakeTransport("dc.invalid"))
    loop = asyncio.get_running_loop()

    async def fake_start_tls(transport, protocol_, context, **kwargs):
        return FakeTransport("dc.invalid")

    monkeypatch.setattr(loop, "start_tls", fake_start_tls)
    controller = settings.controllers[0]
    task = asyncio.create_task(upstream_module._start_tls(protocol, controller, settings))
    await settle()
    injected = m.encode_bind_response(2, m.ResultCode.SUCCESS)
    protocol.data_received(
        m.encode_extended_response(upstream_module.STARTTLS_MESSAGE_ID, m.ResultCode.SUCCESS, oid=m.STARTTLS_OID)
        + injected
    )
    try:
        await asyncio.wait_for(task, 1)
    except Exception:  # noqa: BLE001 - refusing the connection is a correct answer too
        pass

    assert listener.messages == []
