"""Tests of the RADIUS codec: RFC vectors, FreeRADIUS radclient as a peer, and fuzzing."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factorgate.radius.dictionary import (
    CLASS,
    EAP_MESSAGE,
    MESSAGE_AUTHENTICATOR,
    NAS_IDENTIFIER,
    NAS_IP_ADDRESS,
    NAS_PORT,
    PROXY_STATE,
    REPLY_MESSAGE,
    STATE,
    USER_NAME,
    USER_PASSWORD,
    VENDOR_CITRIX,
)
from factorgate.radius.packet import (
    ACCESS_ACCEPT,
    ACCESS_CHALLENGE,
    ACCESS_REJECT,
    ACCESS_REQUEST,
    ACCOUNTING_REQUEST,
    ACCOUNTING_RESPONSE,
    MAX_PACKET_LENGTH,
    STATUS_SERVER,
    Packet,
    PacketError,
    access_request,
    build_reply,
    build_request,
    class_attribute,
    decode_packet,
    decode_pap_password,
    decode_vendor_attribute,
    encode_pap_password,
    nas_identifier,
    nas_ip_address,
    reply_message,
    state,
    user_name,
    vendor_attribute,
    verify_reply,
    verify_request,
)

SECRET = b"a-shared-secret-of-32-octets-xyz"
AUTHENTICATOR = bytes(range(16))

# RFC 2865 §7.1: Access-Request from NAS 192.168.1.16 port 3, secret "xyzzy5461".
RFC2865_SECRET = b"xyzzy5461"
RFC2865_REQUEST = bytes.fromhex(
    "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d"
    " 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03"
)
RFC2865_HIDDEN_PASSWORD = bytes.fromhex("0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee")

NON_ASCII = "Grüße€".encode("utf-8")


def password_of_length(length: int) -> bytes:
    """Non-ASCII password of exactly `length` octets, with a NUL inside when long enough."""
    octets = (NON_ASCII * 20)[:length]
    if length >= 3:
        octets = octets[:1] + b"\x00" + octets[2:]
    return octets


def attribute_types(raw: bytes) -> list[int]:
    return [attribute_type for attribute_type, _ in decode_packet(raw).attributes]


def request_with_attributes(attributes: list[tuple[int, bytes]], code: int = ACCESS_REQUEST) -> bytes:
    """Access-Request with a correct Message-Authenticator placed among `attributes`.

    A (MESSAGE_AUTHENTICATOR, b"") entry marks the position; the signature is
    computed here, independently of the codec's builder.
    """
    body = b"".join(
        bytes((t, 18)) + bytes(16) if t == MESSAGE_AUTHENTICATOR and not v else bytes((t, len(v) + 2)) + v
        for t, v in attributes
    )
    header = struct.pack("!BBH", code, 7, 20 + len(body))
    signature = hmac.new(SECRET, header + AUTHENTICATOR + body, hashlib.md5).digest()
    body = body.replace(bytes((MESSAGE_AUTHENTICATOR, 18)) + bytes(16), bytes((MESSAGE_AUTHENTICATOR, 18)) + signature, 1)
    return header + AUTHENTICATOR + body


# --- RFC 2865 §7.1 known answer ---------------------------------------------


def test_rfc2865_request_decodes_header() -> None:
    packet = decode_packet(RFC2865_REQUEST)
    assert packet.code == ACCESS_REQUEST
    assert packet.identifier == 0
    assert packet.authenticator == bytes.fromhex("0f403f9473978057bd83d5cb98f4227a")


def test_rfc2865_request_decodes_attributes() -> None:
    packet = decode_packet(RFC2865_REQUEST)
    assert packet.attributes == [
        (USER_NAME, b"nemo"),
        (USER_PASSWORD, RFC2865_HIDDEN_PASSWORD),
        (NAS_IP_ADDRESS, bytes([192, 168, 1, 16])),
        (NAS_PORT, bytes([0, 0, 0, 3])),
    ]


def test_rfc2865_password_decodes() -> None:
    packet = decode_packet(RFC2865_REQUEST)
    assert decode_pap_password(packet.get(USER_PASSWORD), RFC2865_SECRET, packet.authenticator) == b"arctangent"


def test_rfc2865_password_encodes() -> None:
    authenticator = RFC2865_REQUEST[4:20]
    assert encode_pap_password(b"arctangent", RFC2865_SECRET, authenticator) == RFC2865_HIDDEN_PASSWORD


def test_rfc2865_request_has_no_message_authenticator() -> None:
    packet = decode_packet(RFC2865_REQUEST)
    with pytest.raises(PacketError, match="Message-Authenticator is missing"):
        verify_request(packet, RFC2865_REQUEST, RFC2865_SECRET, require_message_authenticator=True)


# --- PAP --------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 15, 16, 17, 33, 127, 128])
def test_pap_round_trip(length: int) -> None:
    password = password_of_length(length)
    hidden = encode_pap_password(password, SECRET, AUTHENTICATOR)
    assert len(hidden) == max(16, -(-length // 16) * 16)
    assert decode_pap_password(hidden, SECRET, AUTHENTICATOR) == password


def test_pap_non_ascii_password_stays_bytes() -> None:
    hidden = encode_pap_password(NON_ASCII, SECRET, AUTHENTICATOR)
    assert decode_pap_password(hidden, SECRET, AUTHENTICATOR) == NON_ASCII


def test_pap_invalid_utf8_round_trips() -> None:
    password = b"\xff\xfe\x80abc"
    hidden = encode_pap_password(password, SECRET, AUTHENTICATOR)
    assert decode_pap_password(hidden, SECRET, AUTHENTICATOR) == password


def test_pap_embedded_nul_is_kept() -> None:
    password = b"ab\x00\x00cd"
    hidden = encode_pap_password(password, SECRET, AUTHENTICATOR)
    assert decode_pap_password(hidden, SECRET, AUTHENTICATOR) == password


def test_pap_empty_password_is_one_block() -> None:
    hidden = encode_pap_password(b"", SECRET, AUTHENTICATOR)
    assert len(hidden) == 16
    assert decode_pap_password(hidden, SECRET, AUTHENTICATOR) == b""


def test_pap_encode_rejects_129_octets() -> None:
    with pytest.raises(PacketError, match="at most 128"):
        encode_pap_password(b"a" * 129, SECRET, AUTHENTICATOR)


def test_pap_encode_rejects_trailing_nul() -> None:
    with pytest.raises(PacketError, match="NUL"):
        encode_pap_password(b"abc\x00", SECRET, AUTHENTICATOR)


@pytest.mark.parametrize("length", [0, 15, 17, 144])
def test_pap_decode_rejects_bad_length(length: int) -> None:
    with pytest.raises(PacketError, match="multiple of 16 between 16 and 128"):
        decode_pap_password(bytes(length), SECRET, AUTHENTICATOR)


def test_pap_wrong_secret_gives_other_bytes() -> None:
    hidden = encode_pap_password(b"arctangent", SECRET, AUTHENTICATOR)
    assert decode_pap_password(hidden, b"another-secret", AUTHENTICATOR) != b"arctangent"


def test_pap_rejects_short_authenticator() -> None:
    with pytest.raises(ValueError, match="16 octets"):
        decode_pap_password(bytes(16), SECRET, bytes(15))


# --- decode_packet framing --------------------------------------------------


def test_decode_ignores_padding_after_length() -> None:
    packet = decode_packet(RFC2865_REQUEST + b"\x00garbage")
    assert packet.attributes == decode_packet(RFC2865_REQUEST).attributes


def test_decode_accepts_bytearray() -> None:
    assert decode_packet(bytearray(RFC2865_REQUEST)).get(USER_NAME) == b"nemo"


def test_decode_rejects_non_bytes() -> None:
    with pytest.raises(PacketError, match="must be bytes"):
        decode_packet("not bytes")  # type: ignore[arg-type]


def test_decode_rejects_short_datagram() -> None:
    with pytest.raises(PacketError, match="shorter than the 20-octet"):
        decode_packet(RFC2865_REQUEST[:19])


def test_decode_rejects_length_beyond_datagram() -> None:
    with pytest.raises(PacketError, match="exceeds the 55 octets received"):
        decode_packet(RFC2865_REQUEST[:55])


@pytest.mark.parametrize("length", [0, 19, 4097, 65535])
def test_decode_rejects_length_out_of_range(length: int) -> None:
    data = RFC2865_REQUEST[:2] + struct.pack("!H", length) + RFC2865_REQUEST[4:] + bytes(5000)
    with pytest.raises(PacketError, match="outside 20..4096"):
        decode_packet(data)


@pytest.mark.parametrize("attribute_length", [0, 1])
def test_decode_rejects_attribute_length_below_two(attribute_length: int) -> None:
    data = struct.pack("!BBH", 1, 1, 22) + AUTHENTICATOR + bytes((USER_NAME, attribute_length))
    with pytest.raises(PacketError, match="minimum is 2"):
        decode_packet(data)


def test_decode_rejects_overlong_attribute() -> None:
    data = bytearray(RFC2865_REQUEST)
    data[-5] = 0xFF  # NAS-Port claims 253 octets of value
    with pytest.raises(PacketError, match="NAS-Port at offset 50 has length 255"):
        decode_packet(bytes(data))


def test_decode_rejects_cut_attribute_header() -> None:
    data = struct.pack("!BBH", 1, 1, 21) + AUTHENTICATOR + bytes((USER_NAME,))
    with pytest.raises(PacketError, match="cut off"):
        decode_packet(data)


def test_decode_accepts_4096_octet_packet() -> None:
    attributes = [(CLASS, bytes(253))] * 15 + [(CLASS, bytes(249))]
    raw = build_request(ACCESS_REQUEST, 1, attributes, SECRET, AUTHENTICATOR, message_authenticator=False)
    assert len(raw) == MAX_PACKET_LENGTH
    assert len(decode_packet(raw).attributes) == 16


def test_build_rejects_4097_octet_packet() -> None:
    attributes = [(CLASS, bytes(253))] * 15 + [(CLASS, bytes(250))]
    with pytest.raises(PacketError, match="at most 4096"):
        build_request(ACCESS_REQUEST, 1, attributes, SECRET, AUTHENTICATOR, message_authenticator=False)


def test_packet_keeps_attribute_order_and_repeats() -> None:
    raw = build_request(
        ACCESS_REQUEST, 1, [(CLASS, b"a"), (STATE, b"s"), (CLASS, b"b")], SECRET, AUTHENTICATOR, False
    )
    packet = decode_packet(raw)
    assert packet.get_all(CLASS) == [b"a", b"b"]
    assert packet.get(STATE) == b"s"
    assert packet.get(REPLY_MESSAGE) is None


def test_packet_repr_hides_values() -> None:
    raw = access_request("alice", b"hunter2-password", SECRET, attributes=[state(b"state-secret")])
    text = repr(decode_packet(raw))
    assert "alice" not in text
    assert "state-secret" not in text
    assert "User-Password[16]" in text


# --- verify_request ---------------------------------------------------------


@pytest.mark.parametrize("position", [0, 1, 3])
def test_verify_accepts_message_authenticator_anywhere(position: int) -> None:
    attributes: list[tuple[int, bytes]] = [(USER_NAME, b"alice"), (NAS_IDENTIFIER, b"gw"), (CLASS, b"c")]
    attributes.insert(position, (MESSAGE_AUTHENTICATOR, b""))
    raw = request_with_attributes(attributes)
    verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_accepts_padded_datagram() -> None:
    raw = access_request("alice", b"pw", SECRET) + bytes(7)
    verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_rejects_missing_when_required() -> None:
    raw = access_request("alice", b"pw", SECRET, message_authenticator=False)
    with pytest.raises(PacketError, match="missing and this client is required"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_allows_missing_when_not_required() -> None:
    raw = access_request("alice", b"pw", SECRET, message_authenticator=False)
    verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=False)


def test_verify_rejects_two_message_authenticators() -> None:
    raw = request_with_attributes([(MESSAGE_AUTHENTICATOR, b""), (USER_NAME, b"a"), (MESSAGE_AUTHENTICATOR, bytes(16))])
    with pytest.raises(PacketError, match="2 Message-Authenticator"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=False)


def test_verify_rejects_wrong_secret() -> None:
    raw = access_request("alice", b"pw", SECRET)
    with pytest.raises(PacketError, match="Message-Authenticator is invalid"):
        verify_request(decode_packet(raw), raw, b"another-secret", require_message_authenticator=True)


def test_verify_rejects_altered_attribute() -> None:
    raw = bytearray(access_request("alice", b"pw", SECRET))
    raw[-1] ^= 0x01  # last octet of the hidden User-Password
    with pytest.raises(PacketError, match="Message-Authenticator is invalid"):
        verify_request(decode_packet(bytes(raw)), bytes(raw), SECRET, require_message_authenticator=True)


def test_verify_rejects_altered_authenticator() -> None:
    raw = bytearray(access_request("alice", b"pw", SECRET))
    raw[4] ^= 0x01
    with pytest.raises(PacketError, match="Message-Authenticator is invalid"):
        verify_request(decode_packet(bytes(raw)), bytes(raw), SECRET, require_message_authenticator=True)


def test_verify_rejects_short_message_authenticator() -> None:
    data = build_request(ACCESS_REQUEST, 1, [(USER_NAME, b"a")], SECRET, AUTHENTICATOR, False)
    body = data[20:] + bytes((MESSAGE_AUTHENTICATOR, 17)) + bytes(15)
    raw = struct.pack("!BBH", 1, 1, 20 + len(body)) + AUTHENTICATOR + body
    with pytest.raises(PacketError, match="has 15 octets"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_status_server_requires_message_authenticator() -> None:
    raw = build_request(STATUS_SERVER, 3, [], SECRET, message_authenticator=False)
    with pytest.raises(PacketError, match="RFC 5997"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=False)


def test_verify_status_server_with_message_authenticator() -> None:
    raw = build_request(STATUS_SERVER, 3, [nas_identifier("gw")], SECRET)
    verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_eap_requires_message_authenticator() -> None:
    raw = build_request(ACCESS_REQUEST, 3, [(EAP_MESSAGE, b"\x02\x00\x00\x05\x01")], SECRET, message_authenticator=False)
    with pytest.raises(PacketError, match="EAP-Message"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=False)


def test_verify_limits_proxy_state_without_message_authenticator() -> None:
    raw = access_request("alice", b"pw", SECRET, attributes=[(PROXY_STATE, b"p")], message_authenticator=False)
    with pytest.raises(PacketError, match="limit_proxy_state"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=False)


def test_verify_proxy_state_allowed_when_unlimited() -> None:
    raw = access_request("alice", b"pw", SECRET, attributes=[(PROXY_STATE, b"p")], message_authenticator=False)
    verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=False, limit_proxy_state=False)


def test_verify_rejects_reply_code() -> None:
    request = decode_packet(access_request("alice", b"pw", SECRET))
    raw = build_reply(request, ACCESS_ACCEPT, [], SECRET)
    with pytest.raises(PacketError, match="not a request"):
        verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_rejects_mismatched_raw() -> None:
    raw = access_request("alice", b"pw", SECRET)
    other = access_request("bob-with-a-longer-name", b"pw", SECRET)
    with pytest.raises(PacketError, match="does not match"):
        verify_request(decode_packet(raw), other, SECRET, require_message_authenticator=True)


def test_verify_accounting_request() -> None:
    raw = build_request(ACCOUNTING_REQUEST, 9, [user_name("alice")], SECRET)
    verify_request(decode_packet(raw), raw, SECRET, require_message_authenticator=True)


def test_verify_accounting_request_wrong_secret() -> None:
    raw = build_request(ACCOUNTING_REQUEST, 9, [user_name("alice")], SECRET, message_authenticator=False)
    with pytest.raises(PacketError, match="Accounting-Request authenticator is invalid"):
        verify_request(decode_packet(raw), raw, b"another-secret", require_message_authenticator=False)


def test_verify_error_names_no_secret() -> None:
    raw = access_request("alice", b"pw", SECRET)
    with pytest.raises(PacketError) as caught:
        verify_request(decode_packet(raw), raw, b"another-secret", require_message_authenticator=True)
    assert "another-secret" not in str(caught.value)


# --- build_reply / verify_reply ---------------------------------------------


@pytest.fixture
def proxied_request() -> Packet:
    raw = access_request("alice", b"pw", SECRET, attributes=[(PROXY_STATE, b"first"), (PROXY_STATE, b"second")])
    return decode_packet(raw)


def test_reply_message_authenticator_first(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_REJECT, [reply_message("denied")], SECRET)
    assert attribute_types(raw)[0] == MESSAGE_AUTHENTICATOR


def test_reply_attribute_order(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_CHALLENGE, [reply_message("code?"), state(b"s1")], SECRET)
    assert decode_packet(raw).attributes[1:] == [
        (REPLY_MESSAGE, b"code?"),
        (STATE, b"s1"),
        (PROXY_STATE, b"first"),
        (PROXY_STATE, b"second"),
    ]


def test_reply_keeps_identifier(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_ACCEPT, [], SECRET)
    assert decode_packet(raw).identifier == proxied_request.identifier


def test_reply_response_authenticator_known_formula(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_ACCEPT, [class_attribute(b"c")], SECRET)
    expected = hashlib.md5(raw[:4] + proxied_request.authenticator + raw[20:] + SECRET).digest()
    assert raw[4:20] == expected


def test_reply_message_authenticator_known_formula(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_ACCEPT, [class_attribute(b"c")], SECRET)
    zeroed = raw[:4] + proxied_request.authenticator + raw[20:22] + bytes(16) + raw[38:]
    assert raw[22:38] == hmac.new(SECRET, zeroed, hashlib.md5).digest()


def test_reply_verifies_as_client(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_ACCEPT, [reply_message("welcome")], SECRET)
    reply = verify_reply(raw, proxied_request.authenticator, SECRET)
    assert reply.get(REPLY_MESSAGE) == b"welcome"


def test_reply_to_accounting_has_no_message_authenticator() -> None:
    request = decode_packet(build_request(ACCOUNTING_REQUEST, 9, [user_name("alice")], SECRET))
    raw = build_reply(request, ACCOUNTING_RESPONSE, [], SECRET)
    assert MESSAGE_AUTHENTICATOR not in attribute_types(raw)


def test_reply_to_status_server_verifies() -> None:
    request = decode_packet(build_request(STATUS_SERVER, 4, [], SECRET))
    raw = build_reply(request, ACCESS_ACCEPT, [], SECRET)
    assert verify_reply(raw, request.authenticator, SECRET).code == ACCESS_ACCEPT


def test_reply_rejects_code_not_matching_request(proxied_request: Packet) -> None:
    with pytest.raises(ValueError, match="Accounting-Response is not a reply to Access-Request"):
        build_reply(proxied_request, ACCOUNTING_RESPONSE, [], SECRET)


@pytest.mark.parametrize("attribute_type", [MESSAGE_AUTHENTICATOR, PROXY_STATE])
def test_reply_rejects_codec_owned_attributes(proxied_request: Packet, attribute_type: int) -> None:
    with pytest.raises(ValueError, match="added by the codec"):
        build_reply(proxied_request, ACCESS_ACCEPT, [(attribute_type, bytes(16))], SECRET)


def test_reply_rejects_overlong_value(proxied_request: Packet) -> None:
    with pytest.raises(ValueError, match="254 octets"):
        build_reply(proxied_request, ACCESS_ACCEPT, [(CLASS, bytes(254))], SECRET)


def test_reply_rejects_empty_secret(proxied_request: Packet) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        build_reply(proxied_request, ACCESS_ACCEPT, [], b"")


def test_verify_reply_rejects_wrong_secret(proxied_request: Packet) -> None:
    raw = build_reply(proxied_request, ACCESS_ACCEPT, [], SECRET)
    with pytest.raises(PacketError, match="Response Authenticator is invalid"):
        verify_reply(raw, proxied_request.authenticator, b"another-secret")


def test_verify_reply_rejects_bad_message_authenticator(proxied_request: Packet) -> None:
    raw = bytearray(build_reply(proxied_request, ACCESS_ACCEPT, [], SECRET))
    raw[22] ^= 0x01
    raw[4:20] = hashlib.md5(bytes(raw[:4]) + proxied_request.authenticator + bytes(raw[20:]) + SECRET).digest()
    with pytest.raises(PacketError, match="Message-Authenticator is invalid"):
        verify_reply(bytes(raw), proxied_request.authenticator, SECRET)


def test_verify_reply_requires_message_authenticator() -> None:
    header = struct.pack("!BBH", ACCESS_ACCEPT, 1, 20)
    raw = header + hashlib.md5(header + AUTHENTICATOR + SECRET).digest()
    with pytest.raises(PacketError, match="has no Message-Authenticator"):
        verify_reply(raw, AUTHENTICATOR, SECRET)


# --- attribute helpers --------------------------------------------------------


def test_vendor_attribute_round_trip() -> None:
    attribute_type, value = vendor_attribute(VENDOR_CITRIX, 16, b"group-a")
    assert attribute_type == 26
    assert decode_vendor_attribute(value) == (VENDOR_CITRIX, [(16, b"group-a")])


@pytest.mark.parametrize("value", [b"\x00\x00", b"\x00\x00\x0f\x05\x10", b"\x00\x00\x0f\x05\x10\x09ab"])
def test_decode_vendor_attribute_rejects_malformed(value: bytes) -> None:
    with pytest.raises(PacketError):
        decode_vendor_attribute(value)


def test_nas_ip_address_packs_four_octets() -> None:
    assert nas_ip_address("192.168.1.16") == (NAS_IP_ADDRESS, bytes([192, 168, 1, 16]))


def test_reply_message_rejects_254_octets() -> None:
    with pytest.raises(ValueError, match="maximum is 253"):
        reply_message("x" * 254)


def test_access_request_hides_password() -> None:
    raw = access_request("alice", "Grüße€", SECRET, identifier=5)
    packet = decode_packet(raw)
    assert decode_pap_password(packet.get(USER_PASSWORD), SECRET, packet.authenticator) == NON_ASCII


# --- FreeRADIUS radclient as the peer ---------------------------------------

radclient_missing = pytest.mark.skipif(
    shutil.which("radclient") is None, reason="radclient not installed (apt-get install freeradius-utils)"
)
RADCLIENT_SECRET = b"radclient-test-secret-32-octets!"
RADCLIENT_INPUT = (
    'User-Name = "nemo"\n'
    'User-Password = "Grüße€"\n'
    "Message-Authenticator = 0x00\n"
    "Proxy-State = 0x70726f78792d31\n"
)


@dataclass
class RadclientExchange:
    request: bytes
    returncode: int
    output: str


def exchange_with_radclient(make_reply: Callable[[Packet], bytes]) -> RadclientExchange:
    """Run radclient against a one-shot UDP server on 127.0.0.1 that replies with `make_reply`."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(10)
    received: list[bytes] = []

    def answer_one() -> None:
        data, address = server.recvfrom(4096)
        received.append(data)
        server.sendto(make_reply(decode_packet(data)), address)

    thread = threading.Thread(target=answer_one, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    try:
        result = subprocess.run(
            ["radclient", "-x", "-r", "1", "-t", "3", f"127.0.0.1:{port}", "auth", RADCLIENT_SECRET.decode()],
            input=RADCLIENT_INPUT.encode("utf-8"),
            capture_output=True,
            timeout=15,
            check=False,
        )
        thread.join(timeout=5)
    finally:
        server.close()
    return RadclientExchange(received[0], result.returncode, result.stdout.decode() + result.stderr.decode())


@pytest.fixture(scope="module")
def radclient_accept() -> RadclientExchange:
    return exchange_with_radclient(
        lambda request: build_reply(request, ACCESS_ACCEPT, [reply_message("welcome")], RADCLIENT_SECRET)
    )


@radclient_missing
def test_radclient_request_verifies(radclient_accept: RadclientExchange) -> None:
    raw = radclient_accept.request
    verify_request(decode_packet(raw), raw, RADCLIENT_SECRET, require_message_authenticator=True)


@radclient_missing
def test_radclient_request_places_message_authenticator_late(radclient_accept: RadclientExchange) -> None:
    assert attribute_types(radclient_accept.request).index(MESSAGE_AUTHENTICATOR) > 0


@radclient_missing
def test_radclient_altered_request_fails(radclient_accept: RadclientExchange) -> None:
    raw = bytearray(radclient_accept.request)
    raw[4] ^= 0x01
    with pytest.raises(PacketError, match="Message-Authenticator is invalid"):
        verify_request(decode_packet(bytes(raw)), bytes(raw), RADCLIENT_SECRET, require_message_authenticator=True)


@radclient_missing
def test_radclient_password_decodes(radclient_accept: RadclientExchange) -> None:
    packet = decode_packet(radclient_accept.request)
    password = decode_pap_password(packet.get(USER_PASSWORD), RADCLIENT_SECRET, packet.authenticator)
    assert password == NON_ASCII


@radclient_missing
def test_radclient_accepts_reply(radclient_accept: RadclientExchange) -> None:
    assert radclient_accept.returncode == 0, radclient_accept.output
    assert "Received Access-Accept" in radclient_accept.output


@radclient_missing
def test_radclient_sees_proxy_state_echoed(radclient_accept: RadclientExchange) -> None:
    assert "Proxy-State = 0x70726f78792d31" in radclient_accept.output


@radclient_missing
def test_radclient_accepts_challenge() -> None:
    exchange = exchange_with_radclient(
        lambda request: build_reply(
            request, ACCESS_CHALLENGE, [reply_message("Enter code"), state(b"\x01\x02\x03\x04")], RADCLIENT_SECRET
        )
    )
    assert "Received Access-Challenge" in exchange.output
    assert "State = 0x01020304" in exchange.output


@radclient_missing
def test_radclient_rejects_reply_with_wrong_secret() -> None:
    exchange = exchange_with_radclient(lambda request: build_reply(request, ACCESS_ACCEPT, [], b"another-secret"))
    assert exchange.returncode != 0
    assert "Received Access-Accept" not in exchange.output


@radclient_missing
def test_radclient_rejects_bad_message_authenticator() -> None:
    def make_bad_reply(request: Packet) -> bytes:
        raw = bytearray(build_reply(request, ACCESS_ACCEPT, [], RADCLIENT_SECRET))
        raw[22] ^= 0x01  # break Message-Authenticator, then re-sign so only it is wrong
        raw[4:20] = hashlib.md5(bytes(raw[:4]) + request.authenticator + bytes(raw[20:]) + RADCLIENT_SECRET).digest()
        return bytes(raw)

    exchange = exchange_with_radclient(make_bad_reply)
    assert "invalid Message-Authenticator" in exchange.output


# --- property-based ---------------------------------------------------------

attribute_strategy = st.tuples(
    st.integers(min_value=1, max_value=255).filter(lambda t: t != MESSAGE_AUTHENTICATOR),
    st.binary(max_size=253),
)


def decode_or_packet_error(data: bytes) -> None:
    try:
        decode_packet(data)
    except PacketError:
        pass


@given(st.binary(max_size=5000))
def test_fuzz_random_bytes_raise_only_packet_error(data: bytes) -> None:
    decode_or_packet_error(data)


@given(
    st.integers(min_value=0, max_value=255),
    st.integers(min_value=0, max_value=65535),
    st.binary(max_size=600),
)
def test_fuzz_lying_length_raises_only_packet_error(code: int, length: int, body: bytes) -> None:
    decode_or_packet_error(struct.pack("!BBH", code, 1, length) + AUTHENTICATOR + body)


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40)), max_size=30))
def test_fuzz_bad_attribute_lengths_raise_only_packet_error(parts: list[tuple[int, int, bytes]]) -> None:
    body = b"".join(bytes((t, n)) + v for t, n, v in parts)[: MAX_PACKET_LENGTH - 20]
    decode_or_packet_error(struct.pack("!BBH", 1, 1, 20 + len(body)) + AUTHENTICATOR + body)


