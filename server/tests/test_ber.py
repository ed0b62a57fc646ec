"""Tests for factorgate.ldap.ber: encoders, the TLV walk, limits and the framer.

pyasn1's BER encoder and decoder are the independent reference: random TLV
trees are encoded by pyasn1 and must decode to the same shape here, and the
encoders here must produce what pyasn1 decodes back to the same value.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as pyasn1_decoder
from pyasn1.codec.ber import encoder as pyasn1_encoder
from pyasn1.type import tag, univ

from factorgate.ldap.ber import (
    BerError,
    LimitExceeded,
    Limits,
    MessageFramer,
    Tlv,
    TlvNode,
    decode_boolean_content,
    decode_integer_content,
    decode_tree,
    encode_boolean,
    encode_enumerated,
    encode_integer,
    encode_length,
    encode_null,
    encode_octet_string,
    encode_sequence,
    encode_tlv,
    read_length,
    read_tlv,
    walk_tlv,
)

# ---------------------------------------------------------------------------
# Encoders: known answers from X.690 §8.3 and §8.1.3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "020100"),
        (1, "020101"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (2**31 - 1, "02047fffffff"),
        (2**31, "02050080000000"),
    ],
)
def test_encode_integer_known_answers(value: int, expected: str) -> None:
    assert encode_integer(value).hex() == expected


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (2**32 - 1, "84ffffffff")],
)
def test_encode_length_known_answers(length: int, expected: str) -> None:
    assert encode_length(length).hex() == expected


def test_encode_length_rejects_five_octets() -> None:
    with pytest.raises(ValueError, match="length octets"):
        encode_length(2**32)


def test_encode_tlv_rejects_high_tag_number_octet() -> None:
    with pytest.raises(ValueError, match="tag"):
        encode_tlv(0x1F, b"")


def test_encode_boolean_known_answers() -> None:
    assert encode_boolean(True).hex() == "0101ff"
    assert encode_boolean(False).hex() == "010100"


def test_encode_null_known_answer() -> None:
    assert encode_null().hex() == "0500"


def test_encode_enumerated_known_answer() -> None:
    assert encode_enumerated(49).hex() == "0a0131"


def test_encode_octet_string_str_as_utf8() -> None:
    assert encode_octet_string("é") == b"\x04\x02\xc3\xa9"


def test_encode_sequence_long_form() -> None:
    element = encode_octet_string(b"x" * 200)
    encoded = encode_sequence(element)
    assert encoded[:3] == b"\x30\x81\xcb"
    assert encoded[3:] == element


def is_minimal_integer(encoded: bytes) -> bool:
    """X.690 §8.3.2: the first nine bits of a multi-octet INTEGER are not all equal."""
    content = encoded[2:]
    if len(content) < 2:
        return True
    return not (content[0] == 0x00 and content[1] < 0x80) and not (content[0] == 0xFF and content[1] >= 0x80)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_encode_integer_matches_pyasn1(value: int) -> None:
    encoded = encode_integer(value)
    reference = pyasn1_encoder.encode(univ.Integer(value))
    if is_minimal_integer(reference):
        assert encoded == reference
    else:
        # pyasn1 0.6 encodes -128, -32768 and other negative powers of two
        # with one 0xff too many, which X.690 §8.3.2 forbids.
        assert encoded == reference[:1] + bytes([reference[1] - 1]) + reference[3:]
    assert is_minimal_integer(encoded)
    decoded, rest = pyasn1_decoder.decode(encoded, asn1Spec=univ.Integer())
    assert int(decoded) == value
    assert rest == b""


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_decode_integer_content_round_trip(value: int) -> None:
    encoded = pyasn1_encoder.encode(univ.Integer(value))
    tlv = read_tlv(encoded)
    assert decode_integer_content(encoded, tlv.content_start, tlv.end) == value


@given(st.binary(max_size=70_000))
@settings(max_examples=50)
def test_encode_octet_string_matches_pyasn1(value: bytes) -> None:
    assert encode_octet_string(value) == pyasn1_encoder.encode(univ.OctetString(value))


@given(st.lists(st.binary(max_size=300), max_size=5))
def test_encode_sequence_matches_pyasn1(values: list[bytes]) -> None:
    reference = univ.SequenceOf(componentType=univ.OctetString())
    for index, value in enumerate(values):
        reference.setComponentByPosition(index, univ.OctetString(value))
    ours = encode_sequence(*(encode_octet_string(value) for value in values))
    assert ours == pyasn1_encoder.encode(reference)


def test_decode_integer_content_rejects_empty() -> None:
    with pytest.raises(BerError, match="no content octets"):
        decode_integer_content(b"\x02\x00", 2, 2)


def test_decode_boolean_content_rejects_two_octets() -> None:
    with pytest.raises(BerError, match="BOOLEAN"):
        decode_boolean_content(b"\x01\x02\x00\x00", 2, 4)


def test_decode_boolean_content_nonzero_is_true() -> None:
    assert decode_boolean_content(b"\x01\x01\x01", 2, 3) is True


# ---------------------------------------------------------------------------
# Headers


def test_read_tlv_short_form() -> None:
    assert read_tlv(b"\x04\x02ab") == Tlv(0x00, False, 4, 0, 2, 4)


def test_read_tlv_non_minimal_length_accepted() -> None:
    tlv = read_tlv(b"\x04\x84\x00\x00\x00\x02ab")
    assert (tlv.content_start, tlv.end) == (6, 8)


def test_read_tlv_high_tag_number() -> None:
    tlv = read_tlv(b"\x9f\x81\x00\x01x")
    assert (tlv.tag_class, tlv.tag_number, tlv.content_start) == (0x80, 128, 4)


def test_tlv_identifier_high_tag_number() -> None:
    assert read_tlv(b"\x9f\x81\x00\x00").identifier == -1


def test_read_tlv_rejects_non_minimal_tag_number() -> None:
    with pytest.raises(BerError, match="non-minimal tag number"):
        read_tlv(b"\x9f\x80\x01\x00")


def test_read_tlv_rejects_overlong_tag_number() -> None:
    with pytest.raises(BerError, match="longer than 4 octets"):
        read_tlv(b"\x9f\x81\x81\x81\x81\x01\x00")


def test_read_length_rejects_indefinite() -> None:
    with pytest.raises(BerError, match="indefinite length at offset 1"):
        read_length(b"\x30\x80\x00\x00", 1, 4)


def test_read_length_rejects_five_octet_form() -> None:
    with pytest.raises(BerError, match="uses 5 octets"):
        read_length(b"\x30\x85\x00\x00\x00\x00\x01\x00", 1, 8)


def test_read_length_rejects_reserved_0xff() -> None:
    with pytest.raises(BerError, match="uses 127 octets"):
        read_length(b"\x04\xff", 1, 2)


def test_read_tlv_rejects_length_longer_than_data() -> None:
    with pytest.raises(BerError, match="announces 5 content octets but only 2 remain"):
        read_tlv(b"\x04\x05ab")


def test_read_tlv_rejects_truncated_length_octets() -> None:
    with pytest.raises(BerError, match="truncated"):
        read_tlv(b"\x04\x82\x01")


def test_read_tlv_rejects_empty_input() -> None:
    with pytest.raises(BerError, match="identifier missing at offset 0"):
        read_tlv(b"")


# ---------------------------------------------------------------------------
# Random TLV trees encoded by pyasn1

TAG_CLASSES = [tag.tagClassUniversal, tag.tagClassApplication, tag.tagClassContext, tag.tagClassPrivate]


@st.composite
def primitive_trees(draw: st.DrawFn) -> tuple[univ.Asn1Item, tuple]:
    """Draw a pyasn1 primitive value and the (class, constructed, number, value) it must decode to."""
    kind = draw(st.sampled_from(["int", "octets", "bool", "null", "tagged"]))
    if kind == "int":
        value = draw(st.integers(min_value=-(2**64), max_value=2**64))
        return univ.Integer(value), (0x00, False, 2, pyasn1_encoder.encode(univ.Integer(value))[2:])
    if kind == "bool":
        value = draw(st.booleans())
        return univ.Boolean(value), (0x00, False, 1, b"\x01" if value else b"\x00")
    if kind == "null":
        return univ.Null(""), (0x00, False, 5, b"")
    octets = draw(st.binary(max_size=300))
    if kind == "octets":
        return univ.OctetString(octets), (0x00, False, 4, octets)
    tag_class = draw(st.sampled_from(TAG_CLASSES[1:]))
    number = draw(st.integers(min_value=0, max_value=2**21))
    item = univ.OctetString(octets).subtype(implicitTag=tag.Tag(tag_class, tag.tagFormatSimple, number))
    return item, (tag_class, False, number, octets)


def constructed_trees(children: st.SearchStrategy) -> st.SearchStrategy:
    @st.composite
    def build(draw: st.DrawFn) -> tuple[univ.Asn1Item, tuple]:
        members = draw(st.lists(children, max_size=4))
        tag_class = draw(st.sampled_from(TAG_CLASSES))
        number = 16 if tag_class == tag.tagClassUniversal else draw(st.integers(0, 300))
        container = univ.SequenceOf()
        if tag_class != tag.tagClassUniversal:
            container = container.subtype(implicitTag=tag.Tag(tag_class, tag.tagFormatConstructed, number))
        for index, (item, _) in enumerate(members):
            container.setComponentByPosition(index, item)
        return container, (tag_class, True, number, tuple(model for _, model in members))

    return build()


tlv_trees = st.recursive(primitive_trees(), constructed_trees, max_leaves=30)


def tree_to_model(node: TlvNode) -> tuple:
    tlv = node.tlv
    if tlv.constructed:
        return (tlv.tag_class, True, tlv.tag_number, tuple(tree_to_model(child) for child in node.children))
    return (tlv.tag_class, False, tlv.tag_number, node.value)


def count_model(model: tuple) -> tuple[int, int]:
    """Return (element count, depth) of a model tree."""
    if not model[1]:
        return 1, 1
    counts = [count_model(child) for child in model[3]]
    return 1 + sum(count for count, _ in counts), 1 + max((depth for _, depth in counts), default=0)


@given(tlv_trees)
@settings(max_examples=300)
def test_decode_tree_matches_pyasn1_encoding(tree: tuple[univ.Asn1Item, tuple]) -> None:
    item, model = tree
    encoded = pyasn1_encoder.encode(item)
    assert tree_to_model(decode_tree(encoded)) == model


@given(tlv_trees)
@settings(max_examples=300)
def test_walk_tlv_counts_match_model(tree: tuple[univ.Asn1Item, tuple]) -> None:
    item, model = tree
    encoded = pyasn1_encoder.encode(item)
    elements, depth = count_model(model)
    assert walk_tlv(encoded, Limits(max_depth=depth, max_elements=elements)) == elements


@given(tlv_trees)
@settings(max_examples=200)
def test_walk_tlv_limits_one_below_model_rejected(tree: tuple[univ.Asn1Item, tuple]) -> None:
    item, model = tree
    encoded = pyasn1_encoder.encode(item)
    elements, depth = count_model(model)
    with pytest.raises(LimitExceeded):
        walk_tlv(encoded, Limits(max_depth=depth - 1, max_elements=elements))
    with pytest.raises(LimitExceeded):
        walk_tlv(encoded, Limits(max_depth=depth, max_elements=elements - 1))


@given(tlv_trees)
@settings(max_examples=200)
def test_encode_tlv_reproduces_pyasn1_encoding(tree: tuple[univ.Asn1Item, tuple]) -> None:
    """Re-encoding the decoded tree with encode_tlv gives pyasn1's exact octets."""
    item, _ = tree
    encoded = pyasn1_encoder.encode(item)
    node = decode_tree(encoded)
    if _has_high_tag(node):
        return
    assert reencode(node) == encoded


