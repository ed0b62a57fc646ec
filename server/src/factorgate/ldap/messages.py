"""LDAP message codec (RFC 4511) for the operations the proxy must understand.

The proxy decodes the envelope of every message and fully decodes only binds,
StartTLS and other extended operations, the results that AD returns for them,
and the attribute types of a ModifyRequest. Every other operation is relayed as
the raw octets that arrived, so this module never re-encodes a client's or
AD's message.

Decoders take an `Envelope` from `decode_envelope`, which has already checked
the outer structure. They raise `BerError` for anything that does not match
the RFC 4511 ASN.1.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from factorgate.ldap.ber import (
    CLASS_APPLICATION,
    CLASS_MASK,
    CONSTRUCTED,
    HIGH_TAG_NUMBER,
    TAG_ENUMERATED,
    TAG_INTEGER,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    BerError,
    LimitExceeded,
    Limits,
    decode_integer_content,
    encode_enumerated,
    encode_integer,
    encode_octet_string,
    encode_tlv,
    expect_tlv,
    read_length,
    walk_content,
)

# protocolOp application tag numbers (RFC 4511 §4.2 to §4.14).
OP_BIND_REQUEST = 0
OP_BIND_RESPONSE = 1
OP_UNBIND_REQUEST = 2
OP_SEARCH_REQUEST = 3
OP_SEARCH_RESULT_ENTRY = 4
OP_SEARCH_RESULT_DONE = 5
OP_MODIFY_REQUEST = 6
OP_MODIFY_RESPONSE = 7
OP_ADD_REQUEST = 8
OP_ADD_RESPONSE = 9
OP_DEL_REQUEST = 10
OP_DEL_RESPONSE = 11
OP_MODIFY_DN_REQUEST = 12
OP_MODIFY_DN_RESPONSE = 13
OP_COMPARE_REQUEST = 14
OP_COMPARE_RESPONSE = 15
OP_ABANDON_REQUEST = 16
OP_SEARCH_RESULT_REFERENCE = 19
OP_EXTENDED_REQUEST = 23
OP_EXTENDED_RESPONSE = 24
OP_INTERMEDIATE_RESPONSE = 25

# The only protocolOps whose encoding is primitive: UnbindRequest (NULL),
# DelRequest (LDAPDN) and AbandonRequest (MessageID).
PRIMITIVE_OPS = frozenset({OP_UNBIND_REQUEST, OP_DEL_REQUEST, OP_ABANDON_REQUEST})
KNOWN_OPS = frozenset(
    {
        OP_BIND_REQUEST, OP_BIND_RESPONSE, OP_UNBIND_REQUEST, OP_SEARCH_REQUEST,
        OP_SEARCH_RESULT_ENTRY, OP_SEARCH_RESULT_DONE, OP_MODIFY_REQUEST, OP_MODIFY_RESPONSE,
        OP_ADD_REQUEST, OP_ADD_RESPONSE, OP_DEL_REQUEST, OP_DEL_RESPONSE,
        OP_MODIFY_DN_REQUEST, OP_MODIFY_DN_RESPONSE, OP_COMPARE_REQUEST, OP_COMPARE_RESPONSE,
        OP_ABANDON_REQUEST, OP_SEARCH_RESULT_REFERENCE, OP_EXTENDED_REQUEST,
        OP_EXTENDED_RESPONSE, OP_INTERMEDIATE_RESPONSE,
    }
)  # fmt: skip

# The response op for each request op that has one; UnbindRequest and
# AbandonRequest get no response (RFC 4511 §4.3 and §4.11).
RESPONSE_TAG_FOR_REQUEST: dict[int, int] = {
    OP_BIND_REQUEST: OP_BIND_RESPONSE,
    OP_SEARCH_REQUEST: OP_SEARCH_RESULT_DONE,
    OP_MODIFY_REQUEST: OP_MODIFY_RESPONSE,
    OP_ADD_REQUEST: OP_ADD_RESPONSE,
    OP_DEL_REQUEST: OP_DEL_RESPONSE,
    OP_MODIFY_DN_REQUEST: OP_MODIFY_DN_RESPONSE,
    OP_COMPARE_REQUEST: OP_COMPARE_RESPONSE,
    OP_EXTENDED_REQUEST: OP_EXTENDED_RESPONSE,
}
# Responses whose content starts with the LDAPResult components.
RESULT_OPS = frozenset(RESPONSE_TAG_FOR_REQUEST.values())

STARTTLS_OID = "1.3.6.1.4.1.1466.20037"
NOTICE_OF_DISCONNECTION_OID = "1.3.6.1.4.1.1466.20036"
PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"

MAX_MESSAGE_ID = 2**31 - 1

# Attribute types whose modification sets a password on AD, in lower case,
# by name and by OID (a ModifyRequest may name an attribute either way,
# RFC 4512 §2.5). The OIDs are the attributeID values in the AD schema.
PASSWORD_ATTRIBUTE_TYPES = frozenset({"unicodepwd", "1.2.840.113556.1.4.90", "userpassword", "2.5.4.35"})

# Context-specific identifier octets inside the ops decoded here.
_TAG_CONTROLS = 0xA0  # LDAPMessage.controls [0]
_TAG_AUTH_SIMPLE = 0x80  # AuthenticationChoice.simple [0]
_TAG_AUTH_SASL = 0xA3  # AuthenticationChoice.sasl [3]
_TAG_REFERRAL = 0xA3  # LDAPResult.referral [3]
_TAG_SERVER_SASL_CREDS = 0x87  # BindResponse.serverSaslCreds [7]
_TAG_REQUEST_NAME = 0x80  # ExtendedRequest.requestName [0]
_TAG_REQUEST_VALUE = 0x81  # ExtendedRequest.requestValue [1]
_TAG_RESPONSE_NAME = 0x8A  # ExtendedResponse.responseName [10]
_TAG_RESPONSE_VALUE = 0x8B  # ExtendedResponse.responseValue [11]


class ResultCode(enum.IntEnum):
    """LDAP result codes (RFC 4511 Appendix A)."""

    SUCCESS = 0
    OPERATIONS_ERROR = 1
    PROTOCOL_ERROR = 2
    TIME_LIMIT_EXCEEDED = 3
    SIZE_LIMIT_EXCEEDED = 4
    COMPARE_FALSE = 5
    COMPARE_TRUE = 6
    AUTH_METHOD_NOT_SUPPORTED = 7
    STRONGER_AUTH_REQUIRED = 8
    REFERRAL = 10
    ADMIN_LIMIT_EXCEEDED = 11
    UNAVAILABLE_CRITICAL_EXTENSION = 12
    CONFIDENTIALITY_REQUIRED = 13
    SASL_BIND_IN_PROGRESS = 14
    NO_SUCH_ATTRIBUTE = 16
    UNDEFINED_ATTRIBUTE_TYPE = 17
    INAPPROPRIATE_MATCHING = 18
    CONSTRAINT_VIOLATION = 19
    ATTRIBUTE_OR_VALUE_EXISTS = 20
    INVALID_ATTRIBUTE_SYNTAX = 21
    NO_SUCH_OBJECT = 32
    ALIAS_PROBLEM = 33
    INVALID_DN_SYNTAX = 34
    ALIAS_DEREFERENCING_PROBLEM = 36
    INAPPROPRIATE_AUTHENTICATION = 48
    INVALID_CREDENTIALS = 49
    INSUFFICIENT_ACCESS_RIGHTS = 50
    BUSY = 51
    UNAVAILABLE = 52
    UNWILLING_TO_PERFORM = 53
    LOOP_DETECT = 54
    NAMING_VIOLATION = 64
    OBJECT_CLASS_VIOLATION = 65
    NOT_ALLOWED_ON_NON_LEAF = 66
    NOT_ALLOWED_ON_RDN = 67
    ENTRY_ALREADY_EXISTS = 68
    OBJECT_CLASS_MODS_PROHIBITED = 69
    AFFECTS_MULTIPLE_DSAS = 71
    OTHER = 80


@dataclass(frozen=True)
class Envelope:
    """The outer layer of one LDAPMessage.

    Attributes:
        message_id: messageID, 0 to 2**31 - 1.
        op_tag: application tag number of protocolOp, 0 to 30.
        raw: the whole message as received; hidden from repr because a
            BindRequest carries a password.
        has_controls: whether the controls [0] element is present.
        op_start: offset of protocolOp's first content octet in `raw`.
        op_end: offset just past protocolOp's content in `raw`.
    """

    message_id: int
    op_tag: int
    raw: bytes = field(repr=False)
    has_controls: bool
    op_start: int = field(default=0, repr=False, compare=False)
    op_end: int = field(default=0, repr=False, compare=False)

    @property
    def controls(self) -> bytes:
        """The raw controls [0] TLV, or b"" when there is none."""
        if not self.has_controls:
            return b""
        return self.raw[self.op_end :]


@dataclass(frozen=True)
class BindRequest:
    """A decoded BindRequest (RFC 4511 §4.2).

    Attributes:
        name: the LDAPDN octets as sent, which AD also accepts as a UPN or
            DOMAIN\\user.
        method: "simple" or "sasl".
        password: the simple password octets, b"" for SASL.
        sasl_mechanism: the SASL mechanism, "" for simple.
        sasl_credentials: the SASL credentials, None when absent.
        controls: the raw controls [0] TLV of the message, or b"".
    """

    message_id: int
    version: int
    name: bytes
    method: str
    password: bytes = field(repr=False)
    sasl_mechanism: str
    sasl_credentials: bytes | None = field(repr=False)
    controls: bytes


@dataclass(frozen=True)
class LdapResult:
    """The LDAPResult components of a response (RFC 4511 §4.1.9).

    Attributes:
        referral: the raw referral [3] TLV, or None when absent.
    """

    result_code: int
    matched_dn: bytes
    diagnostic: bytes
    referral: bytes | None


@dataclass(frozen=True)
class ExtendedRequest:
    """A decoded ExtendedRequest (RFC 4511 §4.12).

    Attributes:
        value: requestValue, or None when absent. Hidden from repr because
            a PasswordModify request carries passwords.
    """

    message_id: int
    oid: str
    value: bytes | None = field(repr=False)


# ---------------------------------------------------------------------------
# Envelope


def decode_envelope(raw: bytes, limits: Limits = Limits(), full_walk: bool = True) -> Envelope:
    """Decode the outer layer of one LDAPMessage.

    Args:
        raw: exactly one message, as returned by `MessageFramer.feed`.
        limits: bounds on size, depth and element count.
        full_walk: also walk every nested TLV under `limits`. Use True for
            client messages. False checks only the outer SEQUENCE, messageID,
            protocolOp and controls headers, which keeps large search results
            from AD cheap.

    Raises:
        LimitExceeded: the message exceeds `limits`.
        BerError: the message is not a well-formed LDAPMessage.
    """
    end = len(raw)
    start, seq_end = expect_tlv(raw, 0, end, TAG_SEQUENCE, "LDAPMessage")
    if seq_end - start > limits.max_message_size:
        raise LimitExceeded(
            f"LDAPMessage has {seq_end - start} content octets; the limit is {limits.max_message_size}"
        )
    if seq_end != end:
        raise BerError(f"{end - seq_end} octets after the LDAPMessage that ends at offset {seq_end}")

    id_start, id_end = expect_tlv(raw, start, end, TAG_INTEGER, "messageID")
    message_id = _decode_message_id(raw, id_start, id_end)

    op_tag, op_start, op_end = _read_protocol_op(raw, id_end, end)

    has_controls = op_end < end
    if has_controls:
        controls_start, controls_end = expect_tlv(raw, op_end, end, _TAG_CONTROLS, "controls")
        if controls_end != end:
            raise BerError(f"{end - controls_end} octets after controls at offset {controls_end}")

    if full_walk:
        walk_content(raw, start, end, limits)
    return Envelope(message_id, op_tag, raw, has_controls, op_start, op_end)


def _decode_message_id(raw: bytes, start: int, end: int) -> int:
    message_id = decode_integer_content(raw, start, end, "messageID")
    if not 0 <= message_id <= MAX_MESSAGE_ID:
        raise BerError(f"messageID {message_id} at offset {start} is outside 0..{MAX_MESSAGE_ID}")
    return message_id


def _read_protocol_op(raw: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """Read the protocolOp header; return (tag number, content start, content end)."""
    if offset >= end:
        raise BerError(f"protocolOp missing at offset {offset}")
    identifier = raw[offset]
    tag_number = identifier & HIGH_TAG_NUMBER
    if identifier & CLASS_MASK != CLASS_APPLICATION or tag_number == HIGH_TAG_NUMBER:
        raise BerError(
            f"protocolOp at offset {offset}: expected an APPLICATION tag 0-30, found 0x{identifier:02x}"
        )
    if tag_number in KNOWN_OPS and bool(identifier & CONSTRUCTED) == (tag_number in PRIMITIVE_OPS):
        form = "primitive" if tag_number in PRIMITIVE_OPS else "constructed"
        raise BerError(f"protocolOp [APPLICATION {tag_number}] at offset {offset} must be {form}")
    length, content_start = read_length(raw, offset + 1, end)
    content_end = content_start + length
    if content_end > end:
        raise BerError(
            f"protocolOp at offset {offset} announces {length} content octets "
            f"but only {end - content_start} remain"
        )
    return tag_number, content_start, content_end


def _require_op(env: Envelope, *op_tags: int) -> None:
    if env.op_tag not in op_tags:
        expected = " or ".join(str(tag) for tag in op_tags)
        raise BerError(f"message {env.message_id}: protocolOp is [APPLICATION {env.op_tag}], expected {expected}")


def _require_end(position: int, end: int, field_name: str) -> None:
    if position != end:
        raise BerError(f"{end - position} unexpected octets in {field_name} at offset {position}")


def _decode_utf8(raw: bytes, start: int, end: int, field_name: str) -> str:
    try:
        return raw[start:end].decode("utf-8")
    except UnicodeDecodeError as error:
        raise BerError(f"{field_name} at offset {start} is not valid UTF-8: {error.reason}") from None


# ---------------------------------------------------------------------------
# Bind


def decode_bind_request(env: Envelope) -> BindRequest:
    """Decode a BindRequest, simple or SASL.

    Raises:
        BerError: another op, a version outside 1..127, an unknown
            authentication choice, or a malformed field.
    """
    _require_op(env, OP_BIND_REQUEST)
    raw = env.raw
    end = env.op_end

    version_start, position = expect_tlv(raw, env.op_start, end, TAG_INTEGER, "BindRequest.version")
    version = decode_integer_content(raw, version_start, position, "BindRequest.version")
    if not 1 <= version <= 127:
        raise BerError(f"BindRequest.version {version} at offset {version_start} is outside 1..127")

    name_start, position = expect_tlv(raw, position, end, TAG_OCTET_STRING, "BindRequest.name")
    name = raw[name_start:position]

    if position >= end:
        raise BerError(f"BindRequest.authentication missing at offset {position}")
    choice = raw[position]
    if choice == _TAG_AUTH_SIMPLE:
        password_start, auth_end = expect_tlv(raw, position, end, _TAG_AUTH_SIMPLE, "BindRequest.simple")
        _require_end(auth_end, end, "BindRequest")
        return BindRequest(
            env.message_id, version, name, "simple", raw[password_start:auth_end], "", None, env.controls
        )
    if choice == _TAG_AUTH_SASL:
        mechanism, credentials = _decode_sasl_credentials(raw, position, end)
        return BindRequest(env.message_id, version, name, "sasl", b"", mechanism, credentials, env.controls)
    raise BerError(
        f"BindRequest.authentication at offset {position}: tag 0x{choice:02x} is neither simple [0] nor sasl [3]"
    )


def _decode_sasl_credentials(raw: bytes, offset: int, end: int) -> tuple[str, bytes | None]:
    start, sasl_end = expect_tlv(raw, offset, end, _TAG_AUTH_SASL, "BindRequest.sasl")
    _require_end(sasl_end, end, "BindRequest")
    mechanism_start, position = expect_tlv(raw, start, sasl_end, TAG_OCTET_STRING, "SaslCredentials.mechanism")
    mechanism = _decode_utf8(raw, mechanism_start, position, "SaslCredentials.mechanism")
    credentials = None
    if position < sasl_end:
        credentials_start, position = expect_tlv(
            raw, position, sasl_end, TAG_OCTET_STRING, "SaslCredentials.credentials"
        )
        credentials = raw[credentials_start:position]
    _require_end(position, sasl_end, "SaslCredentials")
    return mechanism, credentials


def encode_bind_request(
    message_id: int, name: bytes, password: bytes, version: int = 3, controls: bytes = b""
) -> bytes:
    """Encode a simple BindRequest; `controls` is a complete controls [0] TLV or b""."""
    op = encode_tlv(
        CLASS_APPLICATION | CONSTRUCTED | OP_BIND_REQUEST,
        encode_integer(version) + encode_octet_string(name) + encode_tlv(_TAG_AUTH_SIMPLE, password),
    )
    return _encode_message(message_id, op, controls)


# ---------------------------------------------------------------------------
# Results


def decode_result(env: Envelope) -> LdapResult:
    """Decode the LDAPResult components at the start of a response op.

    Raises:
        BerError: an op that does not start with LDAPResult, or a malformed
            component.
    """
    result, _ = _decode_result_components(env)
    return result


def _decode_result_components(env: Envelope) -> tuple[LdapResult, int]:
    """Decode LDAPResult; return it and the offset of the op's next component."""
    _require_op(env, *RESULT_OPS)
    raw = env.raw
    end = env.op_end

    code_start, position = expect_tlv(raw, env.op_start, end, TAG_ENUMERATED, "LDAPResult.resultCode")
    result_code = decode_integer_content(raw, code_start, position, "LDAPResult.resultCode")
    matched_start, position = expect_tlv(raw, position, end, TAG_OCTET_STRING, "LDAPResult.matchedDN")
    matched_dn = raw[matched_start:position]
    diagnostic_start, position = expect_tlv(raw, position, end, TAG_OCTET_STRING, "LDAPResult.diagnosticMessage")
    diagnostic = raw[diagnostic_start:position]

    referral = None
    if position < end and raw[position] == _TAG_REFERRAL:
        referral_offset = position
        _, position = expect_tlv(raw, position, end, _TAG_REFERRAL, "LDAPResult.referral")
        referral = raw[referral_offset:position]
    return LdapResult(result_code, matched_dn, diagnostic, referral), position


