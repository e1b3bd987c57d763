"""The IO managers: formats, atomic writes, recorded hashes, refusing a changed model."""

import base64
import hashlib
import io
import json
import pickle

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dagster import (
    AssetIn,
    AssetKey,
    DagsterInstance,
    Definitions,
    Output,
    asset,
    materialize,
)
from upath import UPath

from superstore_assets.assets.definitions import make_resources
from superstore_assets.engine import codecs, files, io_manager, memory, previews, version_store
from superstore_assets.pipeline import parquet


def test_write_atomic_leaves_no_temporary_file_and_replaces_the_old(tmp_path):
    target = UPath(tmp_path / "a" / "out.bin")
    files.write_atomic(target, b"first")
    files.write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["out.bin"]


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = UPath(tmp_path / "out.bin")
    files.write_atomic(target, b"good")

    real_open = open

    class FullDisk:  # writes two bytes, then the disk is full
        def __init__(self, path, mode, **options):
            self.handle = real_open(path, mode, **options)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:2])
            raise OSError("disk full")

    monkeypatch.setattr(files, "open", FullDisk, raising=False)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(target, b"better")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@asset
def table() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})


@asset(io_manager_key="json_io_manager")
def metrics() -> dict:
    return {"f1": 0.5, "matrix": [[1, 2], [3, 4]]}


@asset(io_manager_key="figure_io_manager")
def figure() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))


@asset(io_manager_key="model_io_manager")
def model() -> dict:
    return {"weights": [1.0, 2.0]}


@asset
def uses_model(model: dict) -> pd.DataFrame:
    return pd.DataFrame({"w": model["weights"]})


@asset
def reads_all(table: pd.DataFrame, metrics: dict, figure: go.Figure) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(table)], "f1": [metrics["f1"]], "traces": [len(figure.data)]})


ASSETS = [table, metrics, figure, model, uses_model, reads_all]


@pytest.fixture
def run(tmp_path):
    resources = make_resources(
        dataset="unused.csv", storage=str(tmp_path / "store"), previews=False
    )
    instance = DagsterInstance.ephemeral()

    def _run(selection=None):
        return materialize(
            ASSETS,
            resources=resources,
            instance=instance,
            selection=selection,
            raise_on_error=False,
        )

    yield _run, tmp_path / "store", instance
    instance.dispose()


def test_each_kind_is_written_in_its_format_with_path_and_hash(run):
    materialize_, store, instance = run
    assert materialize_().success
    assert pd.read_parquet(store / "tables" / "table.parquet")["b"].tolist() == ["x", "y"]
    assert json.loads((store / "metrics" / "metrics.json").read_text())["f1"] == 0.5
    page = (store / "figures" / "figure.html").read_text()
    assert '<script charset="utf-8" src="plotly.min.js"></script>' in page
    assert (store / "figures" / "plotly.min.js").stat().st_size > 1_000_000
    assert (store / "figures" / "figure.json").exists()
    assert pickle.loads((store / "models" / "model.pkl").read_bytes()) == {"weights": [1.0, 2.0]}
    assert pd.read_parquet(store / "tables" / "reads_all.parquet").to_dict("records") == [
        {"rows": 2, "f1": 0.5, "traces": 1}
    ]
    for key, path in [("table", "tables/table.parquet"), ("model", "models/model.pkl")]:
        event = instance.get_latest_materialization_event(AssetKey(key))
        metadata = event.asset_materialization.metadata
        data = (store / path).read_bytes()
        assert metadata["sha256"].value == hashlib.sha256(data).hexdigest()
        assert metadata["path"].value == str(store / path)
        assert metadata["stored_bytes"].value == len(data)


def stored_version(instance, store, key, folder, extension):
    """The file of the version that the instance recorded for `key`: what loads read."""
    event = instance.get_latest_materialization_event(AssetKey(key))
    version = event.asset_materialization.metadata["sha256"].value
    return store / folder / "versions" / key / f"{version}{extension}"


