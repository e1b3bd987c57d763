"""Files: one way to write one whole or not at all, to open the storage root, and to name a
path inside it.

The root is a local path or an fsspec URL (UPath). Every write goes to a temporary file first and
is renamed into place, so a crash never leaves half a file; every name that becomes part of a
path is checked, so nothing from configuration or an asset key can point a write outside it.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # fsspec costs a tenth of a second to import: not on status's fast path
    from upath import UPath

# What a storage URL's protocol is when it names this machine's file system.
LOCAL_PROTOCOLS = ("", "file", "local")


def protocol(url: str) -> str:
    """The fsspec protocol of a storage URL ("s3" in s3://bucket/prefix); "" for a plain path."""
    return url.split("://", 1)[0] if "://" in url else ""


def is_local(url: str) -> bool:
    """Whether a storage URL names a folder on this machine, not an object store."""
    return protocol(url) in LOCAL_PROTOCOLS


def on_this_machine(path: UPath | Path) -> bool:
    """Whether a path (a Path, or a UPath) is a file on this machine, not an object."""
    return getattr(path, "protocol", "") in LOCAL_PROTOCOLS


def local_path(url: str) -> Path:
    """The folder a local storage URL names (file:///x and /x alike)."""
    return Path(url.split("://", 1)[1] if "://" in url else url)


# A temporary file's name says which process on which machine writes it: `.NAME.HOST-PID-
# UUID.tmp`. A process killed mid-write (SIGKILL, the OOM killer) cannot remove its own, and a
# later one can tell such a leftover from a file another process is still writing.
_TEMPORARY = re.compile(r"\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]{32}\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", os.uname().nodename) or "_"


def temporary_name(name: str) -> str:
    """A name beside `name` for this process to write to before it renames the file into place."""
    return f".{name}.{_host()}-{os.getpid()}-{uuid.uuid4().hex}.tmp"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_orphaned_temporaries(root: Path) -> int:
    """Remove the temporary files under a local storage folder that processes of this machine
    left when they died mid-write (their pid is no longer running); a file another machine or
    a running process writes is left alone. How many were removed."""
    removed = 0
    host = _host()
    for path in Path(root).rglob(".*.tmp"):
        found = _TEMPORARY.search(path.name)
        if found and found["host"] == host and not _alive(int(found["pid"])):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "wb", **options) -> Iterator[IO]:
    """A local file opened for writing at a temporary name beside `path`, renamed into place
    once the block ends without an error (and removed if it raises)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(temporary_name(path.name))
    try:
        with open(temporary, mode, **options) as handle:
            yield handle
        os.replace(temporary, path)  # atomic on one file system
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: UPath | Path, data: bytes) -> None:
    """Write bytes to `path` whole or not at all: a local file through atomic_writer; on an
    object store in one upload, which the store makes visible whole or not at all (an upload to
    a temporary key renamed would add a copy and a delete, and s3fs's rename is not atomic)."""
    if on_this_machine(path):  # a Path, or a UPath of a local file
        with atomic_writer(getattr(path, "path", path)) as handle:
            handle.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)  # makes the bucket if it is missing
    path.fs.pipe_file(path.path, data)


def copy_atomic(source: UPath | Path, target: UPath | Path) -> bool:
    """Copy a stored file to another name in the same storage, whole or not at all: a local
    file through write_atomic; on an object store the store copies it itself (one request,
    all or nothing there), instead of the bytes going down and up again. False if the source
    is missing."""
    try:
        if on_this_machine(source):
            write_atomic(target, source.read_bytes())
        else:
            source.fs.copy(source.path, target.path)
    except FileNotFoundError:
        return False
    return True


def remove(path: UPath | Path) -> None:
    """Remove a stored file if it is there (on an object store, in one request)."""
    if on_this_machine(path):
        path.unlink(missing_ok=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.fs.rm_file(path.path)


def size_of(path: UPath | Path) -> int | None:
    """The file's size in bytes (one request on an object store); None if it is missing."""
    try:
        if on_this_machine(path):
            return os.stat(getattr(path, "path", path)).st_size
        return path.fs.info(path.path)["size"]
    except FileNotFoundError:
        return None


# What may become part of a stored file's path: an asset name or a folder name (letters,
# digits, _ . -, not starting with a dot); a version is checked by version_store.py. Nothing from
# configuration or from an asset key can then point a write outside the storage folder.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class StoragePathError(ValueError):
    """A name that would put a stored file outside the storage folder."""


def safe_name(name: str, what: str = "name") -> str:
    """`name` if it is one plain path segment, else a StoragePathError that says why."""
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise StoragePathError(
            f"{what} {name!r} cannot be part of a stored file's path: use letters, digits, "
            "'_', '.' and '-' only, not starting with a dot"
        )
    return name


def confined(root: str, folder: str) -> str:
    """The folder inside the storage root; a folder given as a path elsewhere is refused."""
    parts = folder.strip("/").split("/")
    for part in parts:
        safe_name(part, "storage folder")
    return "/".join([root.rstrip("/"), *parts])


# Object stores whose fsspec file system keeps directory listings per process: a version that
# another process (a Dask worker, another machine) stored after a listing was cached would look
# absent, so listings are not cached there and every check asks the store.
_UNCACHED_LISTINGS = {"s3", "s3a"}


def open_root(url: str) -> UPath:
    """The storage folder at `url` (a path or an fsspec URL), every check asking the store."""
    from upath import UPath

    options = {"use_listings_cache": False} if protocol(url) in _UNCACHED_LISTINGS else {}
    return UPath(url, **options)
