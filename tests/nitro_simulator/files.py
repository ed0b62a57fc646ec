"""The ``systemfile`` resource: files on the appliance's disk, base64 on the wire.

Documented: add with base64 ``filecontent`` and ``fileencoding`` BASE64, at
most 2 MB; no update (a change is delete + add); GET and DELETE take
``filename`` and ``filelocation`` through ``args``.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import time
from typing import Mapping

from . import errors
from .catalog import SYSTEM_FILE

MAX_FILE_BYTES = 2 * 1024 * 1024

# Directories that exist on a fresh appliance, so listing them never fails.
DEFAULT_DIRECTORIES = (
    "/nsconfig",
    "/nsconfig/ssl",
    "/nsconfig/loginschema",
    "/var/tmp",
    "/var/netscaler/logon/themes",
    "/var/netscaler/logon/LogonPoint",
)


def _timestamp() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())


def normalise_location(location: str) -> str:
    if not location.startswith("/"):
        raise errors.invalid_value("filelocation", location)
    normalised = posixpath.normpath(location)
    return "/" if normalised == "/" else normalised.rstrip("/")


class FileStore:
    """Files keyed by their full path. Callers hold the config lock."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, str]] = {}

    def add(self, payload: Mapping[str, object]) -> None:
        """Store a file from an add payload.

        Raises:
            NitroError: 278 unknown attribute, 1095 missing argument, 1097 bad
                encoding or content, 283 larger than 2 MB, 273 file exists.
        """
        for name in payload:
            attr = SYSTEM_FILE.attr(name)
            if attr is None or attr.readonly:
                raise errors.invalid_argument(name)
        for name in SYSTEM_FILE.required:
            if payload.get(name) in (None, ""):
                raise errors.missing_argument(name)

        encoding = payload.get("fileencoding", "BASE64")
        if encoding != "BASE64":
            raise errors.invalid_value("fileencoding", encoding)
        filename = str(payload["filename"])
        if "/" in filename:
            raise errors.invalid_value("filename", filename)
        location = normalise_location(str(payload["filelocation"]))
        content = self._decode(payload["filecontent"])

        path = posixpath.join(location, filename)
        if path in self.files:
            raise errors.already_exists("filename", filename)
        self.store(location, filename, content)

    def store(self, location: str, filename: str, content: bytes) -> None:
        self.files[posixpath.join(location, filename)] = {
            "filename": filename,
            "filelocation": location,
            "filecontent": base64.b64encode(content).decode("ascii"),
            "filemodifiedtime": _timestamp(),
        }

    @staticmethod
    def _decode(content: object) -> bytes:
        if not isinstance(content, str):
            raise errors.invalid_value("filecontent", "<not a string>")
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise errors.invalid_value("filecontent", "<not base64>") from None
        if len(data) > MAX_FILE_BYTES:
            raise errors.NitroError(errors.FILE_TOO_LARGE, f"filecontent, {len(data)} bytes")
        return data

    def get(self, filename: str, location: str) -> dict[str, object]:
        entry = self._lookup(filename, location)
        return {
            "filename": entry["filename"],
            "filelocation": entry["filelocation"],
            "filecontent": entry["filecontent"],
            "fileencoding": "BASE64",
            "filesize": str(len(base64.b64decode(entry["filecontent"]))),
            "filemodifiedtime": entry["filemodifiedtime"],
            "fileaccesstime": entry["filemodifiedtime"],
        }

    def delete(self, filename: str, location: str) -> None:
        entry = self._lookup(filename, location)
        del self.files[posixpath.join(entry["filelocation"], entry["filename"])]

    def delete_tree(self, directory: str) -> None:
        prefix = directory.rstrip("/") + "/"
        for path in [path for path in self.files if path.startswith(prefix)]:
            del self.files[path]

    def list(self, location: str) -> list[dict[str, object]]:
        """List files and subdirectories directly inside ``location``.

        Raises:
            NitroError: 258 when the directory does not exist.
        """
        directory = normalise_location(location)
        if not self._directory_exists(directory):
            raise errors.not_found("filelocation", directory)
        entries: list[dict[str, object]] = []
        subdirectories: set[str] = set()
        prefix = directory.rstrip("/") + "/"
        for path, entry in sorted(self.files.items()):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            if "/" in rest:
                subdirectories.add(rest.split("/", 1)[0])
                continue
            entries.append(
                {
                    "filename": entry["filename"],
                    "filelocation": directory,
                    "filesize": str(len(base64.b64decode(entry["filecontent"]))),
                    "filemodifiedtime": entry["filemodifiedtime"],
                    "fileaccesstime": entry["filemodifiedtime"],
                }
            )
        for default in DEFAULT_DIRECTORIES:
            if default.startswith(prefix) and "/" not in default[len(prefix):]:
                subdirectories.add(default[len(prefix):])
        for name in sorted(subdirectories):
            entries.append({"filename": name, "filelocation": directory, "filemode": ["DIRECTORY"]})
        return entries

    def _directory_exists(self, directory: str) -> bool:
        prefix = directory.rstrip("/") + "/"
        if any(default == directory or default.startswith(prefix) for default in DEFAULT_DIRECTORIES):
            return True
        return any(path.startswith(prefix) for path in self.files)

    def _lookup(self, filename: str, location: str) -> dict[str, str]:
        path = posixpath.join(normalise_location(location), filename)
        entry = self.files.get(path)
        if entry is None:
            raise errors.not_found("filename", filename)
        return entry
