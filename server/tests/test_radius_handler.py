"""The RADIUS handler with a real pipeline and store, a scripted AD and a fixed clock.

Datagrams go in through `RadiusHandler.datagram_received` exactly as the UDP
protocol delivers them; replies are collected from the `send` callback and
checked the way a NAS checks them (`verify_reply`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factorgate.auth.model import PrimaryResult
from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.config import GroupReplyConfig
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.factors.otp import totp
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.auth.model import CodeMode
from factorgate.radius.clients import ClientTable, RadiusClient
from factorgate.radius.dictionary import (
    ACCESS_ACCEPT,
    ACCESS_CHALLENGE,
    ACCESS_REJECT,
    CLASS,
    MESSAGE_AUTHENTICATOR,
    PROXY_STATE,
    REPLY_MESSAGE,
    STATE,
    STATUS_SERVER,
    VENDOR_CITRIX,
)
from factorgate.radius.handler import HandlerSettings, RadiusHandler, describe_ad_refusal
from factorgate.radius.packet import Packet, access_request, build_request, vendor_attribute, verify_reply
from factorgate.store.base import EnrollmentStatus, TotpToken, UserRecord
from factorgate.store.sqlite import SqliteStore

NOW = 1_700_000_000.0
SEED = b"12345678901234567890"
SECRET = b"radius-test-secret-of-32-octets!"
OTHER_SECRET = b"another-client-secret-32-octets!"
BASE = "OU=Staff,DC=corp,DC=example,DC=test"
VPN_GROUP = "CN=VPN,OU=Groups,DC=corp,DC=example,DC=test"
ALICE = UserRecord("11111111-1111-1111-1111-111111111111", f"CN=Alice,{BASE}", "alice", "alice@corp.example.test", "CORP", "+15550100", EnrollmentStatus.ENROLLED)
BOB = UserRecord("22222222-2222-2222-2222-222222222222", f"CN=Bob,{BASE}", "bob", "bob@corp.example.test", "CORP", "", EnrollmentStatus.NOT_ENROLLED)
DORA = UserRecord("44444444-4444-4444-4444-444444444444", f"CN=Dora,{BASE}", "dora", "dora@corp.example.test", "CORP", "+15550103", EnrollmentStatus.ENROLLED)
PASSWORDS = {b"alice": b"alice-pw", b"bob": b"bob-pw", b"dora": "Grüße-€".encode()}
NAS = ("127.0.0.1", 40000)
OTHER_NAS = ("127.0.0.5", 40000)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedAd:
    """The AD bind: accepts the passwords in PASSWORDS, refuses with a given sub-code otherwise.

    While `gate` is set and not open, every check waits on it, as a real
    bind or a phone call would.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes]] = []
        self.gate: asyncio.Event | None = None
        self.subcode = "52e"

    def primary_for(self, login: bytes):
        async def check(password: bytes) -> PrimaryResult:
            self.calls.append((login, password))
            if self.gate is not None:
                await self.gate.wait()
            if PASSWORDS.get(login) == password:
                return PrimaryResult(ok=True)
            return PrimaryResult(ok=False, result_code=49,
                                 diagnostic=f"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {self.subcode}, v4563")
        return check


class Groups:
    def __init__(self, members: dict[str, set[str]]) -> None:
        self.members = members
        self.calls = 0

    async def __call__(self, user, group_dn: str) -> bool:
        self.calls += 1
        return user.dn in self.members.get(group_dn, set())


class Sent:
    """The `send` callback: records every reply with its destination."""

    def __init__(self) -> None:
        self.replies: list[tuple[bytes, tuple]] = []

    def __call__(self, reply: bytes, address: tuple) -> None:
        self.replies.append((reply, address))


@pytest.fixture
def store(tmp_path):
    box_path = tmp_path / "secret.key"
    SecretBox.generate_key_file(box_path)
    store = SqliteStore(tmp_path / "fg.db", SecretBox.from_key_file(box_path))
    for record in (ALICE, BOB, DORA):
        store.upsert_user(record)
    store.set_totp(TotpToken(ALICE.guid, SEED))
    store.set_totp(TotpToken(DORA.guid, SEED))
    yield store
    store.close()