@settings(max_examples=200)
@given(st.lists(attribute_strategy, max_size=15), st.integers(0, 255), st.binary(min_size=16, max_size=16))
def test_fuzz_valid_request_round_trips(
    attributes: list[tuple[int, bytes]], identifier: int, authenticator: bytes
) -> None:
    raw = build_request(ACCESS_REQUEST, identifier, attributes, SECRET, authenticator)
    packet = decode_packet(raw)
    assert packet.attributes[1:] == attributes
    assert packet.identifier == identifier
    assert packet.authenticator == authenticator
    verify_request(packet, raw, SECRET, require_message_authenticator=True, limit_proxy_state=False)


@given(st.lists(attribute_strategy, min_size=1, max_size=10), st.data())
def test_fuzz_truncated_packet_raises_packet_error(attributes: list[tuple[int, bytes]], data: st.DataObject) -> None:
    raw = build_request(ACCESS_REQUEST, 1, attributes, SECRET, AUTHENTICATOR)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    with pytest.raises(PacketError):
        decode_packet(raw[:cut])


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=128).filter(lambda p: not p.endswith(b"\x00")))
def test_fuzz_pap_round_trips(authenticator: bytes, password: bytes) -> None:
    hidden = encode_pap_password(password, SECRET, authenticator)
    assert decode_pap_password(hidden, SECRET, authenticator) == password


@given(st.binary(min_size=1, max_size=200), st.binary(max_size=300))
def test_fuzz_hmac_md5_matches_stdlib(secret: bytes, message: bytes) -> None:
    from factorgate.radius.packet import _hmac_md5

    assert _hmac_md5(secret, message) == hmac.digest(secret, message, "md5")