def _has_high_tag(node: TlvNode) -> bool:
    return node.tlv.identifier == -1 or any(_has_high_tag(child) for child in node.children)


def reencode(node: TlvNode) -> bytes:
    if node.tlv.constructed:
        return encode_tlv(node.tlv.identifier, b"".join(reencode(child) for child in node.children))
    return encode_tlv(node.tlv.identifier, node.value)


# ---------------------------------------------------------------------------
# Tree walk: malformed input


def test_walk_tlv_rejects_trailing_octets() -> None:
    with pytest.raises(BerError, match="1 octets after the TLV"):
        walk_tlv(b"\x30\x00\x00")


def test_walk_tlv_rejects_child_longer_than_parent() -> None:
    with pytest.raises(BerError, match="announces 3 content octets but only 1 remain"):
        walk_tlv(b"\x30\x03\x04\x03a")


def test_walk_tlv_rejects_child_shorter_than_parent() -> None:
    with pytest.raises(BerError, match="truncated"):
        walk_tlv(b"\x30\x04\x04\x01ab")


def test_walk_tlv_rejects_indefinite_inner_length() -> None:
    with pytest.raises(BerError, match="indefinite length at offset 3"):
        walk_tlv(b"\x30\x04\x30\x80\x00\x00")


def test_walk_tlv_empty_constructed_counts_one() -> None:
    assert walk_tlv(b"\x30\x00") == 1