def make_client(name: str = "nas", network: str = "127.0.0.0/8", **overrides) -> RadiusClient:
    values = dict(name=name, network=ipaddress.ip_network(network), secret=SECRET)
    values.update(overrides)
    return RadiusClient(**values)


class Rig:
    """A handler with its collaborators, driven from inside the running loop."""

    def __init__(self, store, clients: list[RadiusClient], settings: HandlerSettings = HandlerSettings(),
                 groups: Groups | None = None) -> None:
        self.clock = Clock()
        self.totp_time = NOW
        self.ad = ScriptedAd()
        resolver = Resolver(store, None, ExemptRules(), netbios_domain="CORP", upn_suffixes=("corp.example.test",))
        verifier = TotpVerifier(store, clock=lambda: self.totp_time, window=1)
        pipeline = Pipeline(resolver, store, verifier, PipelinePolicy())
        self.groups = groups
        self.handler = RadiusHandler(ClientTable(clients), pipeline, self.ad.primary_for, groups, settings, self.clock)
        self.sent = Sent()

    def receive(self, datagram: bytes, address: tuple = NAS) -> None:
        self.handler.datagram_received(datagram, address, self.sent)

    async def settle(self) -> None:
        await self.handler.drain(5)

    async def exchange(self, datagram: bytes, address: tuple = NAS, secret: bytes = SECRET) -> Packet:
        """Send one request, wait for its processing and return the verified reply."""
        before = len(self.sent.replies)
        self.receive(datagram, address)
        await self.settle()
        assert len(self.sent.replies) == before + 1, "expected exactly one reply"
        reply, destination = self.sent.replies[-1]
        assert destination == address
        return verify_reply(reply, datagram[4:20], secret)


def code(at: float = NOW) -> str:
    return totp(SEED, at, 6, "SHA1", 30)


def message_of(reply: Packet) -> str:
    value = reply.get(REPLY_MESSAGE)
    return value.decode("utf-8") if value is not None else ""


# --- Access-Request outcomes ------------------------------------------------


async def test_not_enrolled_user_accepted_with_ad_password(store):
    rig = Rig(store, [make_client()])
    reply = await rig.exchange(access_request("bob", "bob-pw", SECRET))
    assert reply.code == ACCESS_ACCEPT
    assert rig.ad.calls == [(b"bob", b"bob-pw")]


async def test_reply_has_message_authenticator_first(store):
    rig = Rig(store, [make_client()])
    reply = await rig.exchange(access_request("bob", "bob-pw", SECRET))
    assert reply.attributes[0][0] == MESSAGE_AUTHENTICATOR


async def test_login_sent_to_ad_exactly_as_received(store):
    rig = Rig(store, [make_client()])
    await rig.exchange(access_request("CORP\\Bob", "bob-pw", SECRET))
    assert rig.ad.calls == [(b"CORP\\Bob", b"bob-pw")]


async def test_non_ascii_password_reaches_ad_as_bytes(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.APPENDED)])
    password = PASSWORDS[b"dora"] + code().encode()
    reply = await rig.exchange(access_request("dora", password, SECRET))
    assert reply.code == ACCESS_ACCEPT
    assert rig.ad.calls == [(b"dora", PASSWORDS[b"dora"])]


async def test_append_mode_accepts_password_and_code(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.APPENDED)])
    reply = await rig.exchange(access_request("alice", b"alice-pw" + code().encode(), SECRET))
    assert reply.code == ACCESS_ACCEPT


async def test_append_mode_rejects_wrong_code(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.APPENDED)])
    reply = await rig.exchange(access_request("alice", b"alice-pw000000", SECRET))
    assert reply.code == ACCESS_REJECT
    assert message_of(reply) == "Wrong code"


async def test_append_mode_rejects_reused_code(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.APPENDED)])
    await rig.exchange(access_request("alice", b"alice-pw" + code().encode(), SECRET))
    reply = await rig.exchange(access_request("alice", b"alice-pw" + code().encode(), SECRET))
    assert reply.code == ACCESS_REJECT
    assert message_of(reply) == "Code already used; wait for the next one"