def decode_bind_response(env: Envelope) -> tuple[LdapResult, bytes | None]:
    """Decode a BindResponse into its LDAPResult and serverSaslCreds (None when absent).

    Raises:
        BerError: another op or a malformed component.
    """
    _require_op(env, OP_BIND_RESPONSE)
    result, position = _decode_result_components(env)
    credentials = None
    if position < env.op_end:
        start, position = expect_tlv(
            env.raw, position, env.op_end, _TAG_SERVER_SASL_CREDS, "BindResponse.serverSaslCreds"
        )
        credentials = env.raw[start:position]
    _require_end(position, env.op_end, "BindResponse")
    return result, credentials


def decode_extended_response(env: Envelope) -> tuple[LdapResult, str | None, bytes | None]:
    """Decode an ExtendedResponse into (result, responseName, responseValue).

    Raises:
        BerError: another op or a malformed component.
    """
    _require_op(env, OP_EXTENDED_RESPONSE)
    raw = env.raw
    end = env.op_end
    result, position = _decode_result_components(env)

    oid = None
    if position < end and raw[position] == _TAG_RESPONSE_NAME:
        oid_start, position = expect_tlv(raw, position, end, _TAG_RESPONSE_NAME, "ExtendedResponse.responseName")
        oid = _decode_utf8(raw, oid_start, position, "ExtendedResponse.responseName")
    value = None
    if position < end:
        value_start, position = expect_tlv(
            raw, position, end, _TAG_RESPONSE_VALUE, "ExtendedResponse.responseValue"
        )
        value = raw[value_start:position]
    _require_end(position, end, "ExtendedResponse")
    return result, oid, value


