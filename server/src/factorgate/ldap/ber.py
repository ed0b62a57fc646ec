"""Sans-IO BER codec for the subset of X.690 that LDAP uses (RFC 4511 §5.1).

This module owns the byte level: splitting a TCP stream into LDAPMessage
TLVs (`MessageFramer`), reading TLV headers, walking a TLV tree under hard
limits, and encoding the universal types LDAP needs. It does no I/O.

BER decoding is where a remote peer can make a server allocate or loop, so
every limit is checked before the work it guards. The framer rejects a length
header over `Limits.max_message_size` before it buffers the content. The tree
walk counts depth and elements as it goes and builds no tree.

Accepted encodings follow RFC 4511 §5.1: definite lengths only (the
indefinite form 0x80 is rejected), at most 4 length octets, and non-minimal
length encodings are accepted because they do not change framing.
"""

from __future__ import annotations

from dataclasses import dataclass

# Identifier octet layout (X.690 §8.1.2).
CLASS_UNIVERSAL = 0x00
CLASS_APPLICATION = 0x40
CLASS_CONTEXT = 0x80
CLASS_PRIVATE = 0xC0
CLASS_MASK = 0xC0
CONSTRUCTED = 0x20
HIGH_TAG_NUMBER = 0x1F

# Universal identifier octets used by LDAP.
TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_ENUMERATED = 0x0A
TAG_SEQUENCE = 0x30
TAG_SET = 0x31

MAX_LENGTH_OCTETS = 4
# Identifier octet + first length octet + MAX_LENGTH_OCTETS.
MAX_MESSAGE_HEADER = 2 + MAX_LENGTH_OCTETS
# Subsequent identifier octets accepted in the high-tag-number form; LDAP
# itself uses no tag number above 30, so this only serves generic walks.
MAX_TAG_NUMBER_OCTETS = 4


class BerError(ValueError):
    """Malformed BER input; the message names the defect and its offset."""


class LimitExceeded(BerError):
    """Well-formed input that exceeds a configured `Limits` value."""


@dataclass(frozen=True)
class Limits:
    """Hard bounds on one LDAPMessage.

    Attributes:
        max_message_size: max content length of the outer SEQUENCE, in octets.
        max_depth: max nesting level. The outer LDAPMessage SEQUENCE is
            level 1, so a primitive element directly inside it is level 2.
        max_elements: max number of TLVs in one message, the outer one
            included.
    """

    max_message_size: int = 1_048_576
    max_depth: int = 16
    max_elements: int = 10_000


@dataclass(frozen=True, slots=True)
class Tlv:
    """The position of one decoded TLV inside a buffer.

    Attributes:
        tag_class: CLASS_UNIVERSAL, CLASS_APPLICATION, CLASS_CONTEXT or
            CLASS_PRIVATE.
        constructed: whether the constructed bit (0x20) is set.
        tag_number: the tag number, also in the high-tag-number form.
        start: offset of the first identifier octet.
        content_start: offset of the first content octet.
        end: offset just past the last content octet.
    """

    tag_class: int
    constructed: bool
    tag_number: int
    start: int
    content_start: int
    end: int

    @property
    def length(self) -> int:
        """Content length in octets."""
        return self.end - self.content_start

    @property
    def identifier(self) -> int:
        """The identifier octet for a low tag number (below 31), else -1."""
        if self.tag_number >= HIGH_TAG_NUMBER:
            return -1
        return self.tag_class | (CONSTRUCTED if self.constructed else 0) | self.tag_number


@dataclass(frozen=True)
class TlvNode:
    """A decoded TLV tree, built by `decode_tree` for tests and tools.

    Attributes:
        tlv: position of this element.
        value: content octets of a primitive element, b"" for a constructed one.
        children: sub-elements of a constructed element.
    """

    tlv: Tlv
    value: bytes
    children: tuple[TlvNode, ...]


# ---------------------------------------------------------------------------
# Reading headers


def read_length(data: bytes, offset: int, end: int) -> tuple[int, int]:
    """Read a definite length at `offset`.

    Returns:
        (length, offset of the first content octet).

    Raises:
        BerError: truncated length, indefinite form, reserved 0xFF, or more
            than MAX_LENGTH_OCTETS length octets.
    """
    if offset >= end:
        raise BerError(f"truncated TLV: length octet missing at offset {offset}")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    if first == 0x80:
        raise BerError(f"indefinite length at offset {offset}: LDAP allows definite lengths only")
    count = first & 0x7F
    if count > MAX_LENGTH_OCTETS:
        raise BerError(
            f"length at offset {offset} uses {count} octets; at most {MAX_LENGTH_OCTETS} are accepted"
        )
    if offset + 1 + count > end:
        raise BerError(f"truncated TLV: {count} length octets announced at offset {offset}")
    length = int.from_bytes(data[offset + 1 : offset + 1 + count], "big")
    return length, offset + 1 + count


