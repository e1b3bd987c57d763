"""One `superstore materialize` at a time per run record: the second waits for the first.

Under the local profile the record is SQLite files in the Dagster home, and a flock on the home
serialises; under the team profile it is a PostgreSQL database that several machines share, and
an advisory lock in that database does (see locked_instance).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from superstore_assets.engine.project import record_is_local

if TYPE_CHECKING:
    from dagster import DagsterInstance


@contextlib.contextmanager
def exclusive(path: Path, wait_message: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (an advisory flock, released by the kernel if the
    process dies, even by SIGKILL); if another process holds it, say so and wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if wait_message is not None:
                wait_message(holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


# The advisory lock `superstore materialize` holds in a PostgreSQL instance: two int4 keys, so
# that pg_locks shows them as classid/objid ("superstore", "materialize" in ASCII, truncated).
ADVISORY_KEYS = (0x73757065, 0x6D617465)


@contextlib.contextmanager
def exclusive_in_postgres(
    url: str, wait_message: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock for `superstore materialize`: one at a time per
    database, whichever machine runs it. The server drops it when the session ends (the process
    died, even by SIGKILL, or its machine went away); if another session holds it, say which
    (its application_name names host and pid) and wait."""
    import socket

    import psycopg2

    dsn = url.replace("postgresql+psycopg2://", "postgresql://", 1)  # SQLAlchemy's spelling
    connection = psycopg2.connect(
        dsn, application_name=f"superstore materialize pid {os.getpid()} on {socket.gethostname()}"
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", ADVISORY_KEYS)
            if not cursor.fetchone()[0]:
                if wait_message is not None:
                    wait_message(_advisory_holder(cursor))
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", ADVISORY_KEYS)
        yield
    finally:
        connection.close()  # ends the session, which releases the lock


def _advisory_holder(cursor) -> str:
    cursor.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s",
        ADVISORY_KEYS,
    )
    row = cursor.fetchone()
    return (row[0] or "another process") if row else "another process"


@contextlib.contextmanager
def locked_instance(
    home: Path, wait_message: Callable[[str], None] | None = None
) -> Iterator[DagsterInstance]:
    """The home's instance, opened and held under the lock one `superstore materialize` holds
    while it runs. A record in local SQLite files: a flock on the home, taken before opening,
    since a new home's files are created by whichever process opens the instance first. A
    record in PostgreSQL (the team profile: runs may start on several machines): an advisory
    lock in that database."""
    from superstore_assets.engine.eventlog import opened_instance

    if record_is_local(home):
        with exclusive(home / "materialize.lock", wait_message), opened_instance() as instance:
            yield instance
        return
    with opened_instance() as instance:
        url = getattr(instance.run_storage, "postgres_url", None)
        lock = (
            exclusive_in_postgres(url, wait_message)
            if url
            else exclusive(home / "materialize.lock", wait_message)
        )
        with lock:
            yield instance
