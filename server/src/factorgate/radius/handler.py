"""Per-datagram flow of the RADIUS front end, without sockets.

For every datagram, in this order, and before any work the next step needs:

1. the source address must belong to a configured client, else the datagram
   is dropped (logged, rate-limited);
2. the packet must decode, and `verify_request` must accept it with the
   client's secret, Message-Authenticator rule and Proxy-State rule, else it
   is dropped (logged, rate-limited);
3. Status-Server gets an Access-Accept (RFC 5997);
4. the retransmission cache decides: a copy of a request in progress is
   dropped, a copy of an answered one gets the same reply bytes again;
5. an Access-Request goes through the authentication pipeline, and the
   decision becomes an Access-Accept, -Reject or -Challenge.

Nothing raises out of `datagram_received`. No password, code, State value or
secret is ever logged, and packets are never dumped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from factorgate.auth.model import (
    AuthDecision,
    AuthRequest,
    CodeMode,
    DirectoryUser,
    PrimaryCheck,
    Reason,
    Verdict,
)
from factorgate.auth.pipeline import Pipeline
from factorgate.radius.challenges import ChallengeStore
from factorgate.radius.clients import ClientTable, RadiusClient
from factorgate.radius.dedup import CacheStatus, RetransmitCache, RetransmitKey
from factorgate.radius.dictionary import (
    ACCESS_ACCEPT,
    ACCESS_CHALLENGE,
    ACCESS_REJECT,
    ACCESS_REQUEST,
    REPLY_MESSAGE,
    STATE,
    STATUS_SERVER,
    USER_NAME,
    USER_PASSWORD,
    describe_code,
)
from factorgate.radius.packet import Packet, PacketError, build_reply, decode_packet, decode_pap_password, verify_request
from factorgate.radius.ratelimit import RateLimitedLog

log = logging.getLogger("factorgate.radius")

Address = tuple  # (host, port) or (host, port, flowinfo, scope_id) as asyncio reports it
Send = Callable[[bytes, Address], None]
PrimaryFactory = Callable[[bytes], PrimaryCheck]
"""Return the AD check for one login: called with the User-Name octets as received."""
MembershipCheck = Callable[[DirectoryUser, str], Awaitable[bool]]
"""Return whether the user is a nested member of the group DN."""

PROMPT = "Enter the code from your authenticator app"

# Reply-Message texts for AD's refusals, keyed by the `data` sub-code of AD's
# diagnostic (e.g. "80090308: LdapErr: ... data 52e, v4563").
AD_SUBCODE_MESSAGES = {
    "52e": "Wrong user name or password",
    "525": "Wrong user name or password",
    "533": "Account disabled",
    "775": "Account locked out",
    "773": "Password must be changed",
    "532": "Password expired",
    "701": "Account expired",
    "530": "Logon not allowed at this time",
    "531": "Logon not allowed from this workstation",
}
AD_REJECTED_MESSAGE = "Wrong user name or password"
AD_UNAVAILABLE_MESSAGE = "Directory unavailable, try again later"
STATE_REJECTED_MESSAGE = "Login session expired or invalid; log in again"
BUSY_MESSAGE = "Too many logins in progress, try again later"

REASON_MESSAGES = {
    Reason.EMPTY_PASSWORD: "Password required",
    Reason.UNKNOWN_USER_REJECTED: "Wrong user name or password",
    Reason.PENDING_ENROLLMENT: "Second factor not set up yet; contact your helpdesk",
    Reason.MISSING_CODE: "Enter your password followed by the code",
    Reason.INVALID_CODE: "Wrong code",
    Reason.REPLAYED_CODE: "Code already used; wait for the next one",
}


@dataclass(frozen=True)
class HandlerSettings:
    retransmit_cache_entries: int = 65536
    retransmit_cache_ttl: float = 90.0
    state_ttl: float = 120.0
    max_pending_challenges: int = 65536


class RadiusHandler:
    """Turn datagrams from RADIUS clients into replies through the pipeline.

    Args:
        clients: the configured clients.
        pipeline: the authentication pipeline shared with LDAP.
        primary_for: builds the AD check for one login (an `AdBindChecker`
            in production, a stub in tests and benchmarks).
        is_member: nested group membership, for reply attributes per group.
        settings: cache sizes and lifetimes.
        clock: monotonic seconds for the caches, injectable for tests.
    """

    def __init__(
        self,
        clients: ClientTable,
        pipeline: Pipeline,
        primary_for: PrimaryFactory,
        is_member: MembershipCheck | None = None,
        settings: HandlerSettings = HandlerSettings(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._pipeline = pipeline
        self._primary_for = primary_for
        self._is_member = is_member
        self._cache = RetransmitCache(settings.retransmit_cache_entries, settings.retransmit_cache_ttl, clock)
        self._challenges = ChallengeStore(settings.state_ttl, settings.max_pending_challenges, clock)
        self._dropped = RateLimitedLog(log, clock=clock)
        self._tasks: set[asyncio.Task] = set()

    @property
    def in_progress(self) -> int:
        """Number of Access-Requests being processed."""
        return len(self._tasks)

    @property
    def pending_challenges(self) -> int:
        return len(self._challenges)

    # --- entry point ----------------------------------------------------------

    def datagram_received(self, data: bytes, address: Address, send: Send) -> None:
        """Process one datagram; `send(reply, address)` is called for each reply."""
        try:
            self._receive(data, address, send)
        except Exception:  # noqa: BLE001 - the listener must survive any datagram
            log.exception("%s: unexpected error handling a datagram; dropped", address[0])

    def _receive(self, data: bytes, address: Address, send: Send) -> None:
        host = address[0]
        client = self._clients.lookup(host)
        if client is None:
            self._dropped.warning("unknown-client", host, "%s: datagram from an address that is no RADIUS client; dropped", host)
            return

        packet = self._decode_and_verify(client, data, host)
        if packet is None:
            return

        if packet.code == STATUS_SERVER:
            # Stateless and cheap, so not cached: a retransmitted one is answered again.
            send(build_reply(packet, ACCESS_ACCEPT, (), client.secret), address)
            return
        if packet.code != ACCESS_REQUEST:
            self._dropped.warning("unsupported-code", host, "%s (%s): %s is not served on this port; dropped",
                                  host, client.name, describe_code(packet.code))
            return

        key = RetransmitKey(host, address[1], packet.identifier, packet.authenticator)
        hit = self._cache.begin(key)
        if hit.status is CacheStatus.IN_PROGRESS:
            log.debug("%s (%s): retransmission of request %d in progress; dropped", host, client.name, packet.identifier)
            return
        if hit.status is CacheStatus.ANSWERED:
            log.debug("%s (%s): retransmission of request %d; sending the cached reply", host, client.name, packet.identifier)
            send(hit.reply, address)
            return
        if hit.status is CacheStatus.FULL:
            self._dropped.warning("cache-full", "", "%s (%s): retransmission cache full of requests in progress; dropped "
                                  "(raise radius.retransmit_cache_entries)", host, client.name)
            return

        task = asyncio.get_running_loop().create_task(self._process(client, packet, key, address, send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _decode_and_verify(self, client: RadiusClient, data: bytes, host: str) -> Packet | None:
        try:
            packet = decode_packet(data)
        except PacketError as error:
            self._dropped.warning("malformed", host, "%s (%s): malformed packet dropped: %s", host, client.name, error)
            return None
        try:
            verify_request(
                packet, data, client.secret, client.require_message_authenticator,
                limit_proxy_state=client.limit_proxy_state,
            )
        except PacketError as error:
            self._dropped.warning("unverified", host, "%s (%s): %s dropped: %s",
                                  host, client.name, describe_code(packet.code), error)
            return None
        return packet

    # --- Access-Request ---------------------------------------------------------

    async def _process(self, client: RadiusClient, packet: Packet, key: RetransmitKey, address: Address, send: Send) -> None:
        try:
            reply = await self._answer(client, packet, address[0])
        except Exception:  # noqa: BLE001 - one bad request must not stop the listener
            log.exception("%s (%s): request %d failed; no reply sent", address[0], client.name, packet.identifier)
            self._cache.abandon(key)
            return
        self._cache.finish(key, reply)
        send(reply, address)

    async def _answer(self, client: RadiusClient, packet: Packet, host: str) -> bytes:
        """Decide one Access-Request and return the signed reply."""
        raw_login = packet.get(USER_NAME)
        hidden_password = packet.get(USER_PASSWORD)
        if not raw_login or hidden_password is None:
            log.info("%s (%s): Access-Request without User-Name or User-Password (only PAP is supported); rejected",
                     host, client.name)
            return self._reject(client, packet, "Only PAP logins with a user name are supported")
        try:
            login = raw_login.decode("utf-8")
            password = decode_pap_password(hidden_password, client.secret, packet.authenticator)
        except (UnicodeDecodeError, PacketError) as error:
            log.info("%s (%s): invalid User-Name or User-Password (%s); rejected", host, client.name, type(error).__name__)
            return self._reject(client, packet, "Invalid user name or password encoding")

        request = AuthRequest(
            login=login,
            password=password,
            client_address=host,
            protocol="radius",
            client_name=client.name,
            code_mode=client.code_mode,
        )
        state = packet.get(STATE)
        if state is not None:
            return await self._answer_challenge(client, packet, request, state)
        if client.code_mode is CodeMode.CODE_ONLY and not client.code_only_allowed:
            # check-config refuses this; the check repeats here so that no code path skips AD by mistake.
            log.error("%s (%s): otp_mode code_only without code_only_allowed; rejected", host, client.name)
            return self._reject(client, packet, "Client not allowed to send codes alone")

        decision = await self._pipeline.authenticate(request, self._primary_for(raw_login))
        return await self._reply_to(client, packet, request, decision)

    async def _answer_challenge(self, client: RadiusClient, packet: Packet, request: AuthRequest, state: bytes) -> bytes:
        challenge = self._challenges.redeem(state, request.login, client.name, request.client_address)
        if challenge is None:
            log.warning("%s (%s): login=%r sent a State that is unknown, used, expired or not theirs; rejected",
                        request.client_address, client.name, request.login)
            return self._reject(client, packet, STATE_REJECTED_MESSAGE)
        decision = await self._pipeline.answer_challenge(request, challenge.user)
        return await self._reply_to(client, packet, request, decision)

    async def _reply_to(self, client: RadiusClient, packet: Packet, request: AuthRequest, decision: AuthDecision) -> bytes:
        if decision.verdict is Verdict.ACCEPT:
            return await self._accept(client, packet, decision)
        if decision.verdict is Verdict.CHALLENGE and decision.user is not None:
            return self._challenge(client, packet, request, decision)
        return self._reject(client, packet, reject_message(decision))

    async def _accept(self, client: RadiusClient, packet: Packet, decision: AuthDecision) -> bytes:
        try:
            attributes = await self._group_attributes(client, decision.user)
        except Exception as error:  # noqa: BLE001 - a failed look-up must fail closed
            log.error("%s: group look-up for reply attributes failed (%s); rejected", client.name, error)
            return self._reject(client, packet, AD_UNAVAILABLE_MESSAGE)
        return build_reply(packet, ACCESS_ACCEPT, attributes, client.secret)

    async def _group_attributes(self, client: RadiusClient, user: DirectoryUser | None) -> list[tuple[int, bytes]]:
        if not client.reply_attributes_by_group or user is None or self._is_member is None:
            return []
        attributes: list[tuple[int, bytes]] = []
        for group in client.reply_attributes_by_group:
            if await self._is_member(user, group.group):
                attributes.extend(group.attributes)
        return attributes

    def _challenge(self, client: RadiusClient, packet: Packet, request: AuthRequest, decision: AuthDecision) -> bytes:
        state = self._challenges.issue(decision.user, request.login, client.name, request.client_address)
        if state is None:
            log.warning("%s (%s): %d challenges pending, the maximum; login=%r rejected (raise radius.max_pending_challenges)",
                        request.client_address, client.name, len(self._challenges), request.login)
            return self._reject(client, packet, BUSY_MESSAGE)
        attributes = [(REPLY_MESSAGE, (decision.message or PROMPT).encode("utf-8")), (STATE, state)]
        return build_reply(packet, ACCESS_CHALLENGE, attributes, client.secret)

    def _reject(self, client: RadiusClient, packet: Packet, message: str) -> bytes:
        return build_reply(packet, ACCESS_REJECT, [(REPLY_MESSAGE, message.encode("utf-8"))], client.secret)

    # --- shutdown ---------------------------------------------------------------

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for requests in progress; return how many are left."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        return len(self._tasks)


def reject_message(decision: AuthDecision) -> str:
    """Choose the Reply-Message of an Access-Reject from the pipeline's decision."""
    if decision.reason is Reason.AD_UNAVAILABLE:
        return AD_UNAVAILABLE_MESSAGE
    if decision.reason is Reason.AD_REJECTED:
        diagnostic = decision.primary.diagnostic if decision.primary else ""
        return describe_ad_refusal(diagnostic)
    return REASON_MESSAGES.get(decision.reason, decision.message or "Access denied")


def describe_ad_refusal(diagnostic: str) -> str:
    """Map AD's bind diagnostic ("... data 775, v4563") to a message for the user."""
    marker = diagnostic.find(" data ")
    if marker < 0:
        return AD_REJECTED_MESSAGE
    subcode = diagnostic[marker + 6:marker + 9].lower()
    return AD_SUBCODE_MESSAGES.get(subcode, AD_REJECTED_MESSAGE)