def read_identifier(data: bytes, offset: int, end: int) -> tuple[int, bool, int, int]:
    """Read the identifier octets at `offset`.

    Returns:
        (tag class, constructed, tag number, offset of the length octet).

    Raises:
        BerError: truncated identifier, or a high tag number longer than
            MAX_TAG_NUMBER_OCTETS octets or not minimally encoded.
    """
    if offset >= end:
        raise BerError(f"truncated TLV: identifier missing at offset {offset}")
    first = data[offset]
    number = first & HIGH_TAG_NUMBER
    position = offset + 1
    if number == HIGH_TAG_NUMBER:
        number = 0
        for count in range(MAX_TAG_NUMBER_OCTETS + 1):
            if position >= end:
                raise BerError(f"truncated TLV: tag number unfinished at offset {position}")
            octet = data[position]
            if count == 0 and octet == 0x80:
                raise BerError(f"non-minimal tag number at offset {position}")
            if count == MAX_TAG_NUMBER_OCTETS:
                raise BerError(
                    f"tag number at offset {offset} is longer than {MAX_TAG_NUMBER_OCTETS} octets"
                )
            number = (number << 7) | (octet & 0x7F)
            position += 1
            if octet < 0x80:
                break
    return first & CLASS_MASK, bool(first & CONSTRUCTED), number, position


def read_tlv(data: bytes, offset: int = 0, end: int | None = None) -> Tlv:
    """Read one TLV header at `offset` and check that its content fits before `end`.

    Raises:
        BerError: malformed header, or content running past `end`.
    """
    if end is None:
        end = len(data)
    tag_class, constructed, number, position = read_identifier(data, offset, end)
    length, content_start = read_length(data, position, end)
    content_end = content_start + length
    if content_end > end:
        raise BerError(
            f"TLV at offset {offset} announces {length} content octets "
            f"but only {end - content_start} remain"
        )
    return Tlv(tag_class, constructed, number, offset, content_start, content_end)


def expect_tlv(data: bytes, offset: int, end: int, identifier: int, field_name: str) -> tuple[int, int]:
    """Read a TLV that must carry the low-form `identifier` octet.

    Returns:
        (content start, content end).

    Raises:
        BerError: another identifier, or a malformed or overlong TLV.
    """
    if offset >= end:
        raise BerError(f"{field_name} missing at offset {offset}")
    found = data[offset]
    if found != identifier:
        raise BerError(f"{field_name} at offset {offset}: expected tag 0x{identifier:02x}, found 0x{found:02x}")
    if offset + 1 < end and data[offset + 1] < 0x80:
        length, content_start = data[offset + 1], offset + 2
    else:
        length, content_start = read_length(data, offset + 1, end)
    content_end = content_start + length
    if content_end > end:
        raise BerError(
            f"{field_name} at offset {offset} announces {length} content octets "
            f"but only {end - content_start} remain"
        )
    return content_start, content_end


def decode_integer_content(data: bytes, start: int, end: int, field_name: str = "INTEGER") -> int:
    """Decode two's-complement INTEGER or ENUMERATED content octets.

    Raises:
        BerError: empty content.
    """
    if start >= end:
        raise BerError(f"{field_name} at offset {start} has no content octets")
    return int.from_bytes(data[start:end], "big", signed=True)


def decode_boolean_content(data: bytes, start: int, end: int) -> bool:
    """Decode BOOLEAN content; any non-zero octet is TRUE (X.690 §8.2.2).

    Raises:
        BerError: content that is not exactly one octet.
    """
    if end - start != 1:
        raise BerError(f"BOOLEAN at offset {start} has {end - start} content octets, expected 1")
    return data[start] != 0


# ---------------------------------------------------------------------------
# Walking a tree under limits


def walk_tlv(data: bytes, limits: Limits = Limits(), offset: int = 0, end: int | None = None) -> int:
    """Validate the TLV tree that starts at `offset` and must end exactly at `end`.

    Descends into every constructed element, checking that children tile
    their parent's content exactly. Depth and element count are counted over
    the whole tree and checked before each element is read, so the cost is
    bounded by `limits.max_elements` headers.

    Returns:
        The number of TLVs in the tree.

    Raises:
        LimitExceeded: depth or element count over `limits`.
        BerError: malformed or trailing data.
    """
    if end is None:
        end = len(data)
    max_depth = limits.max_depth
    max_elements = limits.max_elements
    if max_depth < 1:
        raise LimitExceeded(f"depth 1 at offset {offset} exceeds the limit of {max_depth}")
    if max_elements < 1:
        raise LimitExceeded(f"element 1 at offset {offset} exceeds the limit of {max_elements} elements")
    root = read_tlv(data, offset, end)
    if root.end != end:
        raise BerError(f"{end - root.end} octets after the TLV that starts at offset {offset}")
    if not root.constructed:
        return 1

    return walk_content(data, root.content_start, root.end, limits)