async def test_code_only_accepts_code_without_ad(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.CODE_ONLY, code_only_allowed=True)])
    reply = await rig.exchange(access_request("alice", code(), SECRET))
    assert reply.code == ACCESS_ACCEPT
    assert rig.ad.calls == []


async def test_code_only_without_allowance_rejected(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.CODE_ONLY, code_only_allowed=False)])
    reply = await rig.exchange(access_request("alice", code(), SECRET))
    assert reply.code == ACCESS_REJECT
    assert rig.ad.calls == []


@pytest.mark.parametrize(("subcode", "message"), [
    ("52e", "Wrong user name or password"),
    ("533", "Account disabled"),
    ("775", "Account locked out"),
    ("773", "Password must be changed"),
    ("532", "Password expired"),
])
async def test_ad_refusal_mapped_to_reply_message(store, subcode, message):
    rig = Rig(store, [make_client()])
    rig.ad.subcode = subcode
    reply = await rig.exchange(access_request("alice", "not-the-password", SECRET))
    assert reply.code == ACCESS_REJECT
    assert message_of(reply) == message
    assert reply.get(STATE) is None


def test_describe_ad_refusal_without_subcode():
    assert describe_ad_refusal("invalid credentials") == "Wrong user name or password"


async def test_missing_password_rejected(store):
    rig = Rig(store, [make_client()])
    request = build_request(1, 7, [(1, b"bob")], SECRET)
    reply = await rig.exchange(request)
    assert reply.code == ACCESS_REJECT
    assert rig.ad.calls == []


# --- the challenge flow and State ------------------------------------------------


async def challenge_for(rig: Rig, user: str = "alice", password: str = "alice-pw", address: tuple = NAS) -> bytes:
    reply = await rig.exchange(access_request(user, password, SECRET), address)
    assert reply.code == ACCESS_CHALLENGE
    state = reply.get(STATE)
    assert state is not None
    return state


async def test_challenge_issued_with_prompt_and_state(store):
    rig = Rig(store, [make_client()])
    reply = await rig.exchange(access_request("alice", "alice-pw", SECRET))
    assert reply.code == ACCESS_CHALLENGE
    assert message_of(reply) == "Enter the code from your authenticator app"
    assert len(reply.get(STATE)) == 16


async def test_challenge_answered_with_code_accepted(store):
    rig = Rig(store, [make_client()])
    state = await challenge_for(rig)
    reply = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, state)]))
    assert reply.code == ACCESS_ACCEPT
    assert len(rig.ad.calls) == 1


async def test_challenge_not_issued_after_wrong_password(store):
    rig = Rig(store, [make_client()])
    reply = await rig.exchange(access_request("alice", "wrong", SECRET))
    assert reply.code == ACCESS_REJECT


async def test_challenge_wrong_code_rejected(store):
    rig = Rig(store, [make_client()])
    state = await challenge_for(rig)
    reply = await rig.exchange(access_request("alice", "000000", SECRET, attributes=[(STATE, state)]))
    assert reply.code == ACCESS_REJECT
    assert message_of(reply) == "Wrong code"


async def test_state_is_single_use(store):
    rig = Rig(store, [make_client()])
    state = await challenge_for(rig)
    await rig.exchange(access_request("alice", "000000", SECRET, attributes=[(STATE, state)]))
    replay = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, state)]))
    assert replay.code == ACCESS_REJECT
    assert message_of(replay) == "Login session expired or invalid; log in again"


async def test_state_replayed_after_success_rejected(store):
    rig = Rig(store, [make_client()])
    state = await challenge_for(rig)
    first = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, state)]))
    rig.totp_time += 30
    replay = await rig.exchange(access_request("alice", code(rig.totp_time), SECRET, attributes=[(STATE, state)]))
    assert first.code == ACCESS_ACCEPT
    assert replay.code == ACCESS_REJECT


async def test_state_of_other_user_rejected(store):
    rig = Rig(store, [make_client()])
    state = await challenge_for(rig, "alice", "alice-pw")
    reply = await rig.exchange(access_request("dora", code(), SECRET, attributes=[(STATE, state)]))
    assert reply.code == ACCESS_REJECT


async def test_state_from_other_address_rejected(store):
    rig = Rig(store, [make_client()])
    state = await challenge_for(rig)
    reply = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, state)]), ("127.0.0.9", 40000))
    assert reply.code == ACCESS_REJECT


