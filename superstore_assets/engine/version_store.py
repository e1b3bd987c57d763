"""One kind of output's folder: every version ever stored, named by its SHA-256, and a copy of
the current one beside them.

`versions/<asset>/<sha256>.<ext>` keeps every version, so that an earlier one is still there when
a swapped-back dataset asks for it again; `<asset>.<ext>` is the copy people open. A version is
read only after checking that its bytes still hash to its name, so a file changed by hand is
never loaded.

Asking whether a stored file is intact (freshness asks it of every output, and a run asks it of
all of them once more when it keeps its status) is answered without reading the file back when
this process wrote or checked it and it has not moved since: by its stat on this machine, by
its ETag on an object store (`_KNOWN`). Loading a version always reads and hashes it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from upath import UPath

from superstore_assets.engine.codecs import EXTENSIONS, StoredFileError
from superstore_assets.engine.files import (
    StoragePathError,
    on_this_machine,
    open_root,
    safe_name,
    write_atomic,
)
from superstore_assets.engine.hashing import sha256_bytes

# A stored version's name: the SHA-256 of its bytes, and nothing else can become part of a path.
_VERSION = re.compile(r"[0-9a-f]{64}")

# Each kind of output has its IO manager (by resource key) and its folder under the root.
STORAGE_FOLDERS: dict[str, tuple[str, str]] = {
    "io_manager": ("table", "tables"),
    "json_io_manager": ("json", "metrics"),
    "figure_io_manager": ("figure", "figures"),
    "model_io_manager": ("model", "models"),
    "champion_io_manager": ("skops", "models"),
    "report_io_manager": ("html", "report"),
}


VERSIONS = "versions"

# What a stored version's bytes are found to be (`VersionStore.state`).
INTACT, ALTERED, GONE = "intact", "altered", "gone"

# Files this process wrote or hashed: what says their bytes have not changed since, and the
# SHA-256 of those bytes.
# - On this machine: the path and its stat then (size, nanosecond mtime, inode). A write replaces
#   a file by a rename, so it gets a new inode.
# - On an object store: the object's size and ETag, which the store derives from the bytes (the
#   MD5 of a plain upload) and keeps on a server-side copy. One request answers it, where reading
#   the object back takes two and its bytes; and the current copy, made on the store from a
#   version, is vouched for by the version's check. An object replaced by hand gets a new ETag.
_KNOWN: dict[tuple, str] = {}


def _identity(path: UPath | Path) -> tuple | None:
    """What identifies the file's bytes as they stand now (see _KNOWN); None if the file is
    missing, or the store gives nothing to go by."""
    if on_this_machine(path):
        try:
            found = os.stat(getattr(path, "path", path))
        except OSError:
            return None
        return str(path), found.st_size, found.st_mtime_ns, found.st_ino
    try:
        info = path.fs.info(path.path)
    except FileNotFoundError:
        return None
    etag = info.get("ETag") or info.get("etag")
    return ("object", info.get("size"), etag) if etag else None


def _read(path: UPath | Path) -> bytes | None:
    """The file's bytes (on an object store, in one request); None if it is missing."""
    try:
        if on_this_machine(path):
            return path.read_bytes()
        return path.fs.cat_file(path.path)
    except FileNotFoundError:
        return None


def _hashed(path: UPath | Path, before: tuple | None) -> tuple[str | None, bytes | None]:
    """The SHA-256 of the file's bytes, and the bytes; (None, None) if it is missing. The hash
    is noted when the file's identity was the same before (`before`) and after the read."""
    data = _read(path)
    if data is None:
        return None, None
    sha256 = sha256_bytes(data)
    if before is not None and _identity(path) == before:
        _KNOWN[before] = sha256
    return sha256, data


def remember(path: UPath | Path, sha256: str) -> None:
    """Note that the local file at `path`, as it stands now, holds bytes with this hash (on an
    object store, a check notes it: the ETag is not known without asking)."""
    if on_this_machine(path):
        identity = _identity(path)
        if identity is not None:
            _KNOWN[identity] = sha256


def write_noted(path: UPath | Path, data: bytes, sha256: str) -> None:
    """Write a stored file whole (files.write_atomic) and note the hash of what it holds."""
    write_atomic(path, data)
    remember(path, sha256)


class VersionStore:
    """One kind's folder: every version under versions/<asset>/, the current one beside it."""

    def __init__(self, base_path: str, kind: str):
        self.base = open_root(base_path)
        self.kind = kind
        self.extension = EXTENSIONS[kind]

    def versions_folder(self, name: str) -> UPath:
        return self.base / VERSIONS / safe_name(name, "asset name")

    def version_path(self, name: str, version: str, extension: str | None = None) -> UPath:
        if not _VERSION.fullmatch(version):
            raise StoragePathError(f"{version!r} is not a SHA-256, so not a stored version")
        return self.versions_folder(name) / f"{version}{extension or self.extension}"

    def current_path(self, name: str, extension: str | None = None) -> UPath:
        return self.base / f"{safe_name(name, 'asset name')}{extension or self.extension}"

    def versions(self, name: str) -> list[str]:
        """The versions kept for an asset."""
        folder = self.versions_folder(name)
        if not folder.exists():
            return []
        return sorted(
            p.name.removesuffix(self.extension) for p in folder.glob(f"*{self.extension}")
        )

    def verified(self, name: str, version: str) -> bytes:
        """The bytes of a stored version, after checking that they still hash to it."""
        path = self.version_path(name, version)
        actual, data = _hashed(path, _identity(path))
        if data is None:
            raise StoredFileError(
                f"{path} is missing: version {version[:12]}… of {name} was deleted. Run "
                "`superstore materialize --stale` to rebuild it."
            )
        if actual != version:
            raise StoredFileError(
                f"refusing to load {path}: its SHA-256 is {actual[:12]}…, but the instance "
                f"recorded {version[:12]}… for {name}. The file was changed by hand or by "
                "another program; run `superstore materialize --stale` to rebuild it."
            )
        return data

    def state(self, name: str, version: str) -> str:
        """Whether the stored version is INTACT (its bytes still hash to its name), ALTERED or
        GONE; from what this process noted when the file has not moved since, else read."""
        path = self.version_path(name, version)
        identity = _identity(path)
        if identity is not None and _KNOWN.get(identity) == version:
            return INTACT
        actual, _ = _hashed(path, identity)
        return GONE if actual is None else INTACT if actual == version else ALTERED

    def is_intact(self, name: str, version: str) -> bool:
        """Whether the stored version's bytes still hash to its name."""
        return self.state(name, version) == INTACT

    def current_is_intact(self, name: str, version: str) -> bool:
        """Whether the copy people open still holds the recorded version."""
        path = self.current_path(name)
        identity = _identity(path)
        if identity is not None and _KNOWN.get(identity) == version:
            return True
        return _hashed(path, identity)[0] == version
