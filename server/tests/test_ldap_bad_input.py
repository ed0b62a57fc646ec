"""Bad input at the LDAP front end: an LDAP error or a closed connection and a log
line, never a traceback, and the node keeps serving everyone else."""

from __future__ import annotations

import resource
import socket
import subprocess
import time

import pytest

from factorgate.ldap import ber, messages as m
from support.node import Node

pytestmark = pytest.mark.ad


@pytest.fixture(scope="module")
def node(tmp_path_factory, test_ad):
    node = Node(tmp_path_factory.mktemp("fg-bad-input"), test_ad, pending_requests=4, max_connections_per_client=2000)
    node.start()
    yield node
    node.stop()
    assert "Traceback" not in node.log_text


def connect(node: Node) -> socket.socket:
    sock = socket.create_connection((node.address, node.ldap_port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def still_serves(node: Node, test_ad) -> bool:
    bob = test_ad["users"]["bob"]
    result = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", node.url, "-D", bob["dn"], "-w", bob["password"], "-b", bob["dn"], "-s", "base", "dn"],
        capture_output=True, text=True, timeout=30,
    )
    return result.returncode == 0


def notice_result_code(data: bytes) -> int:
    """The result code of the notice of disconnection the node sent before closing."""
    envelope = m.decode_envelope(ber.MessageFramer(1 << 20).feed(data)[0])
    assert envelope.message_id == 0
    result, oid, _ = m.decode_extended_response(envelope)
    assert oid == m.NOTICE_OF_DISCONNECTION_OID
    return result.result_code


def test_oversized_message_closes_connection(node, test_ad):
    sock = connect(node)
    sock.sendall(b"\x30\x84\x10\x00\x00\x00")  # announces 256 MiB
    data = read_until_closed(sock)
    assert notice_result_code(data) == m.ResultCode.PROTOCOL_ERROR
    assert "malformed LDAP message" in node.log_text
    assert still_serves(node, test_ad)


def test_inner_length_longer_than_message(node, test_ad):
    sock = connect(node)
    sock.sendall(b"\x30\x05\x02\x01\x01\x60\x7f")
    data = read_until_closed(sock)
    assert notice_result_code(data) == m.ResultCode.PROTOCOL_ERROR
    assert still_serves(node, test_ad)


def test_indefinite_length_rejected(node, test_ad):
    sock = connect(node)
    sock.sendall(b"\x30\x80\x02\x01\x01\x42\x00\x00\x00")
    data = read_until_closed(sock)
    assert notice_result_code(data) == m.ResultCode.PROTOCOL_ERROR


def test_deep_nesting_rejected(node, test_ad):
    nested = b"\x05\x00"
    for _ in range(200):
        nested = ber.encode_sequence(nested)
    message = ber.encode_sequence(ber.encode_integer(5), ber.encode_tlv(0x63, nested))
    sock = connect(node)
    sock.sendall(message)
    data = read_until_closed(sock)
    assert notice_result_code(data) == m.ResultCode.PROTOCOL_ERROR
    assert still_serves(node, test_ad)


def test_unknown_operation_gets_error_or_close(node, test_ad):
    message = ber.encode_sequence(ber.encode_integer(7), ber.encode_tlv(0x7E, b""))  # [APPLICATION 30]
    sock = connect(node)
    sock.sendall(message)
    data = read_until_closed(sock)
    # The node relays operations it does not know, as AD would see them; AD
    # ends the connection, with or without a notice of disconnection.
    assert data == b"" or notice_result_code(data) != m.ResultCode.SUCCESS
    assert still_serves(node, test_ad)


def test_truncated_message_then_close(node, test_ad):
    sock = connect(node)
    sock.sendall(b"\x30\x20\x02\x01")
    sock.close()
    assert still_serves(node, test_ad)


def test_random_garbage(node, test_ad):
    sock = connect(node)
    sock.sendall(bytes(range(256)))
    read_until_closed(sock)
    assert still_serves(node, test_ad)


def test_requests_during_bind_overflow_closes(node, test_ad):
    alice = test_ad["users"]["alice"]
    bind = m.encode_bind_request(1, alice["dn"].encode(), (alice["password"] + "000000").encode())
    searches = b"".join(
        ber.encode_sequence(ber.encode_integer(i), ber.encode_tlv(0x63, b"\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0bobjectClass\x30\x00"))
        for i in range(2, 40)
    )
    sock = connect(node)
    sock.sendall(bind + searches)
    read_until_closed(sock)
    assert "requests sent during a bind" in node.log_text
    assert still_serves(node, test_ad)


def test_ten_thousand_abandoned_connections(node, test_ad):
    """One client opens 10,000 connections and sends nothing; everyone else is still served.

    The abandoned connections come from 127.0.0.9, so the per-client cap
    (ldap.max_connections_per_client) applies to them and not to the
    ldapsearch that checks the node, which connects from 127.0.0.1.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20_000), hard))
    sockets = []
    try:
        for _ in range(10_000):
            sock = socket.socket()
            sock.bind(("127.0.0.9", 0))
            sock.setblocking(False)
            sock.connect_ex((node.address, node.ldap_port))
            sockets.append(sock)
        time.sleep(1.0)
        assert still_serves(node, test_ad)
        # The kernel queues at most a backlog of handshakes and clients
        # retry the rest after 1, 3, 7 s..., so reaching the cap takes a while.
        deadline = time.monotonic() + 90
        while "connection from 127.0.0.9 refused" not in node.log_text and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "connection from 127.0.0.9 refused" in node.log_text
    finally:
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    time.sleep(0.5)
    assert still_serves(node, test_ad)
    assert node.process.poll() is None


def test_malformed_bind_request_is_protocol_error(node, test_ad):
    # A BindRequest whose name is an INTEGER instead of an OCTET STRING.
    bind = ber.encode_sequence(ber.encode_integer(1), ber.encode_tlv(0x60, ber.encode_integer(3) + ber.encode_integer(5) + b"\x80\x00"))
    sock = connect(node)
    sock.sendall(bind)
    data = read_until_closed(sock)
    assert notice_result_code(data) == m.ResultCode.PROTOCOL_ERROR
    assert still_serves(node, test_ad)
