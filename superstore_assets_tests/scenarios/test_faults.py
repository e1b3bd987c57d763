"""Faults: a killed run, two runs at once, stored files changed by hand, and paths that try to
leave the storage folder. Nothing earlier is lost. (A failing run under a live web server:
test_browser.py, on the server its other tests then use.)"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, materialize

from superstore_assets.assets.definitions import make_resources
from superstore_assets.engine.files import StoragePathError, safe_name
from superstore_assets.engine.io_manager import StorageIOManager
from superstore_assets.engine.version_store import VersionStore
from superstore_assets_tests import commands
from superstore_assets_tests.conftest import (
    ASSETS,
    BUNDLED,
    Workspace,
    temporary_name_of_an_ended_process,
)


def superstore(workspace: Workspace, *args: str) -> subprocess.CompletedProcess:
    from superstore_assets.engine.project import PACKAGE_DIR

    return commands.run(
        list(args), cwd=PACKAGE_DIR.parent, env=workspace.env(SUPERSTORE_DATASET=str(BUNDLED))
    )


def start_materialize(workspace: Workspace, **popen) -> subprocess.Popen:
    """`superstore materialize` on the bundled data, started and left running."""
    from superstore_assets.engine.project import PACKAGE_DIR

    return subprocess.Popen(
        [sys.executable, "-m", "superstore_assets.cli", "materialize"],
        cwd=PACKAGE_DIR.parent,
        env=workspace.env(SUPERSTORE_DATASET=str(BUNDLED)),
        **popen,
    )


def stored_versions_are_intact(storage, temporaries: bool = False) -> int:
    """Every file under a versions/ folder hashes to its name; no temporary file is left (unless
    `temporaries`: a process killed mid-write cannot remove its own)."""
    if not temporaries:
        assert not [p for p in storage.rglob("*.tmp")], "a temporary file was left behind"
    checked = 0
    for path in storage.rglob("versions/*/*"):
        if path.parts[-4] == "figures" and path.suffix in (".html", ".png"):
            continue  # a figure's page and preview, named after its JSON
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name.split(".")[0], path
        checked += 1
    return checked


def status_lines(output: str) -> dict[str, str]:
    return {line.split()[0]: " ".join(line.split()[1:]) for line in output.splitlines()[1:] if line}


# Paths ----------------------------------------------------------------------------------------


def test_names_that_would_leave_the_storage_folder_are_refused(tmp_path):
    for bad in ["../outside", "/etc", ".hidden", "a/b", ""]:
        with pytest.raises(StoragePathError):
            safe_name(bad)
    store = VersionStore(str(tmp_path / "tables"), "table")
    with pytest.raises(StoragePathError, match="not a SHA-256"):
        store.version_path("orders_clean", "../../../etc/passwd")
    with pytest.raises(StoragePathError):
        StorageIOManager(root=str(tmp_path), folder="../escape", kind="json").base_path  # noqa: B018


@pytest.mark.slow
def test_a_storage_folder_configured_outside_is_refused_before_anything_is_written(tmp_path):
    from superstore_assets.assets.ingest import orders_raw

    resources = make_resources(str(BUNDLED), str(tmp_path / "store"), previews=False)
    resources["io_manager"] = StorageIOManager(
        root=str(tmp_path / "store"), folder="../../escaped", kind="table"
    )
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [orders_raw], resources=resources, instance=instance, raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "cannot be part of a stored file's path" in str(failure.step_failure_data.error)
    assert not (tmp_path.parent / "escaped").exists() and not (tmp_path / "escaped").exists()


# Stored files changed by hand -----------------------------------------------------------------


@pytest.mark.slow
def test_outputs_changed_or_deleted_by_hand_are_reported_and_rebuilt(materialized):
    workspace = materialized  # every asset fresh on the bundled data
    storage = workspace.storage
    with workspace.instance() as instance:
        version = {
            name: instance.get_latest_materialization_event(AssetKey(name))
            .asset_materialization.metadata["sha256"]
            .value
            for name in ("orders_clean", "random_forest")
        }
    clean = storage / "tables" / "versions" / "orders_clean" / f"{version['orders_clean']}.parquet"
    forest = storage / "models" / "versions" / "random_forest" / f"{version['random_forest']}.pkl"
    original = clean.read_bytes()
    clean.write_bytes(original[:-10] + b"0123456789")  # altered
    forest.unlink()  # deleted
    (storage / "tables" / "model_features.parquet").write_bytes(b"edited")  # the copy, edited

    shown = status_lines(superstore(workspace, "status").stdout)
    assert shown["orders_clean"].startswith("stale <- stored output altered"), shown
    assert shown["random_forest"].startswith("missing <- stored output deleted"), shown
    assert shown["model_features"].startswith("stale <- copy altered or deleted"), shown
    assert shown["random_forest_metrics"].startswith("stale <- random_forest"), shown

    rebuilt = superstore(workspace, "materialize")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "orders_clean" in rebuilt.stdout.split("Computed")[1].split("Reused")[0]
    assert clean.read_bytes() == original  # the same bytes, computed again
    assert forest.exists()
    assert stored_versions_are_intact(storage) >= ASSETS
    shown = status_lines(superstore(workspace, "status").stdout)
    assert set(shown.values()) == {"fresh"}, shown
    pd.read_parquet(storage / "tables" / "model_features.parquet")  # the copy is back


# A killed run, then two runs at once ---------------------------------------------------------


@pytest.mark.slow
def test_a_killed_run_loses_nothing_and_of_two_next_runs_one_finishes_it_the_other_waits(
    workspace, tmp_path
):
    """A run killed during training keeps what it recorded. Two `superstore materialize`
    started at once after it: one takes the lock, marks the killed run failed, removes what it
    left half-written and computes the rest; the other waits for it and finds nothing stale.
    (One cold run serves both stories, which each paid for one of their own before.)"""
    log = tmp_path / "killed.log"
    with open(log, "w") as output:
        process = start_materialize(
            workspace, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 300

    def running() -> bool:
        return process.poll() is None and time.monotonic() < deadline

    # The home is made and the file observed first: only then does this process open it too.
    while "observed" not in log.read_text():
        assert running(), f"the run ended early:\n{log.read_text()}"
        time.sleep(0.05)
    with workspace.instance() as instance:
        while instance.get_latest_materialization_event(AssetKey("decision_tree")) is None:
            assert running(), f"the run ended early:\n{log.read_text()}"
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the first model is recorded, the others train
    process.wait()

    with workspace.instance() as instance:
        (killed,) = instance.get_runs()
        assert killed.status == DagsterRunStatus.STARTED  # the kill came mid-run
        assert instance.get_latest_materialization_event(AssetKey("report")) is None
    assert stored_versions_are_intact(workspace.storage, temporaries=True) >= 1
    # Whether the kill came mid-write is chance: one is planted, named by a process that has
    # ended, as a killed writer leaves it. The next run removes it.
    planted = workspace.storage / "figures" / temporary_name_of_an_ended_process("plotly.min.js")
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"half a file")

    started = [
        start_materialize(workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in started]
    assert [process.returncode for process in started] == [0, 0], outputs
    texts = [out for out, _ in outputs]
    finished = [t for t in texts if "Computed (" in t and "Nothing is stale" not in t]
    waited = [t for t in texts if "waiting for it" in t and "Nothing is stale" in t]
    assert len(finished) == 1 and len(waited) == 1, texts
    (finished,) = finished
    assert f"Run {killed.run_id} was left unfinished" in finished
    assert "temporary file(s) left by a process killed mid-write" in finished
    assert not planted.exists()
    assert "decision_tree" in finished.split("Untouched")[1]  # kept from the killed run
    with workspace.instance() as instance:
        assert instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE
        later = [run for run in instance.get_runs() if run.run_id != killed.run_id]
        assert [run.status for run in later] == [DagsterRunStatus.SUCCESS], "one run, not two"
    assert stored_versions_are_intact(workspace.storage) >= ASSETS
    shown = status_lines(superstore(workspace, "status").stdout)
    assert set(shown.values()) == {"fresh"}, shown