def nested_sequences(depth: int) -> bytes:
    encoded = encode_octet_string(b"x")
    for _ in range(depth - 1):
        encoded = encode_sequence(encoded)
    return encoded


def test_walk_tlv_depth_16_accepted_by_default() -> None:
    assert walk_tlv(nested_sequences(16)) == 16


def test_walk_tlv_depth_17_rejected_by_default() -> None:
    with pytest.raises(LimitExceeded, match="depth 17 at offset 32 exceeds the limit of 16"):
        walk_tlv(nested_sequences(17))


def flat_sequence(children: int) -> bytes:
    return encode_sequence(*([encode_null()] * children))


def test_walk_tlv_10000_elements_accepted_by_default() -> None:
    assert walk_tlv(flat_sequence(9_999)) == 10_000


def test_walk_tlv_10001_elements_rejected_by_default() -> None:
    with pytest.raises(LimitExceeded, match="element 10001 at offset"):
        walk_tlv(flat_sequence(10_000))


def test_limit_exceeded_is_ber_error() -> None:
    assert issubclass(LimitExceeded, BerError)


def test_ber_error_is_value_error() -> None:
    assert issubclass(BerError, ValueError)


@given(st.binary(max_size=200))
@settings(max_examples=2_000)
def test_walk_tlv_random_bytes_raise_only_ber_error(data: bytes) -> None:
    try:
        walk_tlv(data, Limits(max_depth=8, max_elements=50))
    except BerError:
        pass