def _encode_result_content(result_code: int, matched_dn: bytes, diagnostic: str) -> bytes:
    return (
        encode_enumerated(result_code)
        + encode_octet_string(matched_dn)
        + encode_octet_string(diagnostic.encode("utf-8"))
    )


def encode_bind_response(
    message_id: int, result_code: int, diagnostic: str = "", matched_dn: bytes = b""
) -> bytes:
    """Encode a BindResponse with no serverSaslCreds."""
    op = encode_tlv(
        CLASS_APPLICATION | CONSTRUCTED | OP_BIND_RESPONSE,
        _encode_result_content(result_code, matched_dn, diagnostic),
    )
    return _encode_message(message_id, op)


def encode_result_response(message_id: int, op_tag: int, result_code: int, diagnostic: str = "") -> bytes:
    """Encode a response op that is just an LDAPResult.

    Args:
        op_tag: the response tag, for example
            `RESPONSE_TAG_FOR_REQUEST[OP_MODIFY_REQUEST]`.

    Raises:
        ValueError: `op_tag` is not a response that starts with LDAPResult.
    """
    if op_tag not in RESULT_OPS:
        raise ValueError(
            f"op_tag {op_tag} is not an LDAPResult response; use one of {sorted(RESULT_OPS)}"
        )
    op = encode_tlv(CLASS_APPLICATION | CONSTRUCTED | op_tag, _encode_result_content(result_code, b"", diagnostic))
    return _encode_message(message_id, op)


