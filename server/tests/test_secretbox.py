"""Tests for factorgate.factors.secretbox: key files and sealed blobs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from factorgate.factors.secretbox import KEY_LENGTH, SecretBox, SecretBoxError

GUID_A = b"6f1c0f5e-1d2b-4c3a-9e8f-0a1b2c3d4e5f"
GUID_B = b"0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"
SEED = b"12345678901234567890"


@pytest.fixture()
def box() -> SecretBox:
    return SecretBox(bytes(range(KEY_LENGTH)))


def write_key(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(content)
    path.chmod(mode)
    return path


def test_seal_open_round_trip(box: SecretBox) -> None:
    assert box.open(box.seal(SEED, GUID_A), GUID_A) == SEED


def test_seal_layout_version_nonce_tag(box: SecretBox) -> None:
    blob = box.seal(SEED, GUID_A)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + len(SEED) + 16


def test_seal_uses_fresh_nonce(box: SecretBox) -> None:
    assert box.seal(SEED, GUID_A) != box.seal(SEED, GUID_A)


def test_open_other_guid_fails(box: SecretBox) -> None:
    blob = box.seal(SEED, GUID_A)
    with pytest.raises(SecretBoxError, match="failed authentication"):
        box.open(blob, GUID_B)


def test_open_other_key_fails(box: SecretBox) -> None:
    blob = box.seal(SEED, GUID_A)
    with pytest.raises(SecretBoxError, match="failed authentication"):
        SecretBox(bytes(KEY_LENGTH)).open(blob, GUID_A)


def test_open_tampered_blob_fails(box: SecretBox) -> None:
    blob = bytearray(box.seal(SEED, GUID_A))
    blob[20] ^= 0x01
    with pytest.raises(SecretBoxError, match="failed authentication"):
        box.open(bytes(blob), GUID_A)


def test_open_unknown_version_fails(box: SecretBox) -> None:
    blob = b"\x02" + box.seal(SEED, GUID_A)[1:]
    with pytest.raises(SecretBoxError, match="unknown version 2"):
        box.open(blob, GUID_A)


def test_open_short_blob_fails(box: SecretBox) -> None:
    with pytest.raises(SecretBoxError, match="shorter than the minimum 29"):
        box.open(b"\x01" + bytes(10), GUID_A)


def test_error_never_contains_plaintext(box: SecretBox) -> None:
    blob = box.seal(SEED, GUID_A)
    with pytest.raises(SecretBoxError) as caught:
        box.open(blob, GUID_B)
    assert SEED.decode() not in str(caught.value)


def test_repr_hides_key(box: SecretBox) -> None:
    assert "hidden" in repr(box)


def test_constructor_rejects_short_key() -> None:
    with pytest.raises(SecretBoxError, match="must be 32 octets"):
        SecretBox(bytes(16))


def test_generate_key_file_mode_and_length(tmp_path: Path) -> None:
    path = tmp_path / "seed.key"
    SecretBox.generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == KEY_LENGTH


def test_generate_key_file_ignores_wide_umask(tmp_path: Path) -> None:
    path = tmp_path / "seed.key"
    previous = os.umask(0)
    try:
        SecretBox.generate_key_file(path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_generate_key_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "seed.key"
    SecretBox.generate_key_file(path)
    original = path.read_bytes()
    with pytest.raises(SecretBoxError, match="already exists"):
        SecretBox.generate_key_file(path)
    assert path.read_bytes() == original


def test_generate_key_file_leaves_no_temporary(tmp_path: Path) -> None:
    SecretBox.generate_key_file(tmp_path / "seed.key")
    assert [entry.name for entry in tmp_path.iterdir()] == ["seed.key"]


def test_generated_key_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "seed.key"
    SecretBox.generate_key_file(path)
    box = SecretBox.from_key_file(path)
    assert box.open(box.seal(SEED, GUID_A), GUID_A) == SEED


def test_from_key_file_same_key_opens(tmp_path: Path) -> None:
    path = write_key(tmp_path / "seed.key", bytes(range(KEY_LENGTH)))
    blob = SecretBox(bytes(range(KEY_LENGTH))).seal(SEED, GUID_A)
    assert SecretBox.from_key_file(str(path)).open(blob, GUID_A) == SEED


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_from_key_file_rejects_group_other_access(tmp_path: Path, mode: int) -> None:
    path = write_key(tmp_path / "seed.key", bytes(KEY_LENGTH), mode)
    with pytest.raises(SecretBoxError) as caught:
        SecretBox.from_key_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"{mode:04o}" in message
    assert "chmod 600" in message


def test_from_key_file_accepts_owner_read_only(tmp_path: Path) -> None:
    path = write_key(tmp_path / "seed.key", bytes(KEY_LENGTH), 0o400)
    assert isinstance(SecretBox.from_key_file(path), SecretBox)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_from_key_file_rejects_wrong_length(tmp_path: Path, length: int) -> None:
    path = write_key(tmp_path / "seed.key", bytes(length))
    with pytest.raises(SecretBoxError, match=f"exactly 32 octets \\(got {length}\\)"):
        SecretBox.from_key_file(path)


def test_from_key_file_missing_names_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(SecretBoxError, match="absent.key"):
        SecretBox.from_key_file(path)


def test_from_key_file_rejects_directory(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    with pytest.raises(SecretBoxError, match="not a regular file"):
        SecretBox.from_key_file(directory)
