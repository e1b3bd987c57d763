"""Content hashes: the identity of a file or a stored output, the same on any machine."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks so that memory stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def short(digest: str) -> str:
    """The first 12 hex digits of a hash, as shown to people."""
    return digest[:12]


def abbreviated(version: str | None) -> str:
    """A data version as a status names it: four hex digits and an ellipsis."""
    return f"{version[:4]}…" if version else "none"