async def test_state_from_other_client_rejected(store):
    rig = Rig(store, [make_client("nas"), make_client("other", "127.0.0.5/32", secret=OTHER_SECRET)])
    state = await challenge_for(rig)
    request = access_request("alice", code(), OTHER_SECRET, attributes=[(STATE, state)])
    reply = await rig.exchange(request, OTHER_NAS, OTHER_SECRET)
    assert reply.code == ACCESS_REJECT


async def test_forged_state_rejected(store):
    rig = Rig(store, [make_client()])
    await challenge_for(rig)
    reply = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, b"\x00" * 16)]))
    assert reply.code == ACCESS_REJECT


async def test_expired_state_rejected(store):
    rig = Rig(store, [make_client()], HandlerSettings(state_ttl=120))
    state = await challenge_for(rig)
    rig.clock.now += 121
    reply = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, state)]))
    assert reply.code == ACCESS_REJECT


async def test_state_accepted_just_before_expiry(store):
    rig = Rig(store, [make_client()], HandlerSettings(state_ttl=120))
    state = await challenge_for(rig)
    rig.clock.now += 119
    reply = await rig.exchange(access_request("alice", code(), SECRET, attributes=[(STATE, state)]))
    assert reply.code == ACCESS_ACCEPT


async def test_states_are_distinct(store):
    rig = Rig(store, [make_client()])
    first = await challenge_for(rig)
    second = await challenge_for(rig)
    assert first != second


async def test_pending_challenges_bounded(store):
    rig = Rig(store, [make_client()], HandlerSettings(max_pending_challenges=2))
    await challenge_for(rig)
    await challenge_for(rig)
    reply = await rig.exchange(access_request("alice", "alice-pw", SECRET))
    assert reply.code == ACCESS_REJECT
    assert rig.handler.pending_challenges == 2


# --- retransmissions -------------------------------------------------------------


async def test_retransmits_while_pending_make_one_attempt(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.APPENDED)])
    rig.ad.gate = asyncio.Event()
    request = access_request("alice", b"alice-pw" + code().encode(), SECRET)

    for _ in range(3):
        rig.receive(request)
        await asyncio.sleep(0)
    assert len(rig.ad.calls) == 1
    assert rig.sent.replies == []

    rig.ad.gate.set()
    await rig.settle()
    assert len(rig.sent.replies) == 1
    assert len(rig.ad.calls) == 1


async def test_retransmits_of_answered_request_get_same_bytes(store):
    rig = Rig(store, [make_client(code_mode=CodeMode.APPENDED)])
    request = access_request("alice", b"alice-pw" + code().encode(), SECRET)
    rig.receive(request)
    await rig.settle()

    rig.receive(request)
    rig.receive(request)
    await rig.settle()

    replies = [reply for reply, _ in rig.sent.replies]
    assert len(replies) == 3
    assert replies[1] == replies[0]
    assert replies[2] == replies[0]
    assert verify_reply(replies[0], request[4:20], SECRET).code == ACCESS_ACCEPT
    assert len(rig.ad.calls) == 1


async def test_retransmit_from_other_port_is_new_request(store):
    rig = Rig(store, [make_client()])
    request = access_request("bob", "bob-pw", SECRET)
    rig.receive(request, ("127.0.0.1", 40000))
    rig.receive(request, ("127.0.0.1", 40001))
    await rig.settle()
    assert len(rig.ad.calls) == 2


async def test_retransmit_cache_expires(store):
    rig = Rig(store, [make_client()], HandlerSettings(retransmit_cache_ttl=90))
    request = access_request("bob", "bob-pw", SECRET)
    rig.receive(request)
    await rig.settle()
    rig.clock.now += 91
    rig.receive(request)
    await rig.settle()
    assert len(rig.ad.calls) == 2


async def test_retransmit_cache_full_of_pending_drops(store):
    rig = Rig(store, [make_client()], HandlerSettings(retransmit_cache_entries=2))
    rig.ad.gate = asyncio.Event()
    for identifier in range(3):
        rig.receive(access_request("bob", "bob-pw", SECRET, identifier=identifier))
    await asyncio.sleep(0)
    assert len(rig.ad.calls) == 2

    rig.ad.gate.set()
    await rig.settle()
    assert len(rig.sent.replies) == 2


