"""Encryption at rest for OTP seeds (AES-256-GCM with a key file outside the database).

A copy of the database alone reveals no seed: the 32-octet key lives in its own
file, which `from_key_file` accepts only when no group or other has access.
Each sealed blob is

    version (1 octet, 0x01) | nonce (12 random octets) | ciphertext | GCM tag (16 octets)

and is authenticated together with associated data, which the store sets to the
user's GUID, so a seed copied into another user's row fails to decrypt.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_LENGTH = 32        # AES-256
NONCE_LENGTH = 12      # 96 bits, the GCM nonce size NIST SP 800-38D recommends
TAG_LENGTH = 16
VERSION_1 = b"\x01"
OVERHEAD = len(VERSION_1) + NONCE_LENGTH + TAG_LENGTH


class SecretBoxError(Exception):
    """A key file is unusable or a blob cannot be decrypted.

    Messages name paths, modes and lengths, never key or plaintext octets.
    """


class SecretBox:
    """Seal and open small secrets with one AES-256-GCM key.

    Random 96-bit nonces are safe for far more seals than a seed store makes:
    NIST SP 800-38D allows 2**32 messages per key with random nonces.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_LENGTH:
            raise SecretBoxError(f"secret box key must be {KEY_LENGTH} octets (got {len(key)})")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(key=<hidden>)"

    @classmethod
    def from_key_file(cls, path: str | os.PathLike[str]) -> SecretBox:
        """Load the key from `path`.

        Raises:
            SecretBoxError: the file is missing or unreadable, is not a regular
                file, grants any permission to group or other, or is not exactly
                32 octets long.
        """
        return cls(read_key_file(Path(path)))

    @staticmethod
    def generate_key_file(path: str | os.PathLike[str]) -> None:
        """Create `path` with a new random key, mode 0600, atomically.

        The key is written to a temporary file in the same directory and then
        hard-linked to `path`, so `path` either does not exist or contains a whole
        key, and an existing file is never overwritten.

        Raises:
            SecretBoxError: `path` already exists or cannot be created.
        """
        write_new_key_file(Path(path))

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypt `plaintext` bound to `associated_data`; return the versioned blob."""
        nonce = secrets.token_bytes(NONCE_LENGTH)
        ciphertext = self._aead.encrypt(nonce, plaintext, VERSION_1 + associated_data)
        return VERSION_1 + nonce + ciphertext

    def open(self, blob: bytes, associated_data: bytes) -> bytes:
        """Decrypt a blob made by `seal` with the same associated data.

        Raises:
            SecretBoxError: the blob is too short, has an unknown version, was
                sealed with another key or other associated data, or was altered.
        """
        if len(blob) < OVERHEAD:
            raise SecretBoxError(f"sealed blob is {len(blob)} octets, shorter than the minimum {OVERHEAD}")
        version = blob[:1]
        if version != VERSION_1:
            raise SecretBoxError(f"sealed blob has unknown version {version[0]}: upgrade FactorGate to read it")

        nonce = blob[1 : 1 + NONCE_LENGTH]
        try:
            return self._aead.decrypt(nonce, blob[1 + NONCE_LENGTH :], version + associated_data)
        except InvalidTag:
            raise SecretBoxError(
                "sealed blob failed authentication: wrong key file, a blob moved to "
                "another user, or a corrupted database"
            ) from None


def read_key_file(path: Path) -> bytes:
    """Read and check a key file; see `SecretBox.from_key_file`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SecretBoxError(f"cannot open key file {path}: {exc.strerror}") from None

    # Check the open descriptor, not the path, so the file checked is the file read.
    try:
        info = os.fstat(fd)
        check_key_file_mode(path, info)
        key = os.read(fd, KEY_LENGTH + 1)
    finally:
        os.close(fd)

    if len(key) != KEY_LENGTH:
        raise SecretBoxError(
            f"key file {path} must contain exactly {KEY_LENGTH} octets "
            f"(got {info.st_size}): create a new one with generate_key_file"
        )
    return key


def check_key_file_mode(path: Path, info: os.stat_result) -> None:
    """Raise SecretBoxError unless the key file is a regular file with no group/other access."""
    if not stat.S_ISREG(info.st_mode):
        raise SecretBoxError(f"key file {path} is not a regular file")

    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretBoxError(
            f"key file {path} has mode {mode:04o}, which gives group or other access: "
            f"run chmod 600 {path}"
        )


def write_new_key_file(path: Path) -> None:
    """Write a new random key to `path`; see `SecretBox.generate_key_file`."""
    if path.exists():
        raise SecretBoxError(f"key file {path} already exists: it is never overwritten")

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise SecretBoxError(f"cannot create key file in {path.parent}: {exc.strerror}") from None

    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_LENGTH))
            handle.flush()
            os.fsync(handle.fileno())
        link_without_overwrite(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)

    sync_directory(path.parent)


def link_without_overwrite(source: Path, target: Path) -> None:
    """Hard-link `source` to `target`; fail if `target` exists, even if created meanwhile."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise SecretBoxError(f"key file {target} already exists: it is never overwritten") from None
    except OSError as exc:
        raise SecretBoxError(f"cannot create key file {target}: {exc.strerror}") from None


def sync_directory(directory: Path) -> None:
    """Flush a directory entry to disk so a new file survives a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