@given(tlv_trees, st.data())
@settings(max_examples=500)
def test_decode_tree_mutations_raise_only_ber_error(tree: tuple[univ.Asn1Item, tuple], data: st.DataObject) -> None:
    encoded = bytearray(pyasn1_encoder.encode(tree[0]))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(encoded) - 1))
        encoded[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(encoded)))
    try:
        decode_tree(bytes(encoded[:cut]))
    except BerError:
        pass


# ---------------------------------------------------------------------------
# Framer

SMALL = b"\x30\x05\x02\x01\x01\x42\x00"  # UnbindRequest, messageID 1


def message(size: int, message_id: int = 1) -> bytes:
    """An LDAPMessage-shaped TLV whose op carries `size` filler octets."""
    return encode_sequence(encode_integer(message_id), encode_tlv(0x4A, b"d" * size))


def test_framer_one_octet_at_a_time() -> None:
    stream = message(3) + message(300, 2) + SMALL
    framer = MessageFramer(1024)
    received = []
    for octet in stream:
        received.extend(framer.feed(bytes((octet,))))
    assert received == [message(3), message(300, 2), SMALL]
    assert framer.buffered == 0


def test_framer_several_messages_in_one_chunk() -> None:
    framer = MessageFramer(1024)
    assert framer.feed(SMALL * 3 + message(200)) == [SMALL, SMALL, SMALL, message(200)]