def walk_content(data: bytes, start: int, end: int, limits: Limits, depth: int = 2, count: int = 1) -> int:
    """Validate the elements that tile `data[start:end]`, the content of a constructed TLV.

    Args:
        depth: depth of the elements at the top of the content (the parent's plus one).
        count: elements already counted before this content.

    Returns:
        `count` plus the number of TLVs in the content.

    Raises:
        LimitExceeded: depth or element count over `limits`.
        BerError: malformed data, or elements that do not end exactly at `end`.
    """
    max_depth = limits.max_depth
    max_elements = limits.max_elements
    # This loop runs for every element of every client message, so the common
    # header (low tag number, short length) is parsed inline.
    position = start
    parent_end = end
    resume: list[tuple[int, int]] = []  # (next sibling offset, parent end) of each open ancestor
    while True:
        if position == parent_end:
            if not resume:
                return count
            position, parent_end = resume.pop()
            depth -= 1
            continue

        count += 1
        if count > max_elements:
            raise LimitExceeded(
                f"element {count} at offset {position} exceeds the limit of {max_elements} elements"
            )
        if depth > max_depth:
            raise LimitExceeded(f"depth {depth} at offset {position} exceeds the limit of {max_depth}")

        identifier = data[position]
        if identifier & HIGH_TAG_NUMBER == HIGH_TAG_NUMBER or position + 1 >= parent_end:
            child = read_tlv(data, position, parent_end)
            content_start, content_end = child.content_start, child.end
        else:
            length = data[position + 1]
            if length < 0x80:
                content_start = position + 2
            else:
                length, content_start = read_length(data, position + 1, parent_end)
            content_end = content_start + length
            if content_end > parent_end:
                raise BerError(
                    f"TLV at offset {position} announces {length} content octets "
                    f"but only {parent_end - content_start} remain"
                )

        if identifier & CONSTRUCTED and content_start < content_end:
            resume.append((content_end, parent_end))
            position = content_start
            parent_end = content_end
            depth += 1
        else:
            position = content_end


def decode_tree(data: bytes, limits: Limits = Limits()) -> TlvNode:
    """Decode `data`, one complete TLV, into a `TlvNode` tree.

    The tree is validated by `walk_tlv` first, so building it is bounded by
    the limits.

    Raises:
        LimitExceeded: depth or element count over `limits`.
        BerError: malformed or trailing data.
    """
    walk_tlv(data, limits)
    return _build_node(data, read_tlv(data, 0))


def _build_node(data: bytes, tlv: Tlv) -> TlvNode:
    if not tlv.constructed:
        return TlvNode(tlv, bytes(data[tlv.content_start : tlv.end]), ())
    children = []
    position = tlv.content_start
    while position < tlv.end:
        child = read_tlv(data, position, tlv.end)
        children.append(_build_node(data, child))
        position = child.end
    return TlvNode(tlv, b"", tuple(children))


# ---------------------------------------------------------------------------
# Framing a stream


