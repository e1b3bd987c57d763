"""The run record's event log: Dagster's own SQLite files, written through open connections.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, connects, commits and disposes
of the engine again for every event it stores, and a run of this graph stores about 250 of
them: on this machine that was a tenth of a cold run. This subclass changes that one thing. It
keeps an engine per database file open (the few most recently used), so that an event costs an
insert and a commit. The files, their schema, their place (`history/runs/` in the home) and
their durability settings are Dagster's, so the UI, the daemon and a plain Dagster read them
as before.

The project's dagster.yaml names this class without a folder: like Dagster's default, it
keeps the files under the instance's own home, which it learns when the instance registers
it. A home without that file (`dagster asset materialize` or `dg launch` with a new
DAGSTER_HOME) gets Dagster's default event log; the project's executor then calls
`keep_connections_open` on it, so that the run's own process writes through open connections
there too (the home is given the project's dagster.yaml for the processes after it:
engine/project.py).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import Field, StringSource
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from superstore_assets.engine.dagster_internals import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    ConfigurableClassData,
    SqliteEventLogStorage,
)

# Engines kept open at once: a run writes to its own file and the index; the web server reads
# many runs' files, and each open engine holds a file descriptor.
OPEN_ENGINES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with its connections kept open between events."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._pending_inst_data = inst_data
        if base_dir is not None:
            super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance: Any) -> None:
        if not hasattr(self, "_base_dir"):  # no folder given: the home's, where Dagster keeps it
            runs = os.path.join(instance.root_directory, "history", "runs")
            super().__init__(runs, self._pending_inst_data)
        super().register_instance(instance)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        self._engines[shard] = engine
        while len(self._engines) > OPEN_ENGINES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_engines()  # the run files are deleted: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


@contextmanager
def opened_instance() -> Iterator[Any]:
    """The home's Dagster instance (DAGSTER_HOME), as every command opens it. A record in
    PostgreSQL (the team profile) then keeps a connection per storage open while the instance
    is, as Dagster's web server does, instead of connecting for every query: about 700
    connections in one swap back, 5 ms each on loopback."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        hold_connections(instance)
        yield instance


def hold_connections(instance: Any) -> None:
    """For a record in PostgreSQL, keep a connection per storage open between queries (as
    Dagster's web server does), with no statement timeout, as Dagster's defaults; connections
    are renewed hourly. A record in SQLite files is left as it is."""
    if getattr(instance.run_storage, "postgres_url", None):
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=20)


def keep_connections_open(storage: Any) -> bool:
    """Make Dagster's own `SqliteEventLogStorage` (exactly that class, as a home without the
    project's dagster.yaml has) keep its connections open from now on, as this class does.
    The files and their schema are the same, so nothing else changes. Anything else (this
    class already, PostgreSQL, another subclass) is left alone. Whether it changed."""
    if type(storage) is not SqliteEventLogStorage:
        return False
    storage._engines = OrderedDict()
    storage.__class__ = PooledSqliteEventLogStorage
    return True