def test_framer_message_split_over_chunks() -> None:
    framer = MessageFramer(1024)
    whole = message(500)
    assert framer.feed(SMALL + whole[:1]) == [SMALL]
    assert framer.feed(whole[1:3]) == []
    assert framer.feed(whole[3:400]) == []
    assert framer.buffered == 400
    assert framer.feed(whole[400:] + SMALL[:2]) == [whole]
    assert framer.buffered == 2
    assert framer.feed(SMALL[2:]) == [SMALL]


@given(st.lists(st.integers(0, 600), min_size=1, max_size=6), st.data())
def test_framer_any_chunking_yields_same_messages(sizes: list[int], data: st.DataObject) -> None:
    messages = [message(size, index) for index, size in enumerate(sizes)]
    stream = b"".join(messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = MessageFramer(1024)
    received = []
    start = 0
    for cut in [*cuts, len(stream)]:
        received.extend(framer.feed(stream[start:cut]))
        start = cut
    assert received == messages


def test_framer_zero_length_message_returned() -> None:
    assert MessageFramer(10).feed(b"\x30\x00") == [b"\x30\x00"]


def test_framer_empty_feed() -> None:
    assert MessageFramer(10).feed(b"") == []


def test_framer_oversized_header_rejected_before_buffering() -> None:
    framer = MessageFramer(1000)
    with pytest.raises(LimitExceeded, match="announces 1001 octets; the limit is 1000"):
        framer.feed(b"\x30\x82\x03\xe9")
    assert framer.buffered == 0


def test_framer_oversized_header_split_rejected() -> None:
    framer = MessageFramer(1000)
    assert framer.feed(b"\x30\x84\x00") == []
    with pytest.raises(LimitExceeded, match="stream offset 0"):
        framer.feed(b"\x10\x00\x00")


def test_framer_exact_limit_accepted() -> None:
    whole = encode_sequence(encode_tlv(0x04, b"z" * 996))
    assert len(whole) == 1004
    assert MessageFramer(1000).feed(whole) == [whole]


def test_framer_buffer_bounded_by_limit_plus_header() -> None:
    limit = 1000
    framer = MessageFramer(limit)
    whole = encode_sequence(encode_tlv(0x04, b"z" * 996))
    framer.feed(whole[:-1])
    assert framer.buffered <= limit + 6


def test_framer_huge_chunk_rejected_without_buffering() -> None:
    framer = MessageFramer(100)
    with pytest.raises(LimitExceeded):
        framer.feed(SMALL + b"\x30\x84\x00\x10\x00\x00" + b"\x00" * 1_000_000)
    assert framer.buffered == 0


def test_framer_rejects_non_sequence_first_octet() -> None:
    with pytest.raises(BerError, match="starts with 0x31, expected 0x30"):
        MessageFramer(100).feed(b"\x31\x00")


def test_framer_error_names_stream_offset() -> None:
    framer = MessageFramer(100)
    framer.feed(SMALL)
    with pytest.raises(BerError, match="stream offset 7"):
        framer.feed(b"\x04\x00")


def test_framer_rejects_indefinite_length() -> None:
    with pytest.raises(BerError, match="indefinite length"):
        MessageFramer(100).feed(b"\x30\x80")


def test_framer_rejects_five_octet_length() -> None:
    with pytest.raises(BerError, match="uses 5 octets"):
        MessageFramer(100).feed(b"\x30\x85")


def test_framer_stays_failed_after_error() -> None:
    framer = MessageFramer(100)
    with pytest.raises(BerError):
        framer.feed(b"\x04")
    with pytest.raises(BerError, match="starts with 0x04"):
        framer.feed(SMALL)


def test_framer_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        MessageFramer(-1)


@given(st.lists(st.binary(max_size=50), max_size=20))
@settings(max_examples=1_000)
def test_framer_random_chunks_raise_only_ber_error(chunks: list[bytes]) -> None:
    framer = MessageFramer(64)
    try:
        for chunk in chunks:
            for received in framer.feed(chunk):
                assert len(received) <= 64 + 6
            assert framer.buffered <= 64 + 6
    except BerError:
        pass