def test_a_model_file_changed_after_it_was_recorded_is_refused(run):
    materialize_, store, instance = run
    assert materialize_().success
    earlier = (store / "tables" / "uses_model.parquet").read_bytes()
    stored_version(instance, store, "model", "models", ".pkl").write_bytes(
        pickle.dumps({"weights": [666.0]})
    )
    result = materialize_(selection=["uses_model"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.cause.message
    assert "refusing to load" in message and "superstore materialize --stale" in message
    assert (store / "tables" / "uses_model.parquet").read_bytes() == earlier


class Exploit:
    """A pickle that, when loaded, would create a file: the proof of code execution."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_malicious_model_is_never_unpickled(run, tmp_path):
    materialize_, store, instance = run
    assert materialize_().success
    marker = tmp_path / "exploit-ran"
    exploit = pickle.dumps(Exploit(marker))
    stored_version(instance, store, "model", "models", ".pkl").write_bytes(exploit)
    (store / "models" / "model.pkl").write_bytes(exploit)  # the copy people open, too
    result = materialize_(selection=["uses_model"])
    assert not result.success
    assert not marker.exists()  # refused on its hash, before pickle.loads could run it


def test_an_edited_copy_is_never_what_loads(run):
    materialize_, store, _ = run
    assert materialize_().success
    (store / "tables" / "table.parquet").write_bytes(b"not parquet at all")
    assert materialize_(selection=["reads_all"]).success
    assert pd.read_parquet(store / "tables" / "reads_all.parquet")["rows"].tolist() == [2]


def test_every_version_is_kept_under_its_hash(run):
    materialize_, store, instance = run
    assert materialize_().success
    for key, folder, extension in [
        ("table", "tables", ".parquet"),
        ("metrics", "metrics", ".json"),
        ("figure", "figures", ".json"),
        ("model", "models", ".pkl"),
    ]:
        path = stored_version(instance, store, key, folder, extension)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name.split(".")[0]
        assert path.read_bytes() == (store / folder / f"{key}{extension}").read_bytes()


def test_a_model_with_no_record_is_refused(tmp_path):
    store = tmp_path / "store"
    (store / "models").mkdir(parents=True)
    (store / "models" / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0]}))
    resources = make_resources(dataset="unused.csv", storage=str(store), previews=False)
    defs = Definitions(assets=[model, uses_model], resources=resources)
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[AssetKey("uses_model")], raise_on_error=False
        )
    assert not result.success


def test_png_preview_is_skipped_without_a_browser(monkeypatch, caplog):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with caplog.at_level("INFO"):
        assert previews.png_preview(go.Figure()) is None
    assert "previews skipped" in caplog.text


@pytest.mark.slow  # a Chromium started by kaleido
@pytest.mark.skipif(
    previews.find_browser() is None, reason="no Chromium for kaleido (BROWSER_PATH)"
)
def test_figure_preview_is_a_png_in_the_metadata(tmp_path):
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=True)
    with DagsterInstance.ephemeral() as instance:
        assert materialize([figure], resources=resources, instance=instance).success
        event = instance.get_latest_materialization_event(AssetKey("figure"))
    preview = event.asset_materialization.metadata["preview"].value
    assert preview.startswith("![figure](data:image/png;base64,")
    png = base64.b64decode(preview.split(",", 1)[1].rstrip(")"))
    assert png.startswith(b"\x89PNG\r\n")


@asset
def left() -> Output[pd.DataFrame]:
    return Output(pd.DataFrame({"a": [1]}), metadata={"dataset_sha256": "aaa"})


@asset
def right() -> Output[pd.DataFrame]:
    return Output(pd.DataFrame({"a": [2]}), metadata={"dataset_sha256": "bbb"})


@asset
def below_left(left: pd.DataFrame) -> pd.DataFrame:
    return left


@asset
def below_both(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([left, right])


def test_outputs_record_the_dataset_they_descend_from(tmp_path):
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=False)
    with DagsterInstance.ephemeral() as instance:
        assets = [left, right, below_left, below_both]
        assert materialize(assets, resources=resources, instance=instance).success

        def recorded(key):
            event = instance.get_latest_materialization_event(AssetKey(key))
            return event.asset_materialization.metadata["dataset_sha256"].value

        assert recorded("left") == "aaa"  # set by the asset itself, kept
        assert recorded("below_left") == "aaa"
        assert recorded("below_both") == "mixed: aaa, bbb"


@asset
def mutates_table(table: pd.DataFrame) -> pd.DataFrame:
    table["a"] = table["a"] * 100  # a careless step that changes its input in place
    return table


@asset
def sums_table(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"total": [int(table["a"].sum())]})


def test_a_table_read_back_once_serves_each_step_its_own_copy(tmp_path, monkeypatch):
    decoded = []
    decode = codecs.decode_table

    def counted(data, columns=None):
        decoded.append("table")
        return decode(data, columns)

    monkeypatch.setattr(io_manager, "decode_table", counted)
    monkeypatch.setattr(memory, "_TABLES", memory.OrderedDict())
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=False)
    with DagsterInstance.ephemeral() as instance:
        assets = [table, mutates_table, sums_table]
        assert materialize(assets, resources=resources, instance=instance).success
    assert decoded == ["table"]  # read, hashed and decoded once for both steps
    assert pd.read_parquet(tmp_path / "tables" / "sums_table.parquet")["total"].tolist() == [3]
    assert pd.read_parquet(tmp_path / "tables" / "mutates_table.parquet")["a"].tolist() == [
        100,
        200,
    ]


def test_a_large_table_is_stored_in_slices_and_read_back_whole(monkeypatch):
    rows = 2500
    table = pd.DataFrame(
        {
            "Order ID": [f"CA-2016-{i // 2}" for i in range(rows)],
            "Quantity": pd.array(np.arange(rows) % 7, dtype="Int64"),
            "Sales": np.linspace(0, 1, rows),
            "Order Date": pd.date_range("2016-01-01", periods=rows, freq="h"),
            "profitable": np.arange(rows) % 3 > 0,
        }
    )
    whole = io.BytesIO()
    table.to_parquet(whole, index=False, engine="pyarrow")
    assert parquet.encode_table(table) == whole.getvalue()  # one slice: pandas' own bytes
    monkeypatch.setattr(parquet, "TABLE_SLICE_ROWS", 1000)
    data = parquet.encode_table(table)
    assert pd.read_parquet(io.BytesIO(data)).equals(table)  # any Parquet reader reads it
    back = codecs.decode_table(data)
    assert back.equals(table) and (back.dtypes == table.dtypes).all()


WIDE_ROWS = 2500


@asset
def wide() -> pd.DataFrame:
    rows = WIDE_ROWS
    return pd.DataFrame(
        {
            "Order ID": [f"CA-2016-{i // 2}" for i in range(rows)],
            "Quantity": pd.array(np.arange(rows) % 7, dtype="Int64"),
            "Sales": np.linspace(0, 1, rows),
            "profitable": np.arange(rows) % 3 > 0,
        }
    )


@asset(ins={"wide": AssetIn(metadata={io_manager.COLUMNS: ["profitable", "Sales"]})})
def reads_two(wide: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"columns": list(wide.columns), "dtype": wide.dtypes.astype(str).tolist()})


@asset(ins={"wide": AssetIn(metadata={io_manager.COLUMNS: ["Sales", "Profit"]})})
def reads_absent(wide: pd.DataFrame) -> pd.DataFrame:
    return wide


@pytest.mark.parametrize(
    "rows_kept, slice_rows",
    [(250_000, 1_048_576), (0, 1_048_576), (0, 1000)],
    ids=["kept-table", "one-row-group", "row-groups"],
)
def test_a_step_given_columns_loads_only_those(tmp_path, monkeypatch, rows_kept, slice_rows):
    # The three ways a table comes back: from the kept tables, from one Parquet row group, and
    # a column at a time from several.
    monkeypatch.setattr(memory, "_TABLES", memory.OrderedDict())
    monkeypatch.setattr(memory, "ROWS_KEPT", rows_kept)
    monkeypatch.setattr(parquet, "TABLE_SLICE_ROWS", slice_rows)
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=False)
    with DagsterInstance.ephemeral() as instance:
        assert materialize([wide, reads_two], resources=resources, instance=instance).success
    seen = pd.read_parquet(tmp_path / "tables" / "reads_two.parquet")
    assert seen["columns"].tolist() == ["profitable", "Sales"]  # in the order asked for
    assert seen["dtype"].tolist() == ["bool", "float64"]
    slices = -(-WIDE_ROWS // slice_rows)
    stored = pd.read_parquet(tmp_path / "tables" / "wide.parquet")
    assert stored.shape == (WIDE_ROWS, 4)  # the stored table keeps every column
    assert codecs.decoded_rows((tmp_path / "tables" / "wide.parquet").read_bytes()) == WIDE_ROWS
    import pyarrow.parquet as pq

    assert pq.ParquetFile(tmp_path / "tables" / "wide.parquet").num_row_groups == slices


@pytest.mark.parametrize("rows_kept", [250_000, 0], ids=["kept-table", "decoded"])
def test_a_column_the_table_lacks_is_named(tmp_path, monkeypatch, rows_kept):
    monkeypatch.setattr(memory, "_TABLES", memory.OrderedDict())
    monkeypatch.setattr(memory, "ROWS_KEPT", rows_kept)
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=False)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [wide, reads_absent], resources=resources, instance=instance, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "no column 'Profit'" in message and "'Sales'" not in message.split("no column")[1]


def test_memory_is_released_between_steps_only_after_a_table_of_millions(tmp_path, monkeypatch):
    collected = []
    monkeypatch.setattr(memory.gc, "collect", lambda: collected.append(1))
    monkeypatch.setattr(memory, "_LARGE_TABLE_SEEN", False)
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=False)
    from superstore_assets.engine.versioned_asset import versioned_asset

    @versioned_asset(name="small")
    def small() -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2]})

    @versioned_asset(name="after_small")
    def after_small(small: pd.DataFrame) -> pd.DataFrame:
        return small

    with DagsterInstance.ephemeral() as instance:
        assert materialize([small, after_small], resources=resources, instance=instance).success
    assert collected == []  # tables the size of the real file cost no collection
    monkeypatch.setattr(memory, "ROWS_KEPT", 1)  # now every table counts as one of millions
    resources = make_resources(dataset="unused.csv", storage=str(tmp_path / "b"), previews=False)
    with DagsterInstance.ephemeral() as instance:
        assert materialize([small, after_small], resources=resources, instance=instance).success
    assert len(collected) == 1  # before after_small, once `small` was stored
    assert memory._LARGE_TABLE_SEEN  # after_small's table: released before the next step


def test_a_step_lets_go_of_its_inputs_before_its_output_is_encoded(tmp_path, monkeypatch):
    import gc
    import weakref

    from superstore_assets.engine.versioned_asset import versioned_asset

    seen: dict[str, weakref.ref] = {}
    alive_at_encoding = []
    encode = io_manager.Stored.of.__func__

    def of(cls, kind, value):
        gc.collect()
        if "input" in seen:
            alive_at_encoding.append(seen["input"]() is not None)
        return encode(cls, kind, value)

    monkeypatch.setattr(io_manager.Stored, "of", classmethod(of))

    @versioned_asset(name="source_table")
    def source_table() -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2, 3]})

    @versioned_asset(name="derived_table")
    def derived_table(source_table: pd.DataFrame) -> pd.DataFrame:
        seen["input"] = weakref.ref(source_table)
        return source_table.assign(b=source_table["a"] * 2)

    resources = make_resources(dataset="unused.csv", storage=str(tmp_path), previews=False)
    with DagsterInstance.ephemeral() as instance:
        assets = [source_table, derived_table]
        assert materialize(assets, resources=resources, instance=instance).success
    assert alive_at_encoding == [False]
    stored = pd.read_parquet(tmp_path / "tables" / "derived_table.parquet")
    assert stored["b"].tolist() == [2, 4, 6]


def test_a_released_input_is_never_loaded_again():
    pending = io_manager.Pending(lambda: "value")
    assert pending.load() == "value"
    pending.release()
    with pytest.raises(RuntimeError, match="released"):
        pending.load()


def test_a_version_this_process_wrote_is_known_intact_without_reading_it_back(run, monkeypatch):
    materialize_, store, instance = run
    assert materialize_().success
    tables = version_store.VersionStore(str(store / "tables"), "table")
    version = stored_version(instance, store, "table", "tables", ".parquet").stem

    def no_hashing(data):
        raise AssertionError("a stored file was read back and hashed")

    monkeypatch.setattr(version_store, "sha256_bytes", no_hashing)
    assert tables.is_intact("table", version) and tables.current_is_intact("table", version)
    monkeypatch.undo()
    # Changed afterwards, even to bytes of the same size, it is read and found altered.
    for path in (tables.version_path("table", version), tables.current_path("table")):
        size = len(path.read_bytes())
        files.write_atomic(path, b"x" * size)
    assert not tables.is_intact("table", version)
    assert not tables.current_is_intact("table", version)
