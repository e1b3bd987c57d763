"""The event log keeps its connections open, and writes exactly the files Dagster would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance, asset, materialize

from superstore_assets.engine import eventlog
from superstore_assets.engine.eventlog import PooledSqliteEventLogStorage
from superstore_assets.engine.project import PACKAGE_DIR


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "dagster.yaml").write_text((PACKAGE_DIR / "dagster.yaml").read_text())
    return folder


def test_the_projects_instance_keeps_its_events_where_dagster_does(home, tmp_path):
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert Path(storage._base_dir) == home / "history" / "runs"
        result = materialize([numbers], instance=instance)
        assert result.success
        run_id = result.run_id
        written = len(instance.all_logs(run_id))
    assert (home / "history" / "runs" / f"{run_id}.db").exists()
    assert (home / "history" / "runs" / "index.db").exists()

    # A home with Dagster's default storage reads the same files and finds the same record.
    plain = tmp_path / "plain"
    shutil.copytree(home, plain)
    (plain / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(plain)) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert len(instance.all_logs(run_id)) == written > 5
        event = instance.get_latest_materialization_event(AssetKey("numbers"))
        assert event.run_id == run_id


@pytest.mark.slow
def test_engines_stay_open_between_events_and_are_bounded(home, monkeypatch):
    monkeypatch.setattr(eventlog, "OPEN_ENGINES", 3)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        for number in range(5):
            result = materialize([numbers], instance=instance)
            assert result.success
            instance.report_runless_asset_event(AssetMaterialization(f"note_{number}"))
        assert len(storage._engines) == 3  # the index and the newest runs' files
        assert "index" in storage._engines
        index = storage._engines["index"]
        instance.report_runless_asset_event(AssetMaterialization("one_more"))
        assert storage._engines["index"] is index  # the same engine, not a new one per event
        assert len(instance.get_runs()) == 5


def test_wipe_closes_every_connection_and_leaves_a_working_log(home):
    with DagsterInstance.from_config(str(home)) as instance:
        materialize([numbers], instance=instance)
        instance.wipe()
        assert set(instance.event_log_storage._engines) <= {"index"}  # the run files are gone
        assert instance.get_latest_materialization_event(AssetKey("numbers")) is None
        assert materialize([numbers], instance=instance).success
        assert instance.get_latest_materialization_event(AssetKey("numbers")) is not None


def test_a_folder_given_in_the_settings_is_used(tmp_path):
    folder = tmp_path / "elsewhere"
    storage = PooledSqliteEventLogStorage.from_config_value(None, {"base_dir": str(folder)})
    assert Path(storage._base_dir) == folder and (folder / "index.db").exists()
    storage.dispose()


def test_dagsters_default_event_log_is_made_to_keep_its_connections(tmp_path):
    """A home without the project's dagster.yaml (a new DAGSTER_HOME given to `dagster asset
    materialize`) gets Dagster's own class; the executor makes it keep connections open, and
    what it writes is read back by a plain Dagster instance."""
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(plain)) as instance:
        storage = instance.event_log_storage
        assert eventlog.keep_connections_open(storage)
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert not eventlog.keep_connections_open(storage)  # once is enough
        first = materialize([numbers], instance=instance)
        index = storage._engines["index"]
        second = materialize([numbers], instance=instance)
        assert first.success and second.success
        assert storage._engines["index"] is index
    with DagsterInstance.from_config(str(plain)) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        event = instance.get_latest_materialization_event(AssetKey("numbers"))
        assert event.run_id == second.run_id
        assert len(instance.get_runs()) == 2


def test_other_event_logs_are_left_alone(home):
    with DagsterInstance.ephemeral() as instance:
        storage = instance.event_log_storage
        assert not eventlog.keep_connections_open(storage)
        assert type(instance.event_log_storage) is type(storage)