def encode_extended_response(
    message_id: int,
    result_code: int,
    diagnostic: str = "",
    oid: str | None = None,
    value: bytes | None = None,
) -> bytes:
    """Encode an ExtendedResponse; `oid` and `value` are left out when None."""
    content = _encode_result_content(result_code, b"", diagnostic)
    if oid is not None:
        content += encode_tlv(_TAG_RESPONSE_NAME, oid.encode("ascii"))
    if value is not None:
        content += encode_tlv(_TAG_RESPONSE_VALUE, value)
    op = encode_tlv(CLASS_APPLICATION | CONSTRUCTED | OP_EXTENDED_RESPONSE, content)
    return _encode_message(message_id, op)


def encode_notice_of_disconnection(result_code: int, diagnostic: str) -> bytes:
    """Encode the unsolicited Notice of Disconnection (RFC 4511 §4.4.1).

    It is an ExtendedResponse with messageID 0, the notice OID as
    responseName and no responseValue.
    """
    return encode_extended_response(0, result_code, diagnostic, oid=NOTICE_OF_DISCONNECTION_OID)


# ---------------------------------------------------------------------------
# Extended operations


def decode_extended_request(env: Envelope) -> ExtendedRequest:
    """Decode an ExtendedRequest.

    Raises:
        BerError: another op, a missing or non-UTF-8 requestName, or a
            malformed requestValue.
    """
    _require_op(env, OP_EXTENDED_REQUEST)
    raw = env.raw
    end = env.op_end
    oid_start, position = expect_tlv(raw, env.op_start, end, _TAG_REQUEST_NAME, "ExtendedRequest.requestName")
    oid = _decode_utf8(raw, oid_start, position, "ExtendedRequest.requestName")
    value = None
    if position < end:
        value_start, position = expect_tlv(raw, position, end, _TAG_REQUEST_VALUE, "ExtendedRequest.requestValue")
        value = raw[value_start:position]
    _require_end(position, end, "ExtendedRequest")
    return ExtendedRequest(env.message_id, oid, value)