class MessageFramer:
    """Split a byte stream into complete top-level LDAPMessage TLVs.

    The receive buffer contains at most one incomplete message, which is at most
    `max_message_size` content octets plus a header of MAX_MESSAGE_HEADER
    octets. A header that announces more is rejected before its content is
    buffered. After `feed` raises, the stream cannot be resynchronised: every
    later call raises the same error, and the caller closes the connection.
    """

    def __init__(self, max_message_size: int) -> None:
        if max_message_size < 0:
            raise ValueError(f"max_message_size must be >= 0 (got {max_message_size})")
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._expected: int | None = None  # total size of the buffered message, once known
        self._stream_offset = 0  # stream offset of the first buffered octet
        self._error: BerError | None = None

    @property
    def buffered(self) -> int:
        """Number of octets held for the incomplete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received octets and return every message they complete, in order.

        Raises:
            LimitExceeded: a header announces more than `max_message_size`.
            BerError: a malformed header (not a SEQUENCE, indefinite or
                overlong length), or an earlier failure on this stream.
        """
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except BerError as error:
            self._error = error
            self._buffer.clear()
            raise

    def _feed(self, data: bytes) -> list[bytes]:
        messages: list[bytes] = []
        if self._buffer:
            data = self._complete_buffered(data, messages)

        position = 0
        size = len(data)
        while position < size:
            total = self._parse_header(data, position, size)
            if total is None or position + total > size:
                self._buffer = bytearray(data[position:])
                self._expected = total
                self._stream_offset += position
                return messages
            messages.append(bytes(data[position : position + total]))
            position += total
        self._stream_offset += size
        return messages

    def _complete_buffered(self, data: bytes, messages: list[bytes]) -> bytes:
        """Move octets from `data` into the buffered message; return what is left."""
        if self._expected is None:
            # The header is incomplete: add just enough octets to finish it.
            take = MAX_MESSAGE_HEADER - len(self._buffer)
            head = bytes(self._buffer) + bytes(data[:take])
            self._expected = self._parse_header(head, 0, len(head), self._stream_offset)
            if self._expected is None:
                self._buffer += data
                return b""
        missing = self._expected - len(self._buffer)
        if len(data) < missing:
            self._buffer += data
            return b""
        self._buffer += data[:missing]
        messages.append(bytes(self._buffer))
        self._stream_offset += len(self._buffer)
        self._buffer = bytearray()
        self._expected = None
        return data[missing:]

    def _parse_header(self, data: bytes, offset: int, end: int, base: int | None = None) -> int | None:
        """Return the total size of the message whose header starts at `offset`.

        Returns None while the header is incomplete, but raises as soon as an
        octet already received is invalid.
        """
        stream_offset = (self._stream_offset if base is None else base) + offset
        if data[offset] != TAG_SEQUENCE:
            raise BerError(
                f"LDAPMessage at stream offset {stream_offset} starts with 0x{data[offset]:02x}, expected 0x30"
            )
        if offset + 1 >= end:
            return None
        first = data[offset + 1]
        if first < 0x80:
            length, header = first, 2
        else:
            if first == 0x80:
                raise BerError(
                    f"indefinite length at stream offset {stream_offset + 1}: LDAP allows definite lengths only"
                )
            count = first & 0x7F
            if count > MAX_LENGTH_OCTETS:
                raise BerError(
                    f"length at stream offset {stream_offset + 1} uses {count} octets; "
                    f"at most {MAX_LENGTH_OCTETS} are accepted"
                )
            if offset + 2 + count > end:
                return None
            length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
            header = 2 + count
        if length > self.max_message_size:
            raise LimitExceeded(
                f"LDAPMessage at stream offset {stream_offset} announces {length} octets; "
                f"the limit is {self.max_message_size}"
            )
        return header + length


# ---------------------------------------------------------------------------
# Encoding


def encode_length(length: int) -> bytes:
    """Encode a definite length in the minimal form."""
    if length < 0x80:
        return bytes((length,))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(octets) > MAX_LENGTH_OCTETS:
        raise ValueError(f"length {length} needs more than {MAX_LENGTH_OCTETS} length octets")
    return bytes((0x80 | len(octets),)) + octets


def encode_tlv(tag: int, content: bytes) -> bytes:
    """Encode one TLV with the identifier octet `tag` (0-255, low tag number form)."""
    if not 0 <= tag <= 0xFF or tag & HIGH_TAG_NUMBER == HIGH_TAG_NUMBER:
        raise ValueError(f"tag must be a single identifier octet below tag number 31 (got {tag:#x})")
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    return bytes((tag,)) + encode_length(length) + content


def _integer_content(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value  # ~value has the bit length of the sign-extended form
    return value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def encode_integer(value: int, tag: int = TAG_INTEGER) -> bytes:
    """Encode an INTEGER in the minimal two's-complement form."""
    return encode_tlv(tag, _integer_content(value))


def encode_enumerated(value: int, tag: int = TAG_ENUMERATED) -> bytes:
    """Encode an ENUMERATED value."""
    return encode_tlv(tag, _integer_content(value))


def encode_boolean(value: bool, tag: int = TAG_BOOLEAN) -> bytes:
    """Encode a BOOLEAN; TRUE is 0xFF as DER and LDAP expect."""
    return encode_tlv(tag, b"\xff" if value else b"\x00")


def encode_octet_string(value: bytes | str, tag: int = TAG_OCTET_STRING) -> bytes:
    """Encode an OCTET STRING; a `str` is encoded as UTF-8 (LDAPString)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return encode_tlv(tag, value)


def encode_null(tag: int = TAG_NULL) -> bytes:
    """Encode a NULL."""
    return encode_tlv(tag, b"")


def encode_sequence(*elements: bytes, tag: int = TAG_SEQUENCE) -> bytes:
    """Encode a SEQUENCE (or any constructed `tag`) from already encoded elements."""
    return encode_tlv(tag, b"".join(elements))
