"""The IO manager: every table, metric, figure, model and the report, stored by content.

Each kind of output has a folder under the storage root (version_store.py). An output is
stored under the SHA-256 of its bytes, which is also the asset's data version; an input is
loaded from the version the instance recorded, after checking its hash.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetKey,
    ConfigurableIOManager,
    DagsterInvariantViolationError,
    InputContext,
    MetadataValue,
    OutputContext,
)

from superstore_assets.engine import memory
from superstore_assets.engine.codecs import (
    StorageKind,
    StoredFileError,
    decode,
    decode_table,
    decoded_rows,
    describe,
    encode,
    project,
)
from superstore_assets.engine.files import confined, copy_atomic, remove, size_of, write_atomic
from superstore_assets.engine.hashing import sha256_bytes
from superstore_assets.engine.lineage import dataset_lineage
from superstore_assets.engine.previews import PLOTLYJS, ensure_plotlyjs, png_preview
from superstore_assets.engine.version_store import VersionStore, remember, write_noted

# Likewise the version of each output stored by this process, by run: an input made earlier in
# the same run loads without asking the instance (which answers the same, slower).
_STORED: dict[tuple[str, AssetKey], str] = {}


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


class StorageIOManager(ConfigurableIOManager):
    """One kind of output in one folder of the storage root (a path or an fsspec URL), stored
    by content."""

    root: str
    folder: str
    kind: StorageKind = "table"
    previews: bool = False

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
                write_noted(target, stored.data, stored.version)
            if self.kind == "figure":
                metadata.update(self._figure_files(store, name, stored))
            metadata.update(describe(self.kind, stored.value))
            if self.kind == "table":
                memory.note_rows(len(stored.value))
            data_size = len(stored.data)
        else:  # a restored version: checked intact before it was reused
            data_size = size_of(store.version_path(name, stored.version))
            if data_size is None:
                raise _gone(name, stored.version)
        self._publish(store, name, stored.version, stored.data)
        _STORED[(context.run_id, context.asset_key)] = stored.version
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
        kept = memory.kept_table(version)
        if kept is not None:
            return project(kept, columns).copy()
        data = self.store.verified(context.asset_key.path[-1], version)
        if memory.note_rows(decoded_rows(data)):
            # Only the columns the step reads: at millions of lines, a whole table per step
            # would set the run's peak memory.
            return decode_table(data, columns)
        value = decode_table(data)
        memory.keep_table(version, value)
        return project(value, columns).copy()

    def _figure_files(self, store: VersionStore, name: str, stored: Stored) -> dict[str, Any]:
        """A figure's HTML page and PNG preview, kept beside its JSON under the same version."""
        from superstore_assets.pipeline.figures import figure_page

        page = figure_page(stored.value, div_id=name, plotlyjs_src=PLOTLYJS).encode()
        write_atomic(store.version_path(name, stored.version, ".html"), page)
        preview = png_preview(stored.value) if self.previews else None
        if preview is None:
            return {}
        write_atomic(store.version_path(name, stored.version, ".png"), preview)
        encoded = base64.b64encode(preview).decode()
        return {"preview": MetadataValue.md(f"![{name}](data:image/png;base64,{encoded})")}

    def _publish(
        self, store: VersionStore, name: str, version: str, data: bytes | None = None
    ) -> None:
        """Copy a version to the files people open: <asset>.<ext> (and a figure's page). `data`:
        the version's bytes, when they are at hand (just written), so as not to read them back;
        else the storage copies the stored version."""
        current = store.current_path(name)
        if data is None:
            if not copy_atomic(store.version_path(name, version), current):
                raise _gone(name, version)
            remember(current, version)
        else:
            write_noted(current, data, version)
        if self.kind != "figure":
            return
        ensure_plotlyjs(store.base)
        for extension in (".html", ".png"):
            source = store.version_path(name, version, extension)
            target = store.current_path(name, extension)
            if not copy_atomic(source, target):
                remove(target)  # a preview of another version must not stay beside this one


def _gone(name: str, version: str) -> StoredFileError:
    """The error of a restored version missing from storage (it was checked before reuse)."""
    return StoredFileError(f"version {version[:12]}… of {name} is gone")


# Input metadata naming the columns a step reads of a table (`AssetIn(metadata={COLUMNS: [...]})`,
# as Dagster's database IO managers take it): only those are loaded.
COLUMNS = "columns"


def input_columns(context: InputContext) -> list[str] | None:
    columns = (context.definition_metadata or {}).get(COLUMNS)
    return None if columns is None else list(columns)


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