async def test_retransmit_cache_evicts_answered(store):
    rig = Rig(store, [make_client()], HandlerSettings(retransmit_cache_entries=2))
    requests = [access_request("bob", "bob-pw", SECRET, identifier=identifier) for identifier in range(3)]
    for request in requests:
        rig.receive(request)
        await rig.settle()
    rig.receive(requests[0])
    await rig.settle()
    assert len(rig.sent.replies) == 4
    assert len(rig.ad.calls) == 4


# --- what is dropped before any work ----------------------------------------------


async def test_unknown_client_dropped(store, caplog):
    rig = Rig(store, [make_client("nas", "127.0.0.1/32")])
    with caplog.at_level(logging.WARNING, "factorgate.radius"):
        for _ in range(5):
            rig.receive(access_request("bob", "bob-pw", SECRET), ("127.0.0.7", 5000))
        await rig.settle()
    assert rig.sent.replies == []
    assert rig.ad.calls == []
    assert len([r for r in caplog.records if "no RADIUS client" in r.getMessage()]) == 1


async def test_missing_message_authenticator_dropped(store):
    rig = Rig(store, [make_client()])
    rig.receive(access_request("bob", "bob-pw", SECRET, message_authenticator=False))
    await rig.settle()
    assert rig.sent.replies == []
    assert rig.ad.calls == []


async def test_missing_message_authenticator_allowed_when_not_required(store):
    rig = Rig(store, [make_client(require_message_authenticator=False)])
    reply = await rig.exchange(access_request("bob", "bob-pw", SECRET, message_authenticator=False))
    assert reply.code == ACCESS_ACCEPT


async def test_wrong_secret_dropped(store):
    rig = Rig(store, [make_client()])
    rig.receive(access_request("bob", "bob-pw", OTHER_SECRET))
    await rig.settle()
    assert rig.sent.replies == []


async def test_proxy_state_without_message_authenticator_dropped(store):
    rig = Rig(store, [make_client(require_message_authenticator=False)])
    rig.receive(access_request("bob", "bob-pw", SECRET, attributes=[(PROXY_STATE, b"p1")], message_authenticator=False))
    await rig.settle()
    assert rig.sent.replies == []


async def test_accounting_request_dropped(store):
    rig = Rig(store, [make_client()])
    rig.receive(build_request(4, 1, [(40, b"\x00\x00\x00\x01")], SECRET))
    await rig.settle()
    assert rig.sent.replies == []


async def test_log_never_contains_password_or_state(store, caplog):
    rig = Rig(store, [make_client()])
    with caplog.at_level(logging.DEBUG):
        state = await challenge_for(rig)
        await rig.exchange(access_request("alice", "123456", SECRET, attributes=[(STATE, state)]))
        await rig.exchange(access_request("alice", "123456", SECRET, attributes=[(STATE, state)]))
    text = caplog.text
    assert "alice-pw" not in text
    assert "123456" not in text
    assert state.hex() not in text
    assert SECRET.decode() not in text


# --- Status-Server, Proxy-State, reply attributes ------------------------------------


async def test_status_server_answered_with_accept(store):
    rig = Rig(store, [make_client()])
    reply = await rig.exchange(build_request(STATUS_SERVER, 9, [], SECRET))
    assert reply.code == ACCESS_ACCEPT
    assert reply.attributes[0][0] == MESSAGE_AUTHENTICATOR


async def test_proxy_state_echoed_in_order(store):
    rig = Rig(store, [make_client()])
    request = access_request("bob", "bob-pw", SECRET, attributes=[(PROXY_STATE, b"first"), (PROXY_STATE, b"second")])
    reply = await rig.exchange(request)
    assert reply.get_all(PROXY_STATE) == [b"first", b"second"]


async def test_proxy_state_echoed_in_reject(store):
    rig = Rig(store, [make_client()])
    request = access_request("bob", "wrong", SECRET, attributes=[(PROXY_STATE, b"p")])
    reply = await rig.exchange(request)
    assert reply.code == ACCESS_REJECT
    assert reply.get_all(PROXY_STATE) == [b"p"]


