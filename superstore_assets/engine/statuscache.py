"""The last `superstore status` answer, kept while nothing it was worked out from has changed.

A status check reads four things: the package's code, the dataset file, the instance's record
and the stored outputs. Working it out means importing Dagster and opening the instance, which
costs more than a second and a half here; checking that none of the four changed costs a few
milliseconds of `stat` calls, in the way git and DVC trust a file whose size, times and inode
are unchanged instead of hashing it again. So the answer is kept, with a key made of:

- the hash of every source file of the package (the graph cache's key, manifest.py);
- the dataset's path, size, inode and modification and change times, and the settings that
  change how it is read;
- the size and modification time of every file of the instance's SQLite record (`history/`);
  any event written, a run's or an observation's, changes them;
- the size and times of every file under the storage folder, so that an output altered or
  deleted by hand misses the key too.

A second key leaves the dataset file out. When only the file changed (the dataset swapped:
everything else as the answer found it), the answer is the freshness rule's for a file that no
latest materialization was made from, worked out beside the kept answer with UNSEEN in the new
file's place; the new file's hash is put where UNSEEN's stands. If the new file is one the
record's latest outputs were made from (a swap back), or the one the kept answer was for, that
shortcut does not hold or is not needed: it is worked out afresh, or the kept answer stands.

An instance whose record is not in SQLite files under the home (Postgres, say), or storage
that is not a local folder, has no such key: every status is worked out afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from superstore_assets.engine.files import is_local, local_path, write_atomic
from superstore_assets.engine.hashing import abbreviated, sha256_file
from superstore_assets.engine.manifest import FOLDER, source_key
from superstore_assets.engine.project import record_is_local

ANSWER_FILE = "status.json"
# The dataset's version in the answer kept for a swap: one no record holds.
UNSEEN = "0" * 64
# Longer than any file system's timestamp tick (ext4 and tmpfs: the kernel's, a few ms).
_TICK_NS = 50_000_000


def _tree(root: Path) -> list[tuple]:
    """(relative path, size, mtime, ctime, inode) of every file under `root`, sorted."""
    found: list[tuple] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            else:
                stat = entry.stat(follow_symlinks=False)
                relative = os.path.relpath(entry.path, root)
                found.append(
                    (relative, stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
                )
    return sorted(found)


def state_key(
    home: Path,
    dataset: str,
    storage: str,
    settings: dict[str, str],
    settle: bool = False,
    others: tuple[str, ...] = (),
) -> tuple[str, str] | None:
    """Two hashes: of everything a status answer depends on, and of all that but the dataset
    file; None where that cannot be told from local files (a database server, or storage
    behind a URL).

    With `settle`, the key for keeping an answer, it is taken only once every file is older
    than the file system's clock tick (git's "racily clean" problem): a file written again
    within the tick of an earlier write could keep its size and times."""
    if not is_local(storage):
        return None
    if not record_is_local(home):
        return None
    dataset_state = file_state(dataset)
    if dataset_state is None:
        return None  # a missing or unreadable file: let the full check say what is wrong
    # Other sources (the orders to score): their state, or that they are missing.
    other_states = [file_state(path) or [path, "missing"] for path in others]
    for _ in range(3):
        record, stored = _tree(home / "history"), _tree(local_path(storage))
        newest = max((entry[3] for entry in record + stored), default=0)
        age = time.time_ns() - newest
        if not settle or age >= _TICK_NS:
            break
        time.sleep((_TICK_NS - age) / 1e9)
    state = {
        "code": source_key(),
        "dataset": dataset_state,
        **({"others": other_states} if others else {}),
        "settings": settings,
        "instance": (home / "dagster.yaml").read_text() if (home / "dagster.yaml").exists() else "",
        "record": record,
        "storage": [str(local_path(storage).resolve()), stored],
    }
    rest = {k: v for k, v in state.items() if k != "dataset"}
    return _hash(state), _hash(rest)


def _hash(state: dict) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def file_state(path: str) -> list | None:
    """A file's name, size, inode and times: what changes when it is written; None if absent."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [
        str(Path(path).resolve()),
        stat.st_size,
        stat.st_ino,
        stat.st_mtime_ns,
        stat.st_ctime_ns,
    ]


def _kept(home: Path) -> dict:
    try:
        return json.loads((home / FOLDER / ANSWER_FILE).read_text())
    except (OSError, ValueError):
        return {}


def recall(home: Path, keys: tuple[str, str] | None) -> dict | None:
    """The answer kept under `keys`, if there is one."""
    if keys is None:
        return None
    kept = _kept(home)
    return kept if kept.get("key") == keys[0] else None


def recall_swapped(home: Path, keys: tuple[str, str] | None, dataset: str) -> dict | None:
    """The answer for the dataset file `dataset` when it is all that changed since the kept
    answer (see the module's docstring): the kept answer's fields, with the file's `version`
    and the one the answer was kept for as `previous`. None where the shortcut does not hold."""
    if keys is None:
        return None
    kept = _kept(home)
    swapped = kept.get("swapped")
    if kept.get("rest") != keys[1] or swapped is None:
        return None
    version = sha256_file(dataset)
    if version == kept["version"]:
        text = kept["text"]
    elif version in swapped["made_from"]:
        return None
    else:
        unseen, new = f"→{abbreviated(UNSEEN)})", f"→{abbreviated(version)})"
        text = swapped["text"].replace(unseen, new)
    return {**kept, "text": text, "version": version, "previous": kept["version"]}


def keep(home: Path, keys: tuple[str, str] | None, answer: dict) -> None:
    """Keep `answer` under `keys` (written atomically; one answer per home)."""
    if keys is None:
        return
    record = {"key": keys[0], "rest": keys[1], **answer}
    write_atomic(home / FOLDER / ANSWER_FILE, json.dumps(record).encode())


def forget(home: Path) -> None:
    (home / FOLDER / ANSWER_FILE).unlink(missing_ok=True)
