"""The commands a user types, run as subprocesses: dagster's CLI and `superstore` (started as the
script, or forked from the test process's launcher where only its output is asserted:
commands.py). (`dagster dev` with the dataset file swapped under it: scenarios/test_browser.py,
on that module's server.)"""

import subprocess

import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType

from superstore_assets_tests.conftest import BUNDLED, ROOT
from superstore_assets_tests.servers import BIN

pytestmark = pytest.mark.slow


def run(args: list[str], env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_multiprocess_executor_runs_a_step_per_process(workspace):
    """SUPERSTORE_EXECUTOR=multiprocess: every step in a process of its own, each reading its
    inputs back from storage. A path through each kind of output (tables, a model, metrics, a
    figure) shows it at about a second a step, each forked from a forkserver that has imported
    the definitions (definitions.MULTIPROCESS); the whole graph would take several times as long.
    """
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

    # Forked from the launcher (commands.py): what is asserted is the command's output, not its
    # start, which the test above sees in a process started as the script.
    refused = workspace.superstore("materialize", "--dataset", str(day_first))
    assert refused.returncode == 1
    assert f"Cannot clean {day_first}: the dates are day first" in refused.stderr
    assert refused.stderr.count("SUPERSTORE_DATE_FORMAT=%d/%m/%Y") == 1  # said once
    for trace in ("Traceback", "Stack Trace:", 'File "'):
        assert trace not in refused.stderr + refused.stdout

    read = workspace.superstore(
        "materialize", "--dataset", str(day_first), SUPERSTORE_DATE_FORMAT="%d/%m/%Y"
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