async def test_group_reply_attributes_added_for_members(store):
    citrix_group = vendor_attribute(VENDOR_CITRIX, 16, b"VPN-Staff")
    groups = (GroupReplyConfig(VPN_GROUP, ((CLASS, b"vpn-staff"), citrix_group)),
              GroupReplyConfig("CN=Admins,OU=Groups,DC=corp,DC=example,DC=test", ((CLASS, b"admins"),)))
    membership = Groups({VPN_GROUP: {BOB.dn}})
    rig = Rig(store, [make_client(reply_attributes_by_group=groups)], groups=membership)
    reply = await rig.exchange(access_request("bob", "bob-pw", SECRET))
    assert reply.get_all(CLASS) == [b"vpn-staff"]
    assert reply.get(26) == citrix_group[1]


async def test_group_reply_attributes_absent_for_non_members(store):
    groups = (GroupReplyConfig(VPN_GROUP, ((CLASS, b"vpn-staff"),)),)
    rig = Rig(store, [make_client(reply_attributes_by_group=groups)], groups=Groups({}))
    reply = await rig.exchange(access_request("bob", "bob-pw", SECRET))
    assert reply.code == ACCESS_ACCEPT
    assert reply.get(CLASS) is None


async def test_group_reply_attributes_not_in_challenge(store):
    groups = (GroupReplyConfig(VPN_GROUP, ((CLASS, b"vpn-staff"),)),)
    rig = Rig(store, [make_client(reply_attributes_by_group=groups)], groups=Groups({VPN_GROUP: {ALICE.dn}}))
    reply = await rig.exchange(access_request("alice", "alice-pw", SECRET))
    assert reply.code == ACCESS_CHALLENGE
    assert reply.get(CLASS) is None


async def test_group_look_up_failure_rejects(store):
    async def failing(user, group):
        raise OSError("connection reset")

    groups = (GroupReplyConfig(VPN_GROUP, ((CLASS, b"vpn-staff"),)),)
    rig = Rig(store, [make_client(reply_attributes_by_group=groups)], groups=failing)
    reply = await rig.exchange(access_request("bob", "bob-pw", SECRET))
    assert reply.code == ACCESS_REJECT


# --- arbitrary input never raises ------------------------------------------------------


def mutated_requests() -> st.SearchStrategy[bytes]:
    valid = access_request("bob", "bob-pw", SECRET, identifier=1, authenticator=b"A" * 16,
                           attributes=[(PROXY_STATE, b"p")])

    def mutate(data: tuple[int, int, bytes]) -> bytes:
        position, cut, noise = data
        mutated = bytearray(valid)
        for offset, octet in enumerate(noise):
            mutated[(position + offset) % len(mutated)] = octet
        return bytes(mutated[:max(cut, 0)] if cut < len(valid) else mutated)

    return st.tuples(st.integers(0, len(valid) - 1), st.integers(0, len(valid) + 10), st.binary(max_size=8)).map(mutate)


def lying_lengths() -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(1, 12), st.integers(0, 255), st.integers(0, 65535), st.binary(min_size=16, max_size=16),
                     st.binary(max_size=200)).map(
        lambda t: bytes((t[0], t[1])) + t[2].to_bytes(2, "big") + t[3] + t[4])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(datagram=st.one_of(st.binary(max_size=4200), mutated_requests(), lying_lengths(),
                          st.binary(min_size=4096, max_size=4096)))
def test_listener_never_raises(store, datagram):
    async def run() -> None:
        rig = Rig(store, [make_client(require_message_authenticator=False, limit_proxy_state=False)])
        rig.receive(datagram)
        await rig.settle()
        for reply, _ in rig.sent.replies:
            verify_reply(reply, datagram[4:20], SECRET)

    errors = ErrorCounter()
    logger = logging.getLogger("factorgate.radius")
    logger.addHandler(errors)
    try:
        asyncio.run(run())
    finally:
        logger.removeHandler(errors)
    assert errors.count == 0, "the handler caught an unexpected exception"


class ErrorCounter(logging.Handler):
    """Count ERROR records: the handler logs every exception it catches at that level."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