def encode_extended_request(message_id: int, oid: str, value: bytes | None = None) -> bytes:
    """Encode an ExtendedRequest; `value` is left out when None."""
    content = encode_tlv(_TAG_REQUEST_NAME, oid.encode("ascii"))
    if value is not None:
        content += encode_tlv(_TAG_REQUEST_VALUE, value)
    op = encode_tlv(CLASS_APPLICATION | CONSTRUCTED | OP_EXTENDED_REQUEST, content)
    return _encode_message(message_id, op)


# ---------------------------------------------------------------------------
# Modify


def modify_attribute_types(env: Envelope) -> list[str]:
    """Return the attribute description of each change in a ModifyRequest, in order.

    Options stay attached ("unicodePwd;binary"), so callers that match an
    attribute compare the part before ";" without regard to case.

    Raises:
        BerError: another op, or a ModifyRequest that does not match
            RFC 4511 §4.6.
    """
    _require_op(env, OP_MODIFY_REQUEST)
    raw = env.raw
    end = env.op_end
    _, position = expect_tlv(raw, env.op_start, end, TAG_OCTET_STRING, "ModifyRequest.object")
    changes_start, changes_end = expect_tlv(raw, position, end, TAG_SEQUENCE, "ModifyRequest.changes")
    _require_end(changes_end, end, "ModifyRequest")

    types = []
    position = changes_start
    while position < changes_end:
        types.append(_decode_change_type(raw, position, changes_end))
        _, position = expect_tlv(raw, position, changes_end, TAG_SEQUENCE, "ModifyRequest change")
    return types


