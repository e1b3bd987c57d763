"""Where outputs live: every table, metric, figure, model and the report, addressed by content.

Each kind of output has a folder under the storage root (a local path or an fsspec URL, through
UPath). Inside it, `versions/<asset>/<sha256>.<ext>` keeps every version ever stored, named by
the SHA-256 of its bytes, which is also the asset's data version; `<asset>.<ext>` beside it is a
copy of the current version, for people to open. Inputs are loaded from the version the
instance recorded, after checking its hash, so a file changed by hand is never loaded; and an
earlier version is still there when a swapped-back dataset asks for it again.
Each write goes to a temporary file first and is renamed into place, so a crash never leaves
half a file.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import functools
import gc
import io
import json
import logging
import os
import pickle
import re
import shutil
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from dagster import (
    AssetKey,
    ConfigurableIOManager,
    DagsterInvariantViolationError,
    InputContext,
    MetadataValue,
    OutputContext,
)
from upath import UPath

from superstore_assets.versioning import sha256_bytes

log = logging.getLogger(__name__)

PLOTLYJS = "plotly.min.js"
DATASET_SHA256 = "dataset_sha256"


class StoredFileError(RuntimeError):
    """A stored output does not match what the instance recorded for it."""


def write_atomic(path: UPath, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_bytes(data)
        if temporary.protocol in ("", "file", "local"):
            os.replace(temporary.path, path.path)  # atomic on one file system
        else:
            temporary.rename(path)  # object stores: the upload itself is all or nothing
    finally:
        if temporary.exists():
            temporary.unlink()


# The dataset hash of each output stored by this process, by run: the in-process executor
# stores an asset's inputs before the asset, so lineage rarely needs the instance.
_LINEAGE: dict[tuple[str, AssetKey], str] = {}
# Likewise the version of each output stored by this process, by run: an input made earlier in
# the same run loads without asking the instance (which answers the same, slower).
_STORED: dict[tuple[str, AssetKey], str] = {}
# Tables this process has read back, by version, so that the next step taking the same input
# (orders_clean feeds nine assets, train_val_test six) does not read, hash and decode it again.
# A version's bytes never change, and every step gets a copy of its own; only tables small
# enough to keep (at scale they are read from storage each time), and only the newest few.
_TABLES: OrderedDict[str, Any] = OrderedDict()
TABLES_KEPT, ROWS_KEPT = 4, 250_000
# Whether a table too large to keep went through this process since memory was last released.
_LARGE_TABLE_SEEN = False


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


def large_table_seen() -> bool:
    """Whether this process has handled a table of more than ROWS_KEPT lines."""
    return _LARGE_TABLE_SEEN


def _note_rows(rows: int) -> None:
    global _LARGE_TABLE_SEEN
    if rows > ROWS_KEPT:
        _LARGE_TABLE_SEEN = True


def dataset_lineage(context: OutputContext) -> dict[str, str]:
    """The dataset hash this output descends from: the one its inputs record.

    orders_raw records the hash of the file it read; every asset below takes it from the latest
    materializations of its inputs (which are what it loaded). Inputs that disagree are reported
    as "mixed: …", which means some of them are stale.
    """
    own = (context.output_metadata or {}).get(DATASET_SHA256)
    if own is not None:
        _LINEAGE[(context.run_id, context.asset_key)] = getattr(own, "value", own)
        return {}
    hashes = set()
    for dep in context.asset_spec.deps:
        value = _LINEAGE.get((context.run_id, dep.asset_key))
        if value is None:
            value = _recorded_lineage(context.step_context.instance, dep.asset_key)
        if value is not None:
            hashes.add(value)
    if not hashes:
        return {}
    lineage = hashes.pop() if len(hashes) == 1 else "mixed: " + ", ".join(sorted(hashes))
    _LINEAGE[(context.run_id, context.asset_key)] = lineage
    return {DATASET_SHA256: lineage}


def _recorded_lineage(instance, key: AssetKey) -> str | None:
    """The dataset hash recorded for `key`: on its latest materialization, or, for the source,
    its latest observation's version."""
    event = instance.get_latest_materialization_event(key)
    if event is not None and event.asset_materialization is not None:
        value = event.asset_materialization.metadata.get(DATASET_SHA256)
        return None if value is None else value.value
    from superstore_assets.observation import observed_version

    return observed_version(instance, key)


