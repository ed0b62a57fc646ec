"""The RADIUS client table: which source addresses may send requests, with which secret."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from factorgate.auth.model import CodeMode
from factorgate.config import GroupReplyConfig, IPNetwork, RadiusClientConfig

CODE_MODES = {
    "challenge": CodeMode.CHALLENGE,
    "append": CodeMode.APPENDED,
    "code_only": CodeMode.CODE_ONLY,
}

MAX_CACHED_ADDRESSES = 4096


@dataclass(frozen=True)
class RadiusClient:
    """One NAS as the handler uses it."""

    name: str
    network: IPNetwork
    secret: bytes = field(repr=False)
    require_message_authenticator: bool = True
    limit_proxy_state: bool = True
    code_mode: CodeMode = CodeMode.CHALLENGE
    code_only_allowed: bool = False
    reply_attributes_by_group: tuple[GroupReplyConfig, ...] = ()

    @classmethod
    def from_config(cls, config: RadiusClientConfig) -> RadiusClient:
        return cls(
            name=config.name,
            network=config.network,
            secret=config.secret,
            require_message_authenticator=config.require_message_authenticator,
            limit_proxy_state=config.limit_proxy_state,
            code_mode=CODE_MODES[config.otp_mode],
            code_only_allowed=config.code_only_allowed,
            reply_attributes_by_group=config.reply_attributes_by_group,
        )


class ClientTable:
    """Find the client for a source address; the longest matching prefix wins."""

    def __init__(self, clients: Iterable[RadiusClient]) -> None:
        self._clients = sorted(clients, key=lambda client: client.network.prefixlen, reverse=True)
        self._by_address: dict[str, RadiusClient] = {}

    def __len__(self) -> int:
        return len(self._clients)

    def lookup(self, address: str) -> RadiusClient | None:
        """Return the client that `address` belongs to, or None for an unknown source."""
        client = self._by_address.get(address)
        if client is not None:
            return client
        try:
            ip = ipaddress.ip_address(address.partition("%")[0])
        except ValueError:
            return None
        for candidate in self._clients:
            if ip.version == candidate.network.version and ip in candidate.network:
                # Only known sources are cached, so unknown ones cannot grow the dict.
                if len(self._by_address) < MAX_CACHED_ADDRESSES:
                    self._by_address[address] = candidate
                return candidate
        return None
