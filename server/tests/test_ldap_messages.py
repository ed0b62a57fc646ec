"""Tests for factorgate.ldap.messages against pyasn1 and captured AD traffic.

The reference is pyasn1's BER codec driven by ldap3's RFC 4511 ASN.1 module
(`ldap3.protocol.rfc4511`), which shares no code with the codec under test.
Messages built and encoded by pyasn1 must decode to the same fields here.
Messages encoded here must decode in pyasn1 to the values put in.

The captures in data/ldap_captures/ were recorded from OpenLDAP's
ldapsearch, ldappasswd and ldapmodify talking to the Samba AD test domain
(see data/ldap_captures/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ldap3.protocol import rfc4511 as asn1
from pyasn1.codec.ber import decoder as pyasn1_decoder
from pyasn1.codec.ber import encoder as pyasn1_encoder

from factorgate.ldap.ber import (
    BerError,
    LimitExceeded,
    Limits,
    MessageFramer,
    encode_integer,
    encode_null,
    encode_octet_string,
    encode_sequence,
    encode_tlv,
)
from factorgate.ldap.messages import (
    MAX_MESSAGE_ID,
    NOTICE_OF_DISCONNECTION_OID,
    OP_ABANDON_REQUEST,
    OP_BIND_REQUEST,
    OP_BIND_RESPONSE,
    OP_DEL_REQUEST,
    OP_EXTENDED_REQUEST,
    OP_EXTENDED_RESPONSE,
    OP_MODIFY_REQUEST,
    OP_MODIFY_RESPONSE,
    OP_SEARCH_REQUEST,
    OP_SEARCH_RESULT_DONE,
    OP_SEARCH_RESULT_ENTRY,
    OP_UNBIND_REQUEST,
    PASSWORD_MODIFY_OID,
    RESPONSE_TAG_FOR_REQUEST,
    RESULT_OPS,
    STARTTLS_OID,
    BindRequest,
    Envelope,
    ExtendedRequest,
    LdapResult,
    ResultCode,
    attribute_type_key,
    decode_bind_request,
    decode_bind_response,
    decode_envelope,
    decode_extended_request,
    decode_extended_response,
    decode_result,
    encode_bind_request,
    encode_bind_response,
    encode_extended_request,
    encode_extended_response,
    encode_notice_of_disconnection,
    encode_result_response,
    is_password_attribute,
    modify_attribute_types,
)

CAPTURES = Path(__file__).parent / "data" / "ldap_captures"

# pyasn1 (ldap3 schema) component name for each response op that starts with LDAPResult.
RESULT_OP_NAMES = {
    OP_BIND_RESPONSE: ("bindResponse", asn1.BindResponse),
    OP_SEARCH_RESULT_DONE: ("searchResDone", asn1.SearchResultDone),
    OP_MODIFY_RESPONSE: ("modifyResponse", asn1.ModifyResponse),
    9: ("addResponse", asn1.AddResponse),
    11: ("delResponse", asn1.DelResponse),
    13: ("modDNResponse", asn1.ModifyDNResponse),
    15: ("compareResponse", asn1.CompareResponse),
    OP_EXTENDED_RESPONSE: ("extendedResp", asn1.ExtendedResponse),
}

# ---------------------------------------------------------------------------
# pyasn1 reference builders


def build_message(message_id: int, op_name: str, op: object, controls: list[tuple] | None = None) -> bytes:
    """Encode an LDAPMessage with pyasn1; `controls` is a list of (oid, criticality, value or None)."""
    message = asn1.LDAPMessage()
    message["messageID"] = message_id
    protocol_op = asn1.ProtocolOp()
    protocol_op.setComponentByName(op_name, op)
    message["protocolOp"] = protocol_op
    if controls is not None:
        encoded_controls = message.setComponentByName("controls").getComponentByName("controls")
        for index, (oid, critical, value) in enumerate(controls):
            control = asn1.Control()
            control["controlType"] = oid
            control["criticality"] = critical
            if value is not None:
                control["controlValue"] = value
            encoded_controls.setComponentByPosition(index, control)
    return pyasn1_encoder.encode(message)


def build_controls_tlv(controls: list[tuple]) -> bytes:
    encoded = asn1.Controls()
    for index, (oid, critical, value) in enumerate(controls):
        control = asn1.Control()
        control["controlType"] = oid
        control["criticality"] = critical
        if value is not None:
            control["controlValue"] = value
        encoded.setComponentByPosition(index, control)
    return pyasn1_encoder.encode(encoded)


def decode_reference(raw: bytes) -> object:
    message, rest = pyasn1_decoder.decode(raw, asn1Spec=asn1.LDAPMessage())
    assert rest == b""
    return message


def fill_result(op: object, result_code: int, matched_dn: bytes, diagnostic: bytes, referral: list[bytes]) -> None:
    op["resultCode"] = result_code
    op["matchedDN"] = matched_dn
    op["diagnosticMessage"] = diagnostic
    if referral:
        uris = op.setComponentByName("referral").getComponentByName("referral")
        for index, uri in enumerate(referral):
            uris.setComponentByPosition(index, uri)


# ---------------------------------------------------------------------------
# Strategies

message_ids = st.integers(min_value=0, max_value=MAX_MESSAGE_ID)
octets = st.binary(max_size=300)
oids = st.lists(st.integers(0, 2**32), min_size=2, max_size=10).map(lambda arcs: ".".join(map(str, arcs)))
controls_lists = st.none() | st.lists(st.tuples(oids, st.booleans(), st.none() | octets), min_size=1, max_size=3)
result_codes = st.sampled_from(sorted(ResultCode))
referrals = st.lists(st.text(max_size=40).map(lambda text: ("ldap://" + text).encode()), max_size=3)


# ---------------------------------------------------------------------------
# BindRequest


@given(message_ids, st.integers(1, 127), octets, octets, controls_lists)
@settings(max_examples=300)
def test_decode_bind_request_simple_matches_pyasn1(
    message_id: int, version: int, name: bytes, password: bytes, controls: list[tuple] | None
) -> None:
    op = asn1.BindRequest()
    op["version"] = version
    op["name"] = name
    op["authentication"] = asn1.AuthenticationChoice()
    op["authentication"]["simple"] = password
    raw = build_message(message_id, "bindRequest", op, controls)

    for full_walk in (True, False):
        env = decode_envelope(raw, full_walk=full_walk)
        assert (env.message_id, env.op_tag, env.has_controls) == (message_id, OP_BIND_REQUEST, controls is not None)
        request = decode_bind_request(env)
        assert request.message_id == message_id
        assert request.version == version
        assert request.name == name
        assert request.method == "simple"
        assert request.password == password
        assert request.sasl_mechanism == ""
        assert request.sasl_credentials is None
        assert request.controls == (build_controls_tlv(controls) if controls else b"")


@given(message_ids, octets, st.text(max_size=20), st.none() | octets)
@settings(max_examples=200)
def test_decode_bind_request_sasl_matches_pyasn1(
    message_id: int, name: bytes, mechanism: str, credentials: bytes | None
) -> None:
    op = asn1.BindRequest()
    op["version"] = 3
    op["name"] = name
    sasl = asn1.SaslCredentials()
    sasl["mechanism"] = mechanism.encode()
    if credentials is not None:
        sasl["credentials"] = credentials
    op["authentication"] = asn1.AuthenticationChoice()
    op["authentication"]["sasl"] = sasl
    request = decode_bind_request(decode_envelope(build_message(message_id, "bindRequest", op)))
    assert request.method == "sasl"
    assert request.name == name
    assert request.sasl_mechanism == mechanism
    assert request.sasl_credentials == credentials
    assert request.password == b""


@given(message_ids, octets, octets, st.integers(1, 127))
def test_encode_bind_request_decodes_in_pyasn1(message_id: int, name: bytes, password: bytes, version: int) -> None:
    message = decode_reference(encode_bind_request(message_id, name, password, version))
    op = message["protocolOp"]["bindRequest"]
    assert int(message["messageID"]) == message_id
    assert int(op["version"]) == version
    assert bytes(op["name"]) == name
    assert bytes(op["authentication"]["simple"]) == password


def test_encode_bind_request_with_controls() -> None:
    controls = build_controls_tlv([("1.2.840.113556.1.4.319", False, b"\x30\x05\x02\x01\x02\x04\x00")])
    raw = encode_bind_request(7, b"cn=x", b"pw", controls=controls)
    assert decode_bind_request(decode_envelope(raw)).controls == controls


def test_encode_bind_request_rejects_bad_controls() -> None:
    with pytest.raises(ValueError, match="controls"):
        encode_bind_request(1, b"", b"", controls=b"\x30\x00")


def test_bind_request_repr_hides_password() -> None:
    request = decode_bind_request(decode_envelope(encode_bind_request(1, b"cn=x", b"s3cret-pw")))
    assert "s3cret-pw" not in repr(request)


def test_envelope_repr_hides_raw_message() -> None:
    env = decode_envelope(encode_bind_request(1, b"cn=x", b"s3cret-pw"))
    assert "s3cret-pw" not in repr(env)


def test_extended_request_repr_hides_value() -> None:
    request = ExtendedRequest(1, PASSWORD_MODIFY_OID, b"s3cret-pw")
    assert "s3cret-pw" not in repr(request)


@pytest.mark.parametrize(
    ("content_hex", "message"),
    [
        ("020100 0400 8000", "version 0 at offset 9 is outside 1..127"),
        ("02020080 0400 8000", "version 128"),
        ("0a0103 0400 8000", "version at offset 7: expected tag 0x02, found 0x0a"),
        ("020103", "BindRequest.name missing at offset 10"),
        ("020103 0400", "authentication missing at offset 12"),
        ("020103 0400 8100", "tag 0x81 is neither simple"),
        ("020103 0400 8000 0400", "2 unexpected octets in BindRequest"),
        ("020103 0400 a304 0402ffff", "mechanism at offset 16 is not valid UTF-8"),
        ("020103 0400 a306 0400 0400 0400", "2 unexpected octets in SaslCredentials"),
        ("020103 0400 a302 0400 0400", "2 unexpected octets in BindRequest"),
    ],
)
def test_decode_bind_request_malformed(content_hex: str, message: str) -> None:
    op = encode_tlv(0x60, bytes.fromhex(content_hex.replace(" ", "")))
    with pytest.raises(BerError, match=message):
        decode_bind_request(decode_envelope(encode_sequence(encode_integer(1), op)))


def test_decode_bind_request_rejects_other_op() -> None:
    with pytest.raises(BerError, match=r"protocolOp is \[APPLICATION 1\], expected 0"):
        decode_bind_request(decode_envelope(encode_bind_response(1, 0)))


# ---------------------------------------------------------------------------
# Results


@given(message_ids, st.sampled_from(sorted(RESULT_OP_NAMES)), result_codes, octets, octets, referrals)
@settings(max_examples=300)
def test_decode_result_matches_pyasn1(
    message_id: int, op_tag: int, code: int, matched: bytes, diagnostic: bytes, referral: list[bytes]
) -> None:
    name, op_type = RESULT_OP_NAMES[op_tag]
    op = op_type()
    fill_result(op, code, matched, diagnostic, referral)
    raw = build_message(message_id, name, op)
    env = decode_envelope(raw, full_walk=False)
    assert (env.message_id, env.op_tag) == (message_id, op_tag)
    result = decode_result(env)
    assert result.result_code == code
    assert result.matched_dn == matched
    assert result.diagnostic == diagnostic
    expected_referral = pyasn1_encoder.encode(op["referral"]) if referral else None
    assert result.referral == expected_referral


@given(message_ids, result_codes, octets, st.none() | octets)
def test_decode_bind_response_server_sasl_creds(
    message_id: int, code: int, diagnostic: bytes, credentials: bytes | None
) -> None:
    op = asn1.BindResponse()
    fill_result(op, code, b"", diagnostic, [])
    if credentials is not None:
        op["serverSaslCreds"] = credentials
    result, server_credentials = decode_bind_response(decode_envelope(build_message(message_id, "bindResponse", op)))
    assert result == LdapResult(code, b"", diagnostic, None)
    assert server_credentials == credentials


@given(message_ids, result_codes, octets, referrals, st.none() | oids, st.none() | octets)
@settings(max_examples=300)
def test_decode_extended_response_matches_pyasn1(
    message_id: int, code: int, diagnostic: bytes, referral: list[bytes], oid: str | None, value: bytes | None
) -> None:
    op = asn1.ExtendedResponse()
    fill_result(op, code, b"", diagnostic, referral)
    if oid is not None:
        op["responseName"] = oid
    if value is not None:
        op["responseValue"] = value
    result, decoded_oid, decoded_value = decode_extended_response(
        decode_envelope(build_message(message_id, "extendedResp", op))
    )
    assert result.result_code == code
    assert result.diagnostic == diagnostic
    assert (result.referral is not None) == bool(referral)
    assert decoded_oid == oid
    assert decoded_value == value


@given(message_ids, result_codes, st.text(max_size=100), st.binary(max_size=50))
def test_encode_bind_response_decodes_in_pyasn1(message_id: int, code: int, diagnostic: str, matched: bytes) -> None:
    message = decode_reference(encode_bind_response(message_id, code, diagnostic, matched))
    op = message["protocolOp"]["bindResponse"]
    assert int(message["messageID"]) == message_id
    assert int(op["resultCode"]) == code
    assert bytes(op["matchedDN"]) == matched
    assert bytes(op["diagnosticMessage"]) == diagnostic.encode()
    assert not op["serverSaslCreds"].isValue


@given(message_ids, st.sampled_from(sorted(RESULT_OPS)), result_codes, st.text(max_size=100))
def test_encode_result_response_decodes_in_pyasn1(message_id: int, op_tag: int, code: int, diagnostic: str) -> None:
    name, _ = RESULT_OP_NAMES[op_tag]
    message = decode_reference(encode_result_response(message_id, op_tag, code, diagnostic))
    op = message["protocolOp"][name]
    assert message["protocolOp"].getName() == name
    assert int(op["resultCode"]) == code
    assert bytes(op["diagnosticMessage"]) == diagnostic.encode()


def test_encode_result_response_rejects_request_tag() -> None:
    with pytest.raises(ValueError, match="op_tag 6 is not an LDAPResult response"):
        encode_result_response(1, OP_MODIFY_REQUEST, ResultCode.CONFIDENTIALITY_REQUIRED)


def test_encode_result_response_modify_confidentiality_required() -> None:
    raw = encode_result_response(
        4, RESPONSE_TAG_FOR_REQUEST[OP_MODIFY_REQUEST], ResultCode.CONFIDENTIALITY_REQUIRED, "use TLS"
    )
    env = decode_envelope(raw)
    assert env.op_tag == OP_MODIFY_RESPONSE
    assert decode_result(env) == LdapResult(13, b"", b"use TLS", None)


@given(message_ids, result_codes, st.text(max_size=50), st.none() | oids, st.none() | octets)
def test_encode_extended_response_decodes_in_pyasn1(
    message_id: int, code: int, diagnostic: str, oid: str | None, value: bytes | None
) -> None:
    message = decode_reference(encode_extended_response(message_id, code, diagnostic, oid, value))
    op = message["protocolOp"]["extendedResp"]
    assert int(op["resultCode"]) == code
    assert bytes(op["diagnosticMessage"]) == diagnostic.encode()
    assert (bytes(op["responseName"]).decode() if op["responseName"].isValue else None) == oid
    assert (bytes(op["responseValue"]) if op["responseValue"].isValue else None) == value


def test_encode_notice_of_disconnection_fields() -> None:
    message = decode_reference(encode_notice_of_disconnection(ResultCode.UNAVAILABLE, "shutting down"))
    op = message["protocolOp"]["extendedResp"]
    assert int(message["messageID"]) == 0
    assert int(op["resultCode"]) == 52
    assert bytes(op["responseName"]).decode() == NOTICE_OF_DISCONNECTION_OID
    assert not op["responseValue"].isValue


def test_encode_notice_of_disconnection_known_answer() -> None:
    # SEQUENCE { messageID 0, [APPLICATION 24] { unavailable, "", "", [10] "1.3.6.1.4.1.1466.20036" } }
    expected = "3024020100781f0a0134040004008a16" + b"1.3.6.1.4.1.1466.20036".hex()
    assert encode_notice_of_disconnection(52, "").hex() == expected


def test_response_tag_table() -> None:
    assert RESPONSE_TAG_FOR_REQUEST == {0: 1, 3: 5, 6: 7, 8: 9, 10: 11, 12: 13, 14: 15, 23: 24}


def test_decode_result_rejects_request_op() -> None:
    with pytest.raises(BerError, match="expected"):
        decode_result(decode_envelope(encode_bind_request(1, b"", b"x")))


def test_decode_result_rejects_missing_diagnostic() -> None:
    raw = encode_sequence(encode_integer(1), encode_tlv(0x61, bytes.fromhex("0a01000400")))
    with pytest.raises(BerError, match="diagnosticMessage missing"):
        decode_result(decode_envelope(raw))


def test_decode_extended_response_rejects_unknown_trailing_tag() -> None:
    raw = encode_sequence(encode_integer(1), encode_tlv(0x78, bytes.fromhex("0a0100040004008c00")))
    with pytest.raises(BerError, match="responseValue"):
        decode_extended_response(decode_envelope(raw))


# ---------------------------------------------------------------------------
# ExtendedRequest


@given(message_ids, oids, st.none() | octets)
def test_decode_extended_request_matches_pyasn1(message_id: int, oid: str, value: bytes | None) -> None:
    op = asn1.ExtendedRequest()
    op["requestName"] = oid
    if value is not None:
        op["requestValue"] = value
    request = decode_extended_request(decode_envelope(build_message(message_id, "extendedReq", op)))
    assert request == ExtendedRequest(message_id, oid, value)


@given(message_ids, oids, st.none() | octets)
def test_encode_extended_request_decodes_in_pyasn1(message_id: int, oid: str, value: bytes | None) -> None:
    op = decode_reference(encode_extended_request(message_id, oid, value))["protocolOp"]["extendedReq"]
    assert bytes(op["requestName"]).decode() == oid
    assert (bytes(op["requestValue"]) if op["requestValue"].isValue else None) == value


def test_encode_extended_request_starttls_known_answer() -> None:
    # The StartTLS request that OpenLDAP's ldapsearch -ZZ sends (data/ldap_captures/starttls.client.ber).
    assert encode_extended_request(1, STARTTLS_OID) == (CAPTURES / "starttls.client.ber").read_bytes()


# ---------------------------------------------------------------------------
# ModifyRequest


@given(
    message_ids,
    octets,
    st.lists(st.tuples(st.integers(0, 3), st.text(min_size=1, max_size=30), st.lists(octets, max_size=3)), max_size=6),
)
@settings(max_examples=200)
def test_modify_attribute_types_matches_pyasn1(message_id: int, dn: bytes, changes: list[tuple]) -> None:
    op = asn1.ModifyRequest()
    op["object"] = dn
    encoded_changes = op.setComponentByName("changes").getComponentByName("changes")
    for index, (operation, attribute, values) in enumerate(changes):
        change = asn1.Change()
        change["operation"] = operation
        change["modification"]["type"] = attribute.encode()
        vals = change["modification"].setComponentByName("vals").getComponentByName("vals")
        for value_index, value in enumerate(values):
            vals.setComponentByPosition(value_index, value)
        encoded_changes.setComponentByPosition(index, change)
    env = decode_envelope(build_message(message_id, "modifyRequest", op))
    assert modify_attribute_types(env) == [attribute for _, attribute, _ in changes]


def test_modify_attribute_types_rejects_missing_changes() -> None:
    raw = encode_sequence(encode_integer(1), encode_tlv(0x66, encode_octet_string(b"cn=x")))
    with pytest.raises(BerError, match="ModifyRequest.changes missing"):
        modify_attribute_types(decode_envelope(raw))


def test_modify_attribute_types_rejects_invalid_utf8() -> None:
    change = encode_sequence(bytes.fromhex("0a0102"), encode_sequence(encode_octet_string(b"\xff"), encode_tlv(0x31, b"")))
    raw = encode_sequence(encode_integer(1), encode_tlv(0x66, encode_octet_string(b"") + encode_sequence(change)))
    with pytest.raises(BerError, match="PartialAttribute.type at offset .* is not valid UTF-8"):
        modify_attribute_types(decode_envelope(raw))


# ---------------------------------------------------------------------------
# Envelope


def message_with(message_id_tlv: bytes, op: bytes = b"\x42\x00", tail: bytes = b"") -> bytes:
    return encode_sequence(message_id_tlv, op, tail)


def test_decode_envelope_unbind() -> None:
    env = decode_envelope(message_with(encode_integer(5)))
    assert env == Envelope(5, OP_UNBIND_REQUEST, env.raw, False)


def test_decode_envelope_max_message_id_accepted() -> None:
    assert decode_envelope(message_with(encode_integer(MAX_MESSAGE_ID))).message_id == MAX_MESSAGE_ID


def test_decode_envelope_rejects_message_id_over_max() -> None:
    with pytest.raises(BerError, match="messageID 2147483648 at offset 4 is outside"):
        decode_envelope(message_with(encode_integer(MAX_MESSAGE_ID + 1)))


def test_decode_envelope_rejects_negative_message_id() -> None:
    with pytest.raises(BerError, match="messageID -1"):
        decode_envelope(message_with(encode_integer(-1)))


def test_decode_envelope_rejects_empty_message_id() -> None:
    with pytest.raises(BerError, match="messageID at offset 4 has no content octets"):
        decode_envelope(message_with(b"\x02\x00"))


def test_decode_envelope_rejects_zero_length_message() -> None:
    with pytest.raises(BerError, match="messageID missing at offset 2"):
        decode_envelope(b"\x30\x00")


def test_decode_envelope_rejects_empty_input() -> None:
    with pytest.raises(BerError, match="LDAPMessage missing at offset 0"):
        decode_envelope(b"")


def test_decode_envelope_rejects_non_sequence() -> None:
    with pytest.raises(BerError, match="expected tag 0x30, found 0x31"):
        decode_envelope(b"\x31\x00")


def test_decode_envelope_rejects_missing_op() -> None:
    with pytest.raises(BerError, match="protocolOp missing at offset 5"):
        decode_envelope(encode_sequence(encode_integer(1)))


def test_decode_envelope_rejects_universal_op() -> None:
    with pytest.raises(BerError, match="expected an APPLICATION tag 0-30, found 0x04"):
        decode_envelope(message_with(encode_integer(1), b"\x04\x00"))


def test_decode_envelope_rejects_high_tag_op() -> None:
    with pytest.raises(BerError, match="found 0x7f"):
        decode_envelope(message_with(encode_integer(1), b"\x7f\x20\x00"))


def test_decode_envelope_rejects_constructed_unbind() -> None:
    with pytest.raises(BerError, match=r"\[APPLICATION 2\] at offset 5 must be primitive"):
        decode_envelope(message_with(encode_integer(1), b"\x62\x00"))


def test_decode_envelope_rejects_primitive_bind() -> None:
    with pytest.raises(BerError, match=r"\[APPLICATION 0\] at offset 5 must be constructed"):
        decode_envelope(message_with(encode_integer(1), b"\x40\x00"))


def test_decode_envelope_unknown_application_op_accepted() -> None:
    assert decode_envelope(message_with(encode_integer(1), b"\x5e\x00")).op_tag == 30


def test_decode_envelope_rejects_trailing_non_control() -> None:
    with pytest.raises(BerError, match="controls at offset 7: expected tag 0xa0, found 0x04"):
        decode_envelope(message_with(encode_integer(1), tail=b"\x04\x00"))


def test_decode_envelope_rejects_octets_after_controls() -> None:
    with pytest.raises(BerError, match="2 octets after controls"):
        decode_envelope(message_with(encode_integer(1), tail=b"\xa0\x00\x04\x00"))


def test_decode_envelope_rejects_octets_after_message() -> None:
    with pytest.raises(BerError, match="1 octets after the LDAPMessage"):
        decode_envelope(message_with(encode_integer(1)) + b"\x00")


def test_decode_envelope_rejects_length_longer_than_data() -> None:
    with pytest.raises(BerError, match="announces 9 content octets but only 7 remain"):
        decode_envelope(b"\x30\x09\x02\x01\x01\x42\x00\x00\x00")


def test_decode_envelope_rejects_op_length_past_message() -> None:
    with pytest.raises(BerError, match="protocolOp at offset 5 announces 3 content octets"):
        decode_envelope(b"\x30\x07\x02\x01\x01\x50\x03\x01\x01")


def test_decode_envelope_rejects_length_shorter_than_data() -> None:
    with pytest.raises(BerError, match="octets after the LDAPMessage"):
        decode_envelope(b"\x30\x03\x02\x01\x01\x42\x00")


def test_decode_envelope_rejects_indefinite_length() -> None:
    with pytest.raises(BerError, match="indefinite length at offset 1"):
        decode_envelope(b"\x30\x80\x02\x01\x01\x42\x00\x00\x00")


def test_decode_envelope_rejects_five_octet_length() -> None:
    with pytest.raises(BerError, match="uses 5 octets"):
        decode_envelope(b"\x30\x85\x00\x00\x00\x00\x05\x02\x01\x01\x42\x00")


def test_decode_envelope_four_octet_length_accepted() -> None:
    assert decode_envelope(b"\x30\x84\x00\x00\x00\x05\x02\x01\x01\x42\x00").message_id == 1


def test_decode_envelope_rejects_message_over_size_limit() -> None:
    raw = message_with(encode_integer(1), encode_tlv(0x4A, b"x" * 100))
    with pytest.raises(LimitExceeded, match="the limit is 50"):
        decode_envelope(raw, Limits(max_message_size=50), full_walk=False)


def deep_search_request(depth: int) -> bytes:
    """A SearchRequest whose filter nests so the deepest element sits at `depth` (LDAPMessage is 1)."""
    # LDAPMessage(1) > SearchRequest(2) > filter ... > innermost present filter.
    filter_tlv = encode_tlv(0x87, b"cn")
    for _ in range(depth - 3):
        filter_tlv = encode_tlv(0xA0, filter_tlv)  # and [0]
    op = encode_tlv(
        0x63,
        encode_octet_string(b"")
        + bytes.fromhex("0a0102 0a0100 020100 020100 010100".replace(" ", ""))
        + filter_tlv
        + encode_sequence(),
    )
    return encode_sequence(encode_integer(2), op)


def test_decode_envelope_depth_16_accepted() -> None:
    assert decode_envelope(deep_search_request(16)).op_tag == OP_SEARCH_REQUEST


def test_decode_envelope_depth_17_rejected() -> None:
    with pytest.raises(LimitExceeded, match="depth 17"):
        decode_envelope(deep_search_request(17))


def test_decode_envelope_depth_17_shallow_accepted() -> None:
    assert decode_envelope(deep_search_request(17), full_walk=False).op_tag == OP_SEARCH_REQUEST


def wide_message(elements: int) -> bytes:
    """An AbandonRequest-free message with exactly `elements` TLVs: a control list of NULLs."""
    # LDAPMessage + messageID + UnbindRequest + controls = 4, then NULLs inside controls.
    return message_with(encode_integer(1), tail=encode_tlv(0xA0, encode_null() * (elements - 4)))


def test_decode_envelope_10000_elements_accepted() -> None:
    assert decode_envelope(wide_message(10_000)).has_controls


def test_decode_envelope_10001_elements_rejected() -> None:
    with pytest.raises(LimitExceeded, match="element 10001"):
        decode_envelope(wide_message(10_001))


def test_envelope_controls_empty_without_controls() -> None:
    assert decode_envelope(message_with(encode_integer(1))).controls == b""


@pytest.mark.parametrize("op_tag", [OP_UNBIND_REQUEST, OP_DEL_REQUEST, OP_ABANDON_REQUEST])
def test_decode_envelope_primitive_ops(op_tag: int) -> None:
    assert decode_envelope(message_with(encode_integer(1), encode_tlv(0x40 | op_tag, b"\x01"))).op_tag == op_tag


# ---------------------------------------------------------------------------
# Robustness: random bytes and mutations raise BerError only

DECODERS = (
    decode_bind_request,
    decode_result,
    decode_bind_response,
    decode_extended_response,
    decode_extended_request,
    modify_attribute_types,
)


def decode_all(raw: bytes) -> None:
    """Run every decoder on `raw`, accepting only BerError as failure."""
    for full_walk in (True, False):
        try:
            env = decode_envelope(raw, Limits(max_depth=10, max_elements=200), full_walk=full_walk)
        except BerError:
            continue
        for decoder in DECODERS:
            try:
                decoder(env)
            except BerError:
                pass


def capture_messages() -> list[bytes]:
    messages = []
    for path in sorted(CAPTURES.glob("*.ber")):
        messages.extend(MessageFramer(1 << 20).feed(path.read_bytes()))
    return messages


SEED_MESSAGES = capture_messages() + [
    encode_bind_request(3, b"cn=a", b"pw", controls=build_controls_tlv([("1.2.3", True, b"v")])),
    encode_extended_response(1, 0, "x", STARTTLS_OID, b"v"),
    encode_bind_response(1, 49, "data 52e"),
]


@given(st.binary(max_size=300))
@settings(max_examples=3_000)
def test_random_bytes_raise_only_ber_error(data: bytes) -> None:
    decode_all(data)


@given(st.sampled_from(SEED_MESSAGES), st.data())
@settings(max_examples=3_000)
def test_mutated_messages_raise_only_ber_error(seed: bytes, data: st.DataObject) -> None:
    mutated = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] = data.draw(st.integers(0, 255))
    decode_all(bytes(mutated))


@given(st.sampled_from(SEED_MESSAGES), st.data())
@settings(max_examples=1_000)
def test_truncated_messages_raise_ber_error(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(seed) - 1))
    with pytest.raises(BerError):
        decode_envelope(seed[:cut])


# ---------------------------------------------------------------------------
# Captured traffic: OpenLDAP client tools against the Samba AD test domain


def read_capture(name: str) -> list[bytes]:
    return MessageFramer(1 << 20).feed((CAPTURES / name).read_bytes())


def pyasn1_split(stream: bytes) -> list[bytes]:
    """Split a stream into messages with pyasn1 alone, for comparison with MessageFramer."""
    messages = []
    while stream:
        _, rest = pyasn1_decoder.decode(stream, asn1Spec=asn1.LDAPMessage())
        messages.append(stream[: len(stream) - len(rest)])
        stream = rest
    return messages


CAPTURE_FILES = sorted(path.name for path in CAPTURES.glob("*.ber"))


def test_capture_files_present() -> None:
    assert len(CAPTURE_FILES) == 10


@pytest.mark.parametrize("name", CAPTURE_FILES)
def test_capture_framing_matches_pyasn1(name: str) -> None:
    stream = (CAPTURES / name).read_bytes()
    framer = MessageFramer(1 << 20)
    one_at_a_time = []
    for octet in stream:
        one_at_a_time.extend(framer.feed(bytes((octet,))))
    assert one_at_a_time == pyasn1_split(stream)
    assert framer.buffered == 0


@pytest.mark.parametrize("name", CAPTURE_FILES)
def test_capture_envelopes_match_pyasn1(name: str) -> None:
    for raw in read_capture(name):
        reference = decode_reference(raw)
        env = decode_envelope(raw)
        assert env == decode_envelope(raw, full_walk=False)
        assert env.message_id == int(reference["messageID"])
        assert env.op_tag == reference["protocolOp"].getComponent().tagSet[-1][2]
        assert env.has_controls == reference["controls"].isValue


@pytest.mark.parametrize("name", [name for name in CAPTURE_FILES if name.endswith(".server.ber")])
def test_capture_results_match_pyasn1(name: str) -> None:
    for raw in read_capture(name):
        env = decode_envelope(raw, full_walk=False)
        if env.op_tag not in RESULT_OPS:
            continue
        op = decode_reference(raw)["protocolOp"].getComponent()
        result = decode_result(env)
        assert result.result_code == int(op["resultCode"])
        assert result.matched_dn == bytes(op["matchedDN"])
        assert result.diagnostic == bytes(op["diagnosticMessage"])


def test_capture_bind_request_fields() -> None:
    bind, *_ = read_capture("bind_search_paged.client.ber")
    request = decode_bind_request(decode_envelope(bind))
    reference = decode_reference(bind)["protocolOp"]["bindRequest"]
    assert request == BindRequest(1, 3, bytes(reference["name"]), "simple", request.password, "", None, b"")
    assert request.name == b"CN=Alice Anders,OU=Staff,DC=corp,DC=example,DC=test"
    assert request.password == bytes(reference["authentication"]["simple"])
    assert request.password == b"Vpn-Blue-Harbor-17"


def test_capture_bind_response_success() -> None:
    response, *_ = read_capture("bind_search_paged.server.ber")
    assert decode_bind_response(decode_envelope(response)) == (LdapResult(0, b"", b"", None), None)


def test_capture_bind_response_wrong_password() -> None:
    (response,) = read_capture("bind_wrong_password.server.ber")
    result, _ = decode_bind_response(decode_envelope(response))
    assert result.result_code == ResultCode.INVALID_CREDENTIALS
    assert b"data 52e" in result.diagnostic


def test_capture_wrong_password_then_unbind() -> None:
    bind, unbind = read_capture("bind_wrong_password.client.ber")
    assert decode_bind_request(decode_envelope(bind)).password == b"Wrong-Password-1"
    assert decode_envelope(unbind).op_tag == OP_UNBIND_REQUEST


def test_capture_paged_search_requests_carry_control() -> None:
    messages = read_capture("bind_search_paged.client.ber")
    searches = [decode_envelope(raw) for raw in messages if decode_envelope(raw).op_tag == OP_SEARCH_REQUEST]
    assert len(searches) == 4
    for env in searches:
        assert b"1.2.840.113556.1.4.319" in env.controls


def test_capture_paged_search_response_sequence() -> None:
    tags = [decode_envelope(raw, full_walk=False).op_tag for raw in read_capture("bind_search_paged.server.ber")]
    assert tags[0] == OP_BIND_RESPONSE
    assert tags.count(OP_SEARCH_RESULT_ENTRY) == 7
    assert tags.count(OP_SEARCH_RESULT_DONE) == 4


def test_capture_paged_search_done_controls_match_pyasn1() -> None:
    for raw in read_capture("bind_search_paged.server.ber"):
        env = decode_envelope(raw)
        if env.op_tag == OP_SEARCH_RESULT_DONE:
            assert env.controls == pyasn1_encoder.encode(decode_reference(raw)["controls"])


def test_capture_starttls_request() -> None:
    (request,) = read_capture("starttls.client.ber")
    assert decode_extended_request(decode_envelope(request)) == ExtendedRequest(1, STARTTLS_OID, None)


def test_capture_starttls_response() -> None:
    (response,) = read_capture("starttls.server.ber")
    result, oid, value = decode_extended_response(decode_envelope(response))
    assert result.result_code == ResultCode.SUCCESS
    assert oid == STARTTLS_OID
    assert value is None


def test_capture_password_modify_request() -> None:
    _, request, _ = read_capture("password_modify.client.ber")
    extended = decode_extended_request(decode_envelope(request))
    assert extended.oid == PASSWORD_MODIFY_OID
    assert extended.value == bytes(decode_reference(request)["protocolOp"]["extendedReq"]["requestValue"])


def test_capture_password_modify_unsupported_by_samba() -> None:
    _, response = read_capture("password_modify.server.ber")
    result, oid, _ = decode_extended_response(decode_envelope(response))
    assert result.result_code == ResultCode.PROTOCOL_ERROR
    assert oid == PASSWORD_MODIFY_OID


def test_capture_modify_attribute_types() -> None:
    _, modify, _ = read_capture("modify_password.client.ber")
    assert modify_attribute_types(decode_envelope(modify)) == ["unicodePwd", "unicodePwd", "description"]


def test_capture_modify_response_no_such_object() -> None:
    _, response = read_capture("modify_password.server.ber")
    env = decode_envelope(response)
    assert env.op_tag == OP_MODIFY_RESPONSE
    assert decode_result(env).result_code == ResultCode.NO_SUCH_OBJECT


def test_capture_unbind_last() -> None:
    *_, unbind = read_capture("bind_search_paged.client.ber")
    env = decode_envelope(unbind)
    assert (env.message_id, env.op_tag) == (6, OP_UNBIND_REQUEST)


def test_capture_extended_request_op_tag() -> None:
    (request,) = read_capture("starttls.client.ber")
    assert decode_envelope(request).op_tag == OP_EXTENDED_REQUEST


@pytest.mark.parametrize(
    "description",
    ["unicodePwd", "UNICODEPWD", "unicodePwd;binary", "1.2.840.113556.1.4.90", "userPassword", "2.5.4.35;x-opt"],
)
def test_is_password_attribute_matches(description: str) -> None:
    assert is_password_attribute(description)


@pytest.mark.parametrize("description", ["description", "unicodePwdx", "2.5.4.3", "", ";unicodePwd"])
def test_is_password_attribute_other_types(description: str) -> None:
    assert not is_password_attribute(description)


def test_attribute_type_key_strips_options() -> None:
    assert attribute_type_key("unicodePwd;binary;lang-de") == "unicodepwd"