StorageKind = Literal["table", "json", "figure", "model", "html"]
# Each kind of output has its IO manager (by resource key) and its folder under the root.
STORAGE_FOLDERS: dict[str, tuple[str, str]] = {
    "io_manager": ("table", "tables"),
    "json_io_manager": ("json", "metrics"),
    "figure_io_manager": ("figure", "figures"),
    "model_io_manager": ("model", "models"),
    "report_io_manager": ("html", "report"),
}
# The file extension of each kind's content; a figure also keeps an HTML page and a PNG preview.
EXTENSIONS: dict[str, str] = {
    "table": ".parquet",
    "json": ".json",
    "figure": ".json",
    "model": ".pkl",
    "html": ".html",
}
VERSIONS = "versions"


def encode(kind: str, value: Any) -> bytes:
    """The bytes stored for a value: Parquet, sorted JSON, plotly JSON, a pickle or UTF-8.

    The same value gives the same bytes on any machine with the locked dependencies, so the
    bytes' SHA-256 can serve as the data version.
    """
    if kind == "table":
        return encode_table(value)
    if kind == "json":
        return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    if kind == "figure":
        return value.to_json(pretty=False).encode()
    if kind == "model":
        return pickle.dumps(value, protocol=5)
    if kind == "html":
        return value.encode()
    raise ValueError(f"unknown storage kind {kind!r}")


# Tables are converted to and from Arrow this many rows at a time, so that a table of millions of
# rows is never held twice (as pandas and as Arrow). Each slice is one Parquet row group, as
# pandas writes a table of up to 1,048,576 rows: a smaller table gives the same bytes as
# `DataFrame.to_parquet`.
TABLE_SLICE_ROWS = 1_048_576


def encode_table(df: Any) -> bytes:
    """The table as Parquet (pyarrow, snappy, no index), converted one slice at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    if len(df) <= TABLE_SLICE_ROWS:
        df.to_parquet(buffer, index=False, engine="pyarrow")
        return buffer.getvalue()
    first = pa.Table.from_pandas(df.iloc[:TABLE_SLICE_ROWS], preserve_index=False)
    with pq.ParquetWriter(buffer, first.schema, compression="snappy") as writer:
        writer.write_table(first, row_group_size=TABLE_SLICE_ROWS)
        del first
        for start in range(TABLE_SLICE_ROWS, len(df), TABLE_SLICE_ROWS):
            part = df.iloc[start : start + TABLE_SLICE_ROWS]
            table = pa.Table.from_pandas(part, schema=writer.schema, preserve_index=False)
            writer.write_table(table, row_group_size=TABLE_SLICE_ROWS)
    return buffer.getvalue()


def decode_table(data: bytes, columns: list[str] | None = None) -> Any:
    """The table back from Parquet, or only `columns` of it, in that order; past one row group,
    converted one column at a time."""
    import pandas as pd  # here, not at module load: `superstore status` never needs it
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(pa.BufferReader(data))
    names = source.schema_arrow.names
    _check_columns(names, columns)
    if source.num_row_groups <= 1:
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow", columns=columns)
    # One column at a time, each converted from Arrow and the Arrow copy let go, and the columns
    # joined as they are (copy=False: pandas would otherwise gather them into one block per
    # dtype, a second copy of the table): the table is never held twice.
    wanted = names if columns is None else columns
    joined = {name: source.read(columns=[name]).to_pandas()[name] for name in wanted}
    return pd.DataFrame(joined, columns=wanted, copy=False)


def _check_columns(names: list[str], columns: list[str] | None) -> None:
    absent = [c for c in columns or [] if c not in names]
    if absent:
        listed = ", ".join(repr(c) for c in absent)
        raise StoredFileError(f"the stored table has no column {listed}, which the step reads")


def project(df: Any, columns: list[str] | None) -> Any:
    """The frame, or only `columns` of it, in that order."""
    if columns is None:
        return df
    _check_columns(list(df.columns), columns)
    return df[columns]


def decode(kind: str, data: bytes) -> Any:
    """The value back from its bytes (a model only after its hash was checked: see load)."""
    if kind == "table":
        return decode_table(data)
    if kind == "json":
        return json.loads(data)
    if kind == "figure":
        import plotly.io

        return plotly.io.from_json(data.decode())
    if kind == "model":
        return pickle.loads(data)
    if kind == "html":
        return data.decode()
    raise ValueError(f"unknown storage kind {kind!r}")


def describe(kind: str, value: Any) -> dict[str, Any]:
    """Metadata about the value itself: the rows and columns of a table."""
    if kind == "table":
        return {
            "stored_rows": MetadataValue.int(len(value)),
            "stored_columns": MetadataValue.int(len(value.columns)),
        }
    return {}


# Op tag of a step that takes its inputs as `Pending` and loads only those it uses: a
# versioned asset that restores an earlier output loads none.
LAZY_INPUTS_TAG = "superstore/lazy_inputs"


class Pending:
    """An input not loaded yet: `load()` reads, checks the hash and decodes it, once."""

    def __init__(self, load: Callable[[], Any]):
        self._load = load

    def load(self) -> Any:
        if self._load is not None:
            self.value, self._load = self._load(), None
        return self.value

    def release(self) -> None:
        """Let go of the loaded value: the step is done with it. Loading again is an error."""

        def released() -> Any:
            raise RuntimeError("this input was released when its step no longer needed it")

        self.value, self._load = None, released


@dataclass
class Stored:
    """What a versioned asset hands its IO manager: the value and its encoded bytes, or, when an
    earlier run's output is reused, only the version to restore."""

    version: str
    value: Any = None
    data: bytes | None = None
    reused_from_run: str | None = None

    @classmethod
    def of(cls, kind: str, value: Any) -> Stored:
        data = encode(kind, value)
        return cls(version=sha256_bytes(data), value=value, data=data)


