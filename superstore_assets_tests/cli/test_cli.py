"""The commands a user types, run as subprocesses: dagster's CLI, `superstore`, `dagster dev`."""

import subprocess
import time

import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType

from superstore_assets.engine.hashing import sha256_file
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED, ROOT
from superstore_assets_tests.scenarios.test_staleness import with_renamed_customer
from superstore_assets_tests.servers import BIN, dagster_dev, graphql

pytestmark = pytest.mark.slow


def run(args: list[str], env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_multiprocess_executor_runs_a_step_per_process(workspace):
    """SUPERSTORE_EXECUTOR=multiprocess: every step in a process of its own, each reading its
    inputs back from storage. A path through each kind of output (tables, a model, metrics, a
    figure) shows it at about 2.5 s a step; the whole graph would take a minute and a half."""
    selection = "*decision_tree_metrics,profit_by_category"
    done = run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "superstore_assets",
            "--select",
            selection,
        ],
        workspace.env(SUPERSTORE_EXECUTOR="multiprocess"),
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    steps = {
        "orders_raw",
        "orders_clean",
        "model_features",
        "train_val_test",
        "decision_tree",
        "decision_tree_metrics",
        "profit_by_category",
    }
    with workspace.instance() as instance:
        (record,) = instance.get_runs()
        assert record.is_success
        starts = instance.all_logs(record.run_id, of_type=DagsterEventType.STEP_START)
        assert {entry.step_key for entry in starts} == steps
        pids = {entry.dagster_event.pid for entry in starts}
        assert len(pids) == len(starts) == len(steps)  # a process per step
        metrics = instance.get_latest_materialization_event(AssetKey("decision_tree_metrics"))
        assert 0.8 < metrics.asset_materialization.metadata["test_roc_auc"].value <= 1
    assert (workspace.storage / "figures" / "profit_by_category.html").exists()


def test_superstore_materialize_names_a_missing_file_and_exits_2(workspace, tmp_path):
    missing = tmp_path / "nowhere.csv"
    done = run([str(BIN / "superstore"), "materialize", "--dataset", str(missing)], workspace.env())
    assert done.returncode == 2
    assert f"superstore materialize: The dataset {missing} does not exist" in done.stderr
    for trace in ("Traceback", "Stack Trace:", 'File "'):
        assert trace not in done.stderr + done.stdout


ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""
METRICS_QUERY = """{ assetOrError(assetKey: {path: ["random_forest_metrics"]}) {
  ... on Asset { assetMaterializations(limit: 1) { runId metadataEntries { label } } } } }"""


def assert_serves_the_grouped_graph_with_checks_and_metadata(port: int) -> None:
    """The UI's graph: the stage groups, the blocking checks, a metric's metadata on record."""
    nodes = graphql(port, ASSETS_QUERY)["assetNodes"]
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert groups["random_forest"] == "modeling" and groups["target_balance"] == "eda"
    assert set(groups.values()) == {"ingest", "eda", "modeling", "evaluation", "champion", "report"}
    checks = {
        "/".join(n["assetKey"]["path"]): {
            c["name"]: c["blocking"] for c in n["assetChecksOrError"]["checks"]
        }
        for n in nodes
    }
    assert checks["orders_raw"] == {
        "required_columns_present": True,
        "discount_in_range": True,
        "quantity_positive": True,
    }
    latest = graphql(port, METRICS_QUERY)["assetOrError"]["assetMaterializations"][0]
    labels = {entry["label"] for entry in latest["metadataEntries"]}
    assert {"test_f1", "test_roc_auc", "baseline_accuracy", "sha256", "path"} <= labels


