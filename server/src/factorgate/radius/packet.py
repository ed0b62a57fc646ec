"""Sans-IO RADIUS packet codec: bytes in, `Packet` values and reply bytes out.

This layer owns the wire format of RFC 2865 (packets, PAP hiding), RFC 2866
(Accounting-Request authenticator), RFC 3579 §3.2 (Message-Authenticator) and
RFC 5997 (Status-Server). It opens no sockets and keeps no state, so the UDP
listener, the tests and the load generator share it.

Blast-RADIUS (CVE-2024-3596) shapes two rules here: `verify_request` rejects
a request without Message-Authenticator when the client must send one, and
`build_reply` always puts Message-Authenticator first in Access replies, so a
forged MD5 collision cannot hide in an attribute that precedes it.

Attribute values stay raw bytes in wire order. Vendor-Specific attributes are
kept whole as type 26 values; `decode_vendor_attribute` splits one on demand.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from factorgate.radius.dictionary import (
    ACCESS_ACCEPT,
    ACCESS_CHALLENGE,
    ACCESS_REJECT,
    ACCESS_REQUEST,
    ACCOUNTING_REQUEST,
    ACCOUNTING_RESPONSE,
    CLASS,
    EAP_MESSAGE,
    MESSAGE_AUTHENTICATOR,
    NAS_IDENTIFIER,
    NAS_IP_ADDRESS,
    PROXY_STATE,
    REPLY_MESSAGE,
    STATE,
    STATUS_SERVER,
    USER_NAME,
    USER_PASSWORD,
    VENDOR_SPECIFIC,
    describe_attribute,
    describe_code,
)

__all__ = [
    "ACCESS_ACCEPT",
    "ACCESS_CHALLENGE",
    "ACCESS_REJECT",
    "ACCESS_REQUEST",
    "ACCOUNTING_REQUEST",
    "ACCOUNTING_RESPONSE",
    "STATUS_SERVER",
    "Packet",
    "PacketError",
    "access_request",
    "build_reply",
    "build_request",
    "class_attribute",
    "decode_packet",
    "decode_pap_password",
    "decode_vendor_attribute",
    "encode_pap_password",
    "nas_identifier",
    "nas_ip_address",
    "reply_message",
    "state",
    "user_name",
    "user_password",
    "vendor_attribute",
    "verify_reply",
    "verify_request",
]

HEADER_LENGTH = 20
AUTHENTICATOR_LENGTH = 16
MIN_PACKET_LENGTH = 20
MAX_PACKET_LENGTH = 4096          # RFC 2865 §3
MAX_ATTRIBUTE_VALUE_LENGTH = 253  # the one-octet length field counts its own 2-octet header
PAP_BLOCK_LENGTH = 16
MAX_PAP_PASSWORD_LENGTH = 128     # RFC 2865 §5.2

REQUEST_CODES = frozenset({ACCESS_REQUEST, ACCOUNTING_REQUEST, STATUS_SERVER})
REPLY_CODES_BY_REQUEST: dict[int, frozenset[int]] = {
    ACCESS_REQUEST: frozenset({ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE}),
    # RFC 5997 §3: Access-Accept on the authentication port, Accounting-Response on the accounting port.
    STATUS_SERVER: frozenset({ACCESS_ACCEPT, ACCOUNTING_RESPONSE}),
    ACCOUNTING_REQUEST: frozenset({ACCOUNTING_RESPONSE}),
}
ACCESS_REPLY_CODES = REPLY_CODES_BY_REQUEST[ACCESS_REQUEST]

_HEADER = struct.Struct("!BBH")
_MD5_BLOCK_LENGTH = 64
_ZERO_AUTHENTICATOR = bytes(AUTHENTICATOR_LENGTH)
_MESSAGE_AUTHENTICATOR_LENGTH = 2 + AUTHENTICATOR_LENGTH
_ZEROED_MESSAGE_AUTHENTICATOR = bytes((MESSAGE_AUTHENTICATOR, _MESSAGE_AUTHENTICATOR_LENGTH)) + _ZERO_AUTHENTICATOR


class PacketError(ValueError):
    """A RADIUS packet or attribute that breaks the protocol rules.

    The message names the rule and the attribute but never an attribute value,
    because values may be hidden passwords, State or shared-secret material.
    """


@dataclass(repr=False)
class Packet:
    """One decoded RADIUS packet.

    Attributes:
        code: packet code (ACCESS_REQUEST, ACCESS_ACCEPT, ...).
        identifier: the one-octet Identifier that pairs a reply with its request.
        authenticator: the 16-octet Request or Response Authenticator.
        attributes: (type, value) pairs in wire order; type 26 values are whole
            Vendor-Specific values (vendor id included).
    """

    code: int
    identifier: int
    authenticator: bytes
    attributes: list[tuple[int, bytes]] = field(default_factory=list)

    def get(self, attribute_type: int) -> bytes | None:
        """Return the value of the first attribute of `attribute_type`, or None."""
        for current_type, value in self.attributes:
            if current_type == attribute_type:
                return value
        return None

    def get_all(self, attribute_type: int) -> list[bytes]:
        """Return the values of every attribute of `attribute_type`, in wire order."""
        return [value for current_type, value in self.attributes if current_type == attribute_type]

    def __repr__(self) -> str:
        # Lengths only: values include hidden passwords and State.
        summary = ", ".join(f"{describe_attribute(t)}[{len(v)}]" for t, v in self.attributes)
        return f"Packet({describe_code(self.code)}, identifier={self.identifier}, attributes=[{summary}])"


# --- decoding ---------------------------------------------------------------


def decode_packet(data: bytes) -> Packet:
    """Decode a datagram into a `Packet`, checking the framing rules of RFC 2865 §3.

    Octets after the Length field's end are padding and are ignored. The codec
    checks structure only: which codes and attributes are acceptable is the
    caller's decision, and `verify_request` checks authenticity.

    Raises:
        PacketError: the datagram is shorter than its Length field, the Length
            field is outside 20..4096, or an attribute is truncated or has a
            length below 2 or beyond the packet. No other exception is raised
            for any input.
    """
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise PacketError(f"RADIUS datagram must be bytes (got {type(data).__name__})")
        data = bytes(data)

    received = len(data)
    if received < HEADER_LENGTH:
        raise PacketError(f"datagram of {received} octets is shorter than the {HEADER_LENGTH}-octet RADIUS header")
    code, identifier, length = _HEADER.unpack_from(data)
    if length < MIN_PACKET_LENGTH or length > MAX_PACKET_LENGTH:
        raise PacketError(f"Length field {length} is outside {MIN_PACKET_LENGTH}..{MAX_PACKET_LENGTH}")
    if length > received:
        raise PacketError(f"Length field {length} exceeds the {received} octets received")

    attributes = _decode_attributes(data, length)
    return Packet(code, identifier, data[4:HEADER_LENGTH], attributes)


def _decode_attributes(data: bytes, length: int) -> list[tuple[int, bytes]]:
    attributes: list[tuple[int, bytes]] = []
    offset = HEADER_LENGTH
    while offset < length:
        if offset + 2 > length:
            raise PacketError(f"attribute header at offset {offset} is cut off by the packet end")
        attribute_type = data[offset]
        attribute_length = data[offset + 1]
        if attribute_length < 2:
            raise PacketError(
                f"{describe_attribute(attribute_type)} at offset {offset} has length {attribute_length}; the minimum is 2"
            )
        end = offset + attribute_length
        if end > length:
            raise PacketError(
                f"{describe_attribute(attribute_type)} at offset {offset} has length {attribute_length}, "
                f"which runs past the packet end at {length}"
            )
        attributes.append((attribute_type, data[offset + 2:end]))
        offset = end
    return attributes


# --- request verification ---------------------------------------------------


def verify_request(
    packet: Packet,
    raw: bytes,
    secret: bytes,
    require_message_authenticator: bool,
    *,
    limit_proxy_state: bool = True,
) -> None:
    """Check that a decoded request came from a client that knows `secret`.

    Message-Authenticator (RFC 3579 §3.2) is checked wherever it sits in the
    packet. It is required when `require_message_authenticator` is set, in
    every Status-Server (RFC 5997 §3) and in every packet with EAP-Message.
    Accounting-Request also has its Request Authenticator checked (RFC 2866 §3).

    Args:
        packet: the result of `decode_packet(raw)`.
        raw: the datagram as received (padding after the Length field is ignored).
        secret: the client's shared secret.
        require_message_authenticator: the client's Blast-RADIUS setting: a
            request without Message-Authenticator is rejected.
        limit_proxy_state: when Message-Authenticator is not required, reject
            a request that has Proxy-State but no Message-Authenticator
            (FreeRADIUS 3.2.5's `limit_proxy_state`), because a direct client
            never sends Proxy-State and Blast-RADIUS hides its collision there.

    Raises:
        PacketError: the code is not a request, Message-Authenticator is
            missing, repeated, not 16 octets or wrong, or the Accounting-Request
            authenticator is wrong.
    """
    if packet.code not in REQUEST_CODES:
        raise PacketError(f"{describe_code(packet.code)} is not a request a RADIUS server accepts")
    _check_secret(secret)
    length, offsets = _locate_message_authenticators(packet, raw)
    if len(offsets) > 1:
        raise PacketError(f"request has {len(offsets)} Message-Authenticator attributes; at most one is allowed")

    if not offsets:
        _check_missing_message_authenticator(packet, require_message_authenticator, limit_proxy_state)
    is_accounting = packet.code == ACCOUNTING_REQUEST
    if offsets:
        authenticator_field = _ZERO_AUTHENTICATOR if is_accounting else packet.authenticator
        _check_message_authenticator(raw, length, offsets[0], authenticator_field, secret)
    if is_accounting:
        _check_accounting_authenticator(raw, length, secret)


def _locate_message_authenticators(packet: Packet, raw: bytes) -> tuple[int, list[int]]:
    """Return the packet length and the offset of each Message-Authenticator in `raw`."""
    offsets: list[int] = []
    offset = HEADER_LENGTH
    for attribute_type, value in packet.attributes:
        if attribute_type == MESSAGE_AUTHENTICATOR:
            offsets.append(offset)
        offset += 2 + len(value)
    if len(raw) < offset or raw[2:4] != offset.to_bytes(2, "big"):
        raise PacketError("raw datagram does not match the decoded packet; pass the bytes given to decode_packet")
    return offset, offsets


def _check_missing_message_authenticator(packet: Packet, required: bool, limit_proxy_state: bool) -> None:
    if required:
        raise PacketError("Message-Authenticator is missing and this client is required to send it")
    if packet.code == STATUS_SERVER:
        raise PacketError("Message-Authenticator is missing; RFC 5997 requires it in every Status-Server")
    if packet.get(EAP_MESSAGE) is not None:
        raise PacketError("Message-Authenticator is missing; RFC 3579 requires it with EAP-Message")
    if limit_proxy_state and packet.get(PROXY_STATE) is not None:
        raise PacketError("Proxy-State without Message-Authenticator is rejected (limit_proxy_state)")


def _check_message_authenticator(
    raw: bytes, length: int, offset: int, authenticator_field: bytes, secret: bytes
) -> None:
    if raw[offset + 1] != _MESSAGE_AUTHENTICATOR_LENGTH:
        raise PacketError(f"Message-Authenticator has {raw[offset + 1] - 2} octets; RFC 3579 requires 16")
    value_start = offset + 2
    value_end = value_start + AUTHENTICATOR_LENGTH
    signed = b"".join(
        (raw[:4], authenticator_field, raw[HEADER_LENGTH:value_start], _ZERO_AUTHENTICATOR, raw[value_end:length])
    )
    expected = _hmac_md5(secret, signed)
    if not hmac.compare_digest(expected, raw[value_start:value_end]):
        raise PacketError("Message-Authenticator is invalid: the shared secret differs or the packet was altered")


def _check_accounting_authenticator(raw: bytes, length: int, secret: bytes) -> None:
    expected = hashlib.md5(b"".join((raw[:4], _ZERO_AUTHENTICATOR, raw[HEADER_LENGTH:length], secret))).digest()
    if not hmac.compare_digest(expected, raw[4:HEADER_LENGTH]):
        raise PacketError("Accounting-Request authenticator is invalid: the shared secret differs or the packet was altered")


def _hmac_md5(secret: bytes, message: bytes) -> bytes:
    """Compute HMAC-MD5 (RFC 2104) from MD5 states precomputed per secret.

    Equal to `hmac.digest(secret, message, "md5")` but about twice as fast,
    because the keyed inner and outer states are derived once per secret.
    """
    inner_state, outer_state = _hmac_md5_states(secret)
    inner = inner_state.copy()
    inner.update(message)
    outer = outer_state.copy()
    outer.update(inner.digest())
    return outer.digest()


# NOTE: the cache keeps up to 1024 secrets (and states derived from them) in
# memory; the client table contains the same secrets for the process lifetime.
@functools.lru_cache(maxsize=1024)
def _hmac_md5_states(secret: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    key = hashlib.md5(secret).digest() if len(secret) > _MD5_BLOCK_LENGTH else secret
    key = key.ljust(_MD5_BLOCK_LENGTH, b"\x00")
    inner = hashlib.md5(bytes(octet ^ 0x36 for octet in key))
    outer = hashlib.md5(bytes(octet ^ 0x5C for octet in key))
    return inner, outer


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("RADIUS shared secret must be non-empty bytes")


# --- PAP (RFC 2865 §5.2) ----------------------------------------------------


def decode_pap_password(hidden: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    """Recover a User-Password hidden with `secret` and the Request Authenticator.

    Only trailing NUL octets are removed (they are the padding). NULs inside
    the password are kept, and the result stays bytes because AD compares raw
    octets. A wrong secret yields wrong bytes, not an error: PAP has no check
    value, so the password check upstream is what fails.

    Raises:
        PacketError: the hidden value is not a multiple of 16 octets between 16 and 128.
    """
    hidden_length = len(hidden)
    if hidden_length % PAP_BLOCK_LENGTH or not PAP_BLOCK_LENGTH <= hidden_length <= MAX_PAP_PASSWORD_LENGTH:
        raise PacketError(
            f"User-Password has {hidden_length} octets; RFC 2865 requires a multiple of 16 between 16 and 128"
        )
    _check_secret(secret)
    _check_authenticator(request_authenticator)

    blocks = []
    previous = request_authenticator
    for start in range(0, hidden_length, PAP_BLOCK_LENGTH):
        block = hidden[start:start + PAP_BLOCK_LENGTH]
        blocks.append(_xor_block(block, hashlib.md5(secret + previous).digest()))
        previous = block
    return b"".join(blocks).rstrip(b"\x00")


def encode_pap_password(password: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    """Hide `password` for the User-Password attribute of a request.

    The password is padded with NULs to a multiple of 16 octets (16 for an
    empty one), then each block is XORed with MD5(secret + previous block),
    starting from the Request Authenticator.

    Raises:
        PacketError: the password is longer than 128 octets, or ends in a NUL
            octet, which the receiver would strip as padding.
    """
    password_length = len(password)
    if password_length > MAX_PAP_PASSWORD_LENGTH:
        raise PacketError(f"password has {password_length} octets; RFC 2865 allows at most 128")
    if password.endswith(b"\x00"):
        raise PacketError("password ends in a NUL octet, which RFC 2865 padding makes indistinguishable; remove it")
    _check_secret(secret)
    _check_authenticator(request_authenticator)

    padded_length = max(PAP_BLOCK_LENGTH, -(-password_length // PAP_BLOCK_LENGTH) * PAP_BLOCK_LENGTH)
    padded = password + bytes(padded_length - password_length)
    blocks = []
    previous = request_authenticator
    for start in range(0, padded_length, PAP_BLOCK_LENGTH):
        previous = _xor_block(padded[start:start + PAP_BLOCK_LENGTH], hashlib.md5(secret + previous).digest())
        blocks.append(previous)
    return b"".join(blocks)


def _xor_block(block: bytes, pad: bytes) -> bytes:
    return (int.from_bytes(block, "big") ^ int.from_bytes(pad, "big")).to_bytes(PAP_BLOCK_LENGTH, "big")


def _check_authenticator(authenticator: bytes) -> None:
    if len(authenticator) != AUTHENTICATOR_LENGTH:
        raise ValueError(f"RADIUS authenticator must be 16 octets (got {len(authenticator)})")


# --- building replies and requests -----------------------------------------


def build_reply(request: Packet, code: int, attributes: Iterable[tuple[int, bytes]], secret: bytes) -> bytes:
    """Encode the reply to `request`, signed with `secret`.

    Layout: Message-Authenticator first, then `attributes` in the given order,
    then every Proxy-State of the request unchanged and in order (RFC 2865 §5.33).
    Message-Authenticator is computed over the reply with the Request
    Authenticator in the authenticator field (RFC 3579 §3.2), then the Response
    Authenticator is MD5(Code+Identifier+Length+Request Authenticator+Attributes+Secret).
    Replies to Accounting-Request carry no Message-Authenticator, because their
    Response Authenticator already covers the whole packet.

    Raises:
        ValueError: `code` is not a reply to the request's code, an attribute
            type is outside 1..255 or is Message-Authenticator or Proxy-State
            (this function adds those), or a value is longer than 253 octets.
        PacketError: the reply would exceed 4096 octets.
    """
    allowed = REPLY_CODES_BY_REQUEST.get(request.code, frozenset())
    if code not in allowed:
        raise ValueError(f"{describe_code(code)} is not a reply to {describe_code(request.code)}")
    _check_secret(secret)
    _check_authenticator(request.authenticator)

    with_message_authenticator = request.code != ACCOUNTING_REQUEST
    proxy_states = [(PROXY_STATE, value) for value in request.get_all(PROXY_STATE)]
    body = b"".join(
        (
            _ZEROED_MESSAGE_AUTHENTICATOR if with_message_authenticator else b"",
            _encode_attributes(attributes, reserved=(MESSAGE_AUTHENTICATOR, PROXY_STATE)),
            _encode_attributes(proxy_states, reserved=()),
        )
    )
    header = _pack_header(code, request.identifier, len(body))

    if with_message_authenticator:
        signature = _hmac_md5(secret, header + request.authenticator + body)
        body = _ZEROED_MESSAGE_AUTHENTICATOR[:2] + signature + body[_MESSAGE_AUTHENTICATOR_LENGTH:]
    response_authenticator = hashlib.md5(header + request.authenticator + body + secret).digest()
    return header + response_authenticator + body


def build_request(
    code: int,
    identifier: int,
    attributes: Iterable[tuple[int, bytes]],
    secret: bytes,
    authenticator: bytes | None = None,
    message_authenticator: bool = True,
) -> bytes:
    """Encode a request as a client would send it (tests and the load generator).

    Access-Request and Status-Server get `authenticator`, or 16 octets from
    `secrets.token_bytes`. User-Password among `attributes` must already be
    hidden with that authenticator (`access_request` does this). For
    Accounting-Request the authenticator is computed (RFC 2866 §3), so
    `authenticator` must be None. Message-Authenticator, when asked for, is
    the first attribute.

    Raises:
        ValueError: the code is not a request, the identifier is outside 0..255,
            an attribute is invalid, or an authenticator is given for accounting.
        PacketError: the request would exceed 4096 octets.
    """
    if code not in REQUEST_CODES:
        raise ValueError(f"{describe_code(code)} is not a request code")
    if not 0 <= identifier <= 255:
        raise ValueError(f"RADIUS identifier must be between 0 and 255 (got {identifier})")
    _check_secret(secret)
    is_accounting = code == ACCOUNTING_REQUEST
    if is_accounting and authenticator is not None:
        raise ValueError("Accounting-Request authenticator is computed from the packet; pass authenticator=None")
    if authenticator is None:
        authenticator = _ZERO_AUTHENTICATOR if is_accounting else secrets.token_bytes(AUTHENTICATOR_LENGTH)
    _check_authenticator(authenticator)

    body = b"".join(
        (
            _ZEROED_MESSAGE_AUTHENTICATOR if message_authenticator else b"",
            _encode_attributes(attributes, reserved=(MESSAGE_AUTHENTICATOR,)),
        )
    )
    header = _pack_header(code, identifier, len(body))

    if message_authenticator:
        signature = _hmac_md5(secret, header + authenticator + body)
        body = _ZEROED_MESSAGE_AUTHENTICATOR[:2] + signature + body[_MESSAGE_AUTHENTICATOR_LENGTH:]
    if is_accounting:
        authenticator = hashlib.md5(header + _ZERO_AUTHENTICATOR + body + secret).digest()
    return header + authenticator + body


def access_request(
    user: str | bytes,
    password: str | bytes,
    secret: bytes,
    *,
    identifier: int | None = None,
    attributes: Iterable[tuple[int, bytes]] = (),
    authenticator: bytes | None = None,
    message_authenticator: bool = True,
) -> bytes:
    """Encode an Access-Request with User-Name and a hidden User-Password.

    `password` as str is encoded as UTF-8. `attributes` (State, NAS-Identifier,
    ...) follow the password. The identifier defaults to a random octet.
    """
    if authenticator is None:
        authenticator = secrets.token_bytes(AUTHENTICATOR_LENGTH)
    if identifier is None:
        identifier = secrets.randbelow(256)
    password_octets = password.encode("utf-8") if isinstance(password, str) else password
    all_attributes = [
        user_name(user),
        user_password(password_octets, secret, authenticator),
        *attributes,
    ]
    return build_request(
        ACCESS_REQUEST, identifier, all_attributes, secret, authenticator, message_authenticator
    )


def _pack_header(code: int, identifier: int, body_length: int) -> bytes:
    length = HEADER_LENGTH + body_length
    if length > MAX_PACKET_LENGTH:
        raise PacketError(f"{describe_code(code)} would be {length} octets; RADIUS allows at most {MAX_PACKET_LENGTH}")
    return _HEADER.pack(code, identifier, length)


def _encode_attributes(attributes: Iterable[tuple[int, bytes]], reserved: tuple[int, ...]) -> bytes:
    parts = []
    for attribute_type, value in attributes:
        if not 1 <= attribute_type <= 255:
            raise ValueError(f"RADIUS attribute type must be between 1 and 255 (got {attribute_type})")
        if attribute_type in reserved:
            raise ValueError(f"{describe_attribute(attribute_type)} is added by the codec; leave it out of the attributes")
        if len(value) > MAX_ATTRIBUTE_VALUE_LENGTH:
            raise ValueError(
                f"{describe_attribute(attribute_type)} value has {len(value)} octets; the maximum is {MAX_ATTRIBUTE_VALUE_LENGTH}"
            )
        parts.append(bytes((attribute_type, len(value) + 2)))
        parts.append(value)
    return b"".join(parts)


# --- reply verification (client side) ---------------------------------------


def verify_reply(
    raw_reply: bytes,
    request_authenticator: bytes,
    secret: bytes,
    *,
    require_message_authenticator: bool = True,
) -> Packet:
    """Decode a reply and check it the way a client does (tests and the load generator).

    Checks the Response Authenticator and, when present, Message-Authenticator.
    An Access-Accept, -Reject or -Challenge without Message-Authenticator is
    rejected while `require_message_authenticator` is set. Matching the
    Identifier to the request is the caller's job.

    Raises:
        PacketError: the reply is malformed, is not a reply code, or an
            authenticator is missing or wrong.
    """
    reply = decode_packet(raw_reply)
    if reply.code not in ACCESS_REPLY_CODES and reply.code != ACCOUNTING_RESPONSE:
        raise PacketError(f"{describe_code(reply.code)} is not a reply code")
    _check_secret(secret)
    _check_authenticator(request_authenticator)

    length, offsets = _locate_message_authenticators(reply, raw_reply)
    expected = hashlib.md5(
        b"".join((raw_reply[:4], request_authenticator, raw_reply[HEADER_LENGTH:length], secret))
    ).digest()
    if not hmac.compare_digest(expected, reply.authenticator):
        raise PacketError("Response Authenticator is invalid: the shared secret differs or the reply was altered")

    if len(offsets) > 1:
        raise PacketError(f"reply has {len(offsets)} Message-Authenticator attributes; at most one is allowed")
    if offsets:
        _check_message_authenticator(raw_reply, length, offsets[0], request_authenticator, secret)
    elif require_message_authenticator and reply.code in ACCESS_REPLY_CODES:
        raise PacketError(f"{describe_code(reply.code)} has no Message-Authenticator")
    return reply


# --- attribute helpers ------------------------------------------------------


def user_name(name: str | bytes) -> tuple[int, bytes]:
    """Build User-Name (type 1); str is encoded as UTF-8."""
    return _checked(USER_NAME, _to_octets(name))


def user_password(password: bytes, secret: bytes, request_authenticator: bytes) -> tuple[int, bytes]:
    """Build User-Password (type 2), hidden as RFC 2865 §5.2 requires."""
    return USER_PASSWORD, encode_pap_password(password, secret, request_authenticator)


def nas_ip_address(address: str) -> tuple[int, bytes]:
    """Build NAS-IP-Address (type 4) from dotted-quad text.

    Raises:
        ValueError: `address` is not an IPv4 address.
    """
    return NAS_IP_ADDRESS, ipaddress.IPv4Address(address).packed


def reply_message(text: str) -> tuple[int, bytes]:
    """Build Reply-Message (type 18), UTF-8 text the client shows the user.

    Raises:
        ValueError: the UTF-8 text is longer than 253 octets.
    """
    return _checked(REPLY_MESSAGE, text.encode("utf-8"))


def state(value: bytes) -> tuple[int, bytes]:
    """Build State (type 24): the opaque value an Access-Challenge hands out."""
    return _checked(STATE, value)


def class_attribute(value: bytes) -> tuple[int, bytes]:
    """Build Class (type 25): opaque octets the client returns in accounting."""
    return _checked(CLASS, value)


def nas_identifier(name: str | bytes) -> tuple[int, bytes]:
    """Build NAS-Identifier (type 32); str is encoded as UTF-8."""
    return _checked(NAS_IDENTIFIER, _to_octets(name))


def vendor_attribute(vendor_id: int, vendor_type: int, value: bytes) -> tuple[int, bytes]:
    """Build a Vendor-Specific attribute (type 26) in the RFC 2865 §5.26 layout.

    Layout: 4-octet vendor id, then one sub-attribute of vendor type,
    length and value.

    Raises:
        ValueError: the vendor id or type is out of range, or the value is
            longer than 247 octets.
    """
    if not 0 <= vendor_id < 2**24:
        raise ValueError(f"vendor id must be between 0 and 2**24 - 1 (got {vendor_id})")
    if not 1 <= vendor_type <= 255:
        raise ValueError(f"vendor attribute type must be between 1 and 255 (got {vendor_type})")
    if len(value) > MAX_ATTRIBUTE_VALUE_LENGTH - 6:
        raise ValueError(f"vendor attribute value has {len(value)} octets; the maximum is {MAX_ATTRIBUTE_VALUE_LENGTH - 6}")
    return VENDOR_SPECIFIC, struct.pack("!IBB", vendor_id, vendor_type, len(value) + 2) + value


def decode_vendor_attribute(value: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """Split a Vendor-Specific value into its vendor id and sub-attributes.

    Only the layout RFC 2865 §5.26 suggests (one-octet type and length) is
    understood. Vendors with other layouts need their own parser.

    Raises:
        PacketError: the value is shorter than a vendor id or a sub-attribute
            does not fit that layout.
    """
    if len(value) < 4:
        raise PacketError(f"Vendor-Specific value has {len(value)} octets; it needs at least a 4-octet vendor id")
    vendor_id = int.from_bytes(value[:4], "big")
    sub_attributes = []
    offset = 4
    while offset < len(value):
        if offset + 2 > len(value):
            raise PacketError(f"Vendor-Specific of vendor {vendor_id}: sub-attribute header is cut off")
        sub_length = value[offset + 1]
        if sub_length < 2 or offset + sub_length > len(value):
            raise PacketError(f"Vendor-Specific of vendor {vendor_id}: sub-attribute length {sub_length} does not fit")
        sub_attributes.append((value[offset], value[offset + 2:offset + sub_length]))
        offset += sub_length
    return vendor_id, sub_attributes


def _checked(attribute_type: int, value: bytes) -> tuple[int, bytes]:
    if len(value) > MAX_ATTRIBUTE_VALUE_LENGTH:
        raise ValueError(
            f"{describe_attribute(attribute_type)} value has {len(value)} octets; the maximum is {MAX_ATTRIBUTE_VALUE_LENGTH}"
        )
    return attribute_type, value


def _to_octets(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text