# What may become part of a stored file's path: an asset name or a folder name (letters,
# digits, _ . -, not starting with a dot) and a version (a SHA-256). Nothing from
# configuration or from an asset key can then point a write outside the storage folder.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_VERSION = re.compile(r"[0-9a-f]{64}")


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
    protocol = url.split("://", 1)[0] if "://" in url else ""
    options = {"use_listings_cache": False} if protocol in _UNCACHED_LISTINGS else {}
    return UPath(url, **options)


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
        return data

    def is_intact(self, name: str, version: str) -> bool:
        try:
            self.verified(name, version)
        except StoredFileError:
            return False
        return True

    def current_is_intact(self, name: str, version: str) -> bool:
        """Whether the copy people open still holds the recorded version."""
        path = self.current_path(name)
        return path.exists() and sha256_bytes(path.read_bytes()) == version


class StorageIOManager(ConfigurableIOManager):
    """One kind of output in one folder of the storage root (a path or an fsspec URL), stored
    by content."""

    root: str
    folder: str
    kind: StorageKind = "table"
    previews: bool = True

    @property
    def base_path(self) -> str:
        return confined(self.root, self.folder)

    @property
    def store(self) -> VersionStore:
        return VersionStore(self.base_path, self.kind)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        stored = obj if isinstance(obj, Stored) else Stored.of(self.kind, obj)
        store, name = self.store, context.asset_key.path[-1]
        metadata: dict[str, Any] = {}
        if stored.data is not None:
            target = store.version_path(name, stored.version)
            if not store.is_intact(name, stored.version):
                write_atomic(target, stored.data)
            if self.kind == "figure":
                metadata.update(self._figure_files(store, name, stored))
            metadata.update(describe(self.kind, stored.value))
            if self.kind == "table":
                _note_rows(len(stored.value))
        elif not store.version_path(name, stored.version).exists():  # checked before reuse
            raise StoredFileError(f"version {stored.version[:12]}… of {name} is gone")
        self._publish(store, name, stored.version)
        _STORED[(context.run_id, context.asset_key)] = stored.version
        data_size = store.version_path(name, stored.version).stat().st_size
        page = ".html" if self.kind == "figure" else None  # what people open
        context.add_output_metadata(
            {
                "path": MetadataValue.path(str(store.current_path(name, page))),
                "version_path": MetadataValue.path(str(store.version_path(name, stored.version))),
                "sha256": stored.version,
                "stored_bytes": MetadataValue.int(data_size),
                **dataset_lineage(context),
                **metadata,
            }
        )
        # Stored, the value and its bytes are let go: `execute_in_process` (how `superstore
        # materialize` runs) keeps every step's output object to the end of the run, which at
        # 10M lines would hold every table twice over, as a frame and as Parquet.
        stored.value = stored.data = None

    def load_input(self, context: InputContext) -> Any:
        pending = Pending(lambda: self._load(context))
        return pending if _takes_pending(context) else pending.load()

    def _load(self, context: InputContext) -> Any:
        """The recorded version of the input, after checking its hash."""
        version = recorded_sha256(context)
        if version is None:
            raise StoredFileError(
                f"no stored version of {context.asset_key.to_user_string()} is on record in "
                "this instance; materialize it first (`superstore materialize --stale`)."
            )
        if self.kind != "table":
            return decode(self.kind, self.store.verified(context.asset_key.path[-1], version))
        columns = input_columns(context)
        if version in _TABLES:
            _TABLES.move_to_end(version)
            return project(_TABLES[version], columns).copy()
        data = self.store.verified(context.asset_key.path[-1], version)
        rows = decoded_rows(data)
        _note_rows(rows)
        if rows > ROWS_KEPT:
            # Only the columns the step reads: at millions of lines, a whole table per step
            # would set the run's peak memory.
            return decode_table(data, columns)
        value = decode_table(data)
        _TABLES[version] = value
        while len(_TABLES) > TABLES_KEPT:
            _TABLES.popitem(last=False)
        return project(value, columns).copy()

    def _figure_files(self, store: VersionStore, name: str, stored: Stored) -> dict[str, Any]:
        """A figure's HTML page and PNG preview, kept beside its JSON under the same version."""
        from superstore_assets.figures import figure_page

        page = figure_page(stored.value, div_id=name, plotlyjs_src=PLOTLYJS).encode()
        write_atomic(store.version_path(name, stored.version, ".html"), page)
        preview = png_preview(stored.value) if self.previews else None
        if preview is None:
            return {}
        write_atomic(store.version_path(name, stored.version, ".png"), preview)
        encoded = base64.b64encode(preview).decode()
        return {"preview": MetadataValue.md(f"![{name}](data:image/png;base64,{encoded})")}

    def _publish(self, store: VersionStore, name: str, version: str) -> None:
        """Copy a version to the files people open: <asset>.<ext> (and a figure's page)."""
        extensions = [store.extension]
        if self.kind == "figure":
            _ensure_plotlyjs(store.base)
            extensions += [".html", ".png"]
        for extension in extensions:
            source = store.version_path(name, version, extension)
            target = store.current_path(name, extension)
            if source.exists():
                write_atomic(target, source.read_bytes())
            elif target.exists():
                target.unlink()  # a preview of another version must not stay beside this one