def test_day_first_dates_are_refused_in_one_paragraph_then_read_when_configured(
    materialized, tmp_path
):
    workspace = materialized  # every asset materialized from the bundled file, month first
    df = pd.read_csv(BUNDLED, encoding="cp1252", dtype=str, keep_default_na=False)
    for column in ("Order Date", "Ship Date"):
        parts = df[column].str.split("/")
        df[column] = parts.str[1] + "/" + parts.str[0] + "/" + parts.str[2]
    day_first = tmp_path / "day-first.csv"
    df.to_csv(day_first, index=False, encoding="cp1252", lineterminator="\n")

    refused = run(
        [str(BIN / "superstore"), "materialize", "--dataset", str(day_first)], workspace.env()
    )
    assert refused.returncode == 1
    assert f"Cannot clean {day_first}: the dates are day first" in refused.stderr
    assert refused.stderr.count("SUPERSTORE_DATE_FORMAT=%d/%m/%Y") == 1  # said once
    for trace in ("Traceback", "Stack Trace:", 'File "'):
        assert trace not in refused.stderr + refused.stdout

    read = run(
        [str(BIN / "superstore"), "materialize", "--dataset", str(day_first)],
        workspace.env(SUPERSTORE_DATE_FORMAT="%d/%m/%Y"),
    )
    assert read.returncode == 0, read.stderr[-2000:]
    # Read day first, the file gives the bundled file's table again: no model is trained again.
    computed = read.stdout.split("\nReused")[0]
    assert "orders_clean" in computed and "random_forest" not in computed, read.stdout
    clean = pd.read_parquet(workspace.storage / "tables" / "orders_clean.parquet")
    original = pd.to_datetime(
        pd.read_csv(BUNDLED, encoding="cp1252")["Order Date"], format="%m/%d/%Y"
    )
    assert clean["Order Date"].iloc[0] == original.iloc[0]  # the same day, not another month


STALE_QUERY = """{ assetNodes { assetKey { path } staleStatus } }"""
RUNS_QUERY = """{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"""


def dagster_stale(port: int) -> dict[str, str]:
    """Dagster's own stale status of every asset, as the UI shows it ("Materialize unsynced")."""
    nodes = graphql(port, STALE_QUERY)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n["staleStatus"] for n in nodes}


def test_swapping_the_file_under_a_running_ui_rematerializes_with_no_click(materialized, tmp_path):
    workspace = materialized  # every asset materialized from the bundled data's bytes
    dataset = tmp_path / "superstore.csv"
    dataset.write_bytes(BUNDLED.read_bytes())
    env = workspace.env(SUPERSTORE_DATASET=str(dataset))
    with dagster_dev(env, tmp_path / "dev.log") as port:
        assert_serves_the_grouped_graph_with_checks_and_metadata(port)
        # Dagster agrees that everything is in sync after our run.
        stale = dagster_stale(port)
        assert {v for k, v in stale.items() if k != "superstore_csv"} == {"FRESH"}, stale
        # The swap, with the UI open: a customer renamed, which no model reads, so that the
        # run it starts is short (the modified file, through the CLI: scenarios/test_staleness).
        with_renamed_customer(BUNDLED, dataset)
        deadline = time.monotonic() + 180
        finished = []
        while time.monotonic() < deadline and not finished:
            time.sleep(1)
            runs = graphql(port, RUNS_QUERY)["runsOrError"]["results"]
            finished = [
                r
                for r in runs
                if any(t["key"] == "superstore/trigger" for t in r["tags"])
                and r["status"] in ("SUCCESS", "FAILURE", "CANCELED")
            ]
        assert finished and finished[0]["status"] == "SUCCESS", finished
        stale = dagster_stale(port)
        assert {v for k, v in stale.items() if k != "superstore_csv"} == {"FRESH"}, stale
    status = run([str(BIN / "superstore"), "status"], env)
    lines = status.stdout.splitlines()
    assert "(unchanged)" in lines[0] and sha256_file(dataset)[:12] in lines[0]
    assert all(line.split()[1] == "fresh" for line in lines[1:]), status.stdout


def test_dagster_sees_a_new_file_as_unsynced_once_observed(materialized, tmp_path):
    workspace = materialized  # every asset materialized from the bundled data's bytes
    dataset = tmp_path / "superstore.csv"
    dataset.write_bytes(BUNDLED.read_bytes())
    env = workspace.env(SUPERSTORE_DATASET=str(dataset))
    dataset.write_bytes(BUNDLED_MODIFIED.read_bytes())
    observed = run([str(BIN / "superstore"), "observe"], env)
    assert f"changed from {sha256_file(BUNDLED)[:12]}" in observed.stdout
    with dagster_dev(env, tmp_path / "dev.log") as port:
        stale = dagster_stale(port)
    # One hop, as Dagster computes it: what "Materialize unsynced" would run first.
    assert stale["orders_raw"] == "STALE" and stale["orders_clean"] == "FRESH", stale
