"""Where outputs live: IO managers that write every table, metric, figure and model to disk.

All four build on Dagster's UPathIOManager, so the storage folder may be a local path or an
fsspec URL. Each write goes to a temporary file first and is renamed into place, so a crash
never leaves half a file, and each materialization records the file's path and SHA-256.
"""

from __future__ import annotations

import atexit
import base64
import functools
import io
import json
import logging
import os
import pickle
import shutil
import time
import uuid
import warnings
from typing import Any, Literal

import pandas as pd
from dagster import (
    ConfigurableIOManagerFactory,
    DagsterEventType,
    InputContext,
    MetadataValue,
    OutputContext,
    UPathIOManager,
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


def dataset_lineage(context: OutputContext) -> dict[str, str]:
    """The dataset hash this output descends from: the one its inputs record.

    orders_raw records the hash of the file it read; every asset below takes it from the latest
    materializations of its inputs (which are what it loaded). Inputs that disagree are reported
    as "mixed: …", which means some of them are stale.
    """
    if DATASET_SHA256 in (context.output_metadata or {}):
        return {}
    hashes = set()
    for dep in context.asset_spec.deps:
        event = context.step_context.instance.get_latest_materialization_event(dep.asset_key)
        value = event.asset_materialization.metadata.get(DATASET_SHA256) if event else None
        if value is not None:
            hashes.add(value.value)
    if not hashes:
        return {}
    if len(hashes) == 1:
        return {DATASET_SHA256: hashes.pop()}
    return {DATASET_SHA256: "mixed: " + ", ".join(sorted(hashes))}


def compute_seconds(context: OutputContext) -> dict[str, MetadataValue]:
    """Seconds from the step's start to its output being stored."""
    starts = context.step_context.instance.all_logs(
        context.run_id, of_type=DagsterEventType.STEP_START
    )
    for entry in starts:
        if entry.step_key == context.step_key:
            return {"compute_seconds": MetadataValue.float(round(time.time() - entry.timestamp, 3))}
    return {}


def stored_file_metadata(context: OutputContext, data: bytes) -> dict[str, Any]:
    """What every stored output records: its hash and size, the dataset it descends from, and
    how long its step took to make it."""
    return {
        "sha256": sha256_bytes(data),
        "stored_bytes": MetadataValue.int(len(data)),
        **dataset_lineage(context),
        **compute_seconds(context),
    }


class _BytesIOManager(UPathIOManager):
    """Serialize to bytes, write atomically, record the path, size and hash."""

    def serialize(self, obj: Any) -> bytes:
        raise NotImplementedError

    def deserialize(self, data: bytes) -> Any:
        raise NotImplementedError

    def describe(self, obj: Any) -> dict[str, Any]:
        """Metadata about the object itself (rows of a table, say)."""
        return {}

    def dump_to_path(self, context: OutputContext, obj: Any, path: UPath) -> None:
        data = self.serialize(obj)
        write_atomic(path, data)
        context.add_output_metadata({**stored_file_metadata(context, data), **self.describe(obj)})

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        return self.deserialize(path.read_bytes())


class ParquetIOManager(_BytesIOManager):
    """Tables as Parquet."""

    extension = ".parquet"

    def describe(self, obj: pd.DataFrame) -> dict[str, Any]:
        return {
            "stored_rows": MetadataValue.int(len(obj)),
            "stored_columns": MetadataValue.int(len(obj.columns)),
        }

    def serialize(self, obj: pd.DataFrame) -> bytes:
        buffer = io.BytesIO()
        obj.to_parquet(buffer, index=False, engine="pyarrow")
        return buffer.getvalue()

    def deserialize(self, data: bytes) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")


class JsonIOManager(_BytesIOManager):
    """Metrics and other small records as indented, key-sorted JSON."""

    extension = ".json"

    def serialize(self, obj: Any) -> bytes:
        return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()

    def deserialize(self, data: bytes) -> Any:
        return json.loads(data)


class HtmlIOManager(_BytesIOManager):
    """Whole HTML pages (the report), stored as UTF-8."""

    extension = ".html"

    def serialize(self, obj: str) -> bytes:
        return obj.encode()

    def deserialize(self, data: bytes) -> str:
        return data.decode()


class ModelIOManager(_BytesIOManager):
    """Fitted models as pickles, loaded only when their hash matches the instance's record.

    Unpickling can run code, so a model file is trusted only if its SHA-256 equals the hash
    that this Dagster instance recorded when the model was materialized.
    """

    extension = ".pkl"

    def serialize(self, obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=5)

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        data = path.read_bytes()
        recorded = recorded_sha256(context)
        actual = sha256_bytes(data)
        if recorded != actual:
            raise StoredFileError(
                f"refusing to load {path}: its SHA-256 is {actual[:12]}…, but the instance "
                f"recorded {recorded[:12] + '…' if recorded else 'no hash'} for "
                f"{context.asset_key.to_user_string()}. The file was changed or written "
                "elsewhere; rematerialize the asset to rebuild it."
            )
        return pickle.loads(data)


def recorded_sha256(context: InputContext) -> str | None:
    """The sha256 recorded with the latest materialization of the input's asset."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("sha256")
    return None if value is None else value.value


class FigureIOManager(_BytesIOManager):
    """Figures as HTML pages sharing one plotly.js file, plus plotly JSON to load them back.

    With a Chromium for kaleido (BROWSER_PATH), a PNG preview goes into the UI's metadata.
    """

    extension = ".html"

    def __init__(self, base_path: UPath, previews: bool):
        super().__init__(base_path=base_path)
        self.previews = previews

    def dump_to_path(self, context: OutputContext, obj: Any, path: UPath) -> None:
        from superstore_assets.figures import figure_page

        self._ensure_plotlyjs(path.parent)
        name = context.asset_key.path[-1]
        write_atomic(path.with_suffix(".json"), obj.to_json(pretty=False).encode())
        data = figure_page(obj, div_id=name, plotlyjs_src=PLOTLYJS).encode()
        write_atomic(path, data)
        metadata = stored_file_metadata(context, data)
        preview = png_preview(obj) if self.previews else None
        if preview is not None:
            encoded = base64.b64encode(preview).decode()
            metadata["preview"] = MetadataValue.md(f"![{name}](data:image/png;base64,{encoded})")
        context.add_output_metadata(metadata)

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        import plotly.io

        return plotly.io.from_json(path.with_suffix(".json").read_text())

    @staticmethod
    def _ensure_plotlyjs(folder: UPath) -> None:
        from plotly.offline import get_plotlyjs

        target = folder / PLOTLYJS
        script = get_plotlyjs().encode()
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


StorageKind = Literal["table", "json", "figure", "model", "html"]
_KINDS: dict[str, type[_BytesIOManager]] = {
    "table": ParquetIOManager,
    "json": JsonIOManager,
    "model": ModelIOManager,
    "html": HtmlIOManager,
}


class StorageIOManager(ConfigurableIOManagerFactory):
    """One storage folder (path or fsspec URL) and the kind of output written there."""

    base_path: str
    kind: StorageKind = "table"
    previews: bool = True

    def create_io_manager(self, context) -> UPathIOManager:
        base = UPath(self.base_path)
        if self.kind == "figure":
            return FigureIOManager(base_path=base, previews=self.previews)
        return _KINDS[self.kind](base_path=base)