# Input metadata naming the columns a step reads of a table (`AssetIn(metadata={COLUMNS: [...]})`,
# as Dagster's database IO managers take it): only those are loaded.
COLUMNS = "columns"


def input_columns(context: InputContext) -> list[str] | None:
    columns = (context.definition_metadata or {}).get(COLUMNS)
    return None if columns is None else list(columns)


def decoded_rows(data: bytes) -> int:
    """The rows of a Parquet table, from its footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows


def _takes_pending(context: InputContext) -> bool:
    try:
        return context.op_def.tags.get(LAZY_INPUTS_TAG) == "true"
    except Exception:  # no op (an input loaded outside a step): load it now
        return False


def recorded_sha256(context: InputContext) -> str | None:
    """The sha256 recorded with the latest materialization of the input's asset (stored by
    this run, if it was)."""
    try:
        run_id = context.step_context.run_id
    except DagsterInvariantViolationError:  # an input loaded outside a run
        run_id = None
    if (run_id, context.asset_key) in _STORED:
        return _STORED[(run_id, context.asset_key)]
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("sha256")
    return None if value is None else value.value


@functools.cache
def _plotlyjs() -> bytes:
    """plotly.js as this plotly ships it (3.5 MB), encoded once per process, not per figure."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def _ensure_plotlyjs(folder: UPath) -> None:
    target = folder / PLOTLYJS
    script = _plotlyjs()
    if not target.exists() or target.stat().st_size != len(script):
        write_atomic(target, script)


def find_browser() -> str | None:
    """A Chromium for kaleido: BROWSER_PATH if it is set, else one on the PATH."""
    candidate = os.environ.get("BROWSER_PATH")
    if candidate:
        return candidate if os.access(candidate, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.cache
def _start_kaleido() -> None:
    """Keep one Chromium open for every preview of this process: 0.2 s an image, not 2 s."""
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)


def png_preview(fig: Any) -> bytes | None:
    """A PNG of the figure through kaleido, or None (with a log line) without a browser."""
    browser = find_browser()
    if browser is None:
        log.info("no Chromium found (set BROWSER_PATH): figure previews skipped")
        return None
    os.environ.setdefault("BROWSER_PATH", browser)
    try:
        _start_kaleido()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return fig.to_image(format="png", width=900, height=500)
    except Exception as error:  # kaleido's failures are many and none should fail the run
        log.warning("figure preview failed, skipped: %s", error)
        return None