def attribute_type_key(description: str) -> str:
    """Return the attribute type of an AttributeDescription in lower case, options removed."""
    return description.split(";", 1)[0].lower()


def is_password_attribute(description: str) -> bool:
    """Return whether `description` ("unicodePwd;binary", "2.5.4.35"...) names a password attribute."""
    return attribute_type_key(description) in PASSWORD_ATTRIBUTE_TYPES


def _decode_change_type(raw: bytes, offset: int, end: int) -> str:
    start, change_end = expect_tlv(raw, offset, end, TAG_SEQUENCE, "ModifyRequest change")
    _, position = expect_tlv(raw, start, change_end, TAG_ENUMERATED, "change.operation")
    attribute_start, attribute_end = expect_tlv(raw, position, change_end, TAG_SEQUENCE, "change.modification")
    _require_end(attribute_end, change_end, "ModifyRequest change")
    type_start, type_end = expect_tlv(
        raw, attribute_start, attribute_end, TAG_OCTET_STRING, "PartialAttribute.type"
    )
    return _decode_utf8(raw, type_start, type_end, "PartialAttribute.type")


# ---------------------------------------------------------------------------
# Message


def _encode_message(message_id: int, op: bytes, controls: bytes = b"") -> bytes:
    if not 0 <= message_id <= MAX_MESSAGE_ID:
        raise ValueError(f"message_id must be in 0..{MAX_MESSAGE_ID} (got {message_id})")
    if controls and controls[0] != _TAG_CONTROLS:
        raise ValueError(f"controls must be a complete [0] TLV starting with 0xa0 (got 0x{controls[0]:02x})")
    return encode_tlv(TAG_SEQUENCE, encode_integer(message_id) + op + controls)
