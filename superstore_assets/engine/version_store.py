"""One kind of output's folder: every version ever stored, named by its SHA-256, and a copy of
the current one beside them.

`versions/<asset>/<sha256>.<ext>` keeps every version, so that an earlier one is still there when
a swapped-back dataset asks for it again; `<asset>.<ext>` is the copy people open. A version is
read only after checking that its bytes still hash to its name, so a file changed by hand is
never loaded.

Asking whether a stored file is intact (freshness asks it of every output, and a run asks it of
all of them once more when it keeps its status) is answered from the file's stat when this
process wrote or checked the file and its stat has not moved since: the hash is known from the
bytes it was computed from, and the file is not read back. Loading a version always reads and
hashes it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from upath import UPath

from superstore_assets.engine.codecs import EXTENSIONS, StoredFileError
from superstore_assets.engine.files import (
    LOCAL_PROTOCOLS,
    StoragePathError,
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

# Local files this process wrote or hashed: their stat then (size, nanosecond mtime, inode) and
# the SHA-256 of their bytes. A write replaces a file by a rename, so it gets a new inode.
_KNOWN: dict[str, tuple[tuple[int, int, int], str]] = {}


def _stat_key(path: UPath | Path) -> tuple[int, int, int] | None:
    if getattr(path, "protocol", "") not in LOCAL_PROTOCOLS:
        return None  # an object store's listing has no nanosecond times: always read
    try:
        found = os.stat(getattr(path, "path", path))
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns, found.st_ino


def remember(path: UPath | Path, sha256: str) -> None:
    """Note that the file at `path`, as it stands now, holds bytes with this hash."""
    key = _stat_key(path)
    if key is not None:
        _KNOWN[str(path)] = (key, sha256)


def known_sha256(path: UPath | Path) -> str | None:
    """The hash noted for the file, if its stat is the one it had then."""
    entry = _KNOWN.get(str(path))
    if entry is None or entry[0] != _stat_key(path):
        return None
    return entry[1]


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
        if not path.exists():
            raise StoredFileError(
                f"{path} is missing: version {version[:12]}… of {name} was deleted. Run "
                "`superstore materialize --stale` to rebuild it."
            )
        data = path.read_bytes()
        actual = sha256_bytes(data)
        if actual != version:
            raise StoredFileError(
                f"refusing to load {path}: its SHA-256 is {actual[:12]}…, but the instance "
                f"recorded {version[:12]}… for {name}. The file was changed by hand or by "
                "another program; run `superstore materialize --stale` to rebuild it."
            )
        remember(path, version)
        return data

    def is_intact(self, name: str, version: str) -> bool:
        """Whether the stored version's bytes still hash to its name."""
        if known_sha256(self.version_path(name, version)) == version:
            return True
        try:
            self.verified(name, version)
        except StoredFileError:
            return False
        return True

    def current_is_intact(self, name: str, version: str) -> bool:
        """Whether the copy people open still holds the recorded version."""
        path = self.current_path(name)
        if known_sha256(path) == version:
            return True
        if not path.exists() or sha256_bytes(path.read_bytes()) != version:
            return False
        remember(path, version)
        return True
