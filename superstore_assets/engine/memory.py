"""What a process keeps between steps, and when it lets go: at millions of lines, memory.

Tables read back are kept by version (a version's bytes never change), so that the next step
taking the same input (orders_clean feeds nine assets, train_val_test six) does not read, hash
and decode it again; only tables small enough to keep, and only the newest few. A step that
handled a table too large to keep frees what it left behind before the next one starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections import OrderedDict
from typing import Any

TABLES_KEPT, ROWS_KEPT = 4, 250_000

_TABLES: OrderedDict[str, Any] = OrderedDict()
# Whether a table too large to keep went through this process since memory was last released.
_LARGE_TABLE_SEEN = False


def kept_table(version: str) -> Any | None:
    """The table of this version if this process kept it (shared: copy before changing it)."""
    if version not in _TABLES:
        return None
    _TABLES.move_to_end(version)
    return _TABLES[version]


def keep_table(version: str, table: Any) -> None:
    """Keep a table read back, dropping the oldest beyond TABLES_KEPT."""
    _TABLES[version] = table
    while len(_TABLES) > TABLES_KEPT:
        _TABLES.popitem(last=False)


def note_rows(rows: int) -> bool:
    """Note a table of `rows` lines going through this process; whether it is too large to keep."""
    global _LARGE_TABLE_SEEN
    if rows > ROWS_KEPT:
        _LARGE_TABLE_SEEN = True
        return True
    return False


def large_table_seen() -> bool:
    """Whether this process has handled a table of more than ROWS_KEPT lines."""
    return _LARGE_TABLE_SEEN


def release_memory() -> None:
    """Free what the last step left behind, if it handled a table of millions of rows: collect
    cycles, then hand the C heap's free pages back to the system (glibc's malloc_trim). Without
    it a step starts from the resident memory of the largest one before it."""
    global _LARGE_TABLE_SEEN
    if not _LARGE_TABLE_SEEN:
        return
    _LARGE_TABLE_SEEN = False
    gc.collect()
    # Not glibc (no malloc_trim): the memory is reused by the process, just not returned.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
