"""`superstore history`: the runs on record, read back from the instance."""

import hashlib
import json
import re

import pytest
from dagster import AssetKey

from superstore_assets.cli.history import format_history
from superstore_assets.engine.history import compare_runs, run_history
from superstore_assets_tests.conftest import (
    ASSETS,
    BUNDLED,
    BUNDLED_MODIFIED,
    REAL_MODIFIED,
    REAL_SHA256,
    copied,
    require_real,
    run_pipeline,
)

pytestmark = pytest.mark.slow


def test_two_runs_on_two_datasets_are_told_apart(materialized, bundled_run):
    workspace, (_, first) = materialized, bundled_run  # the first run: on the bundled data
    with workspace.instance() as instance:
        second = run_pipeline(workspace, BUNDLED_MODIFIED, instance=instance)
        assert first.success and second.success
        summaries = run_history(instance)
    assert [s.run_id for s in summaries] == [second.run_id, first.run_id]  # newest first
    newest, oldest = summaries
    assert newest.dataset == "superstore_modified.csv" and oldest.dataset == "superstore.csv"
    assert oldest.dataset_sha256 == hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
    assert newest.dataset_sha256 == hashlib.sha256(BUNDLED_MODIFIED.read_bytes()).hexdigest()
    assert newest.status == "SUCCESS" and newest.seconds > 0
    assert len(newest.computed) == ASSETS and newest.reused == []
    assert set(newest.metrics) == {"decision_tree", "random_forest", "logistic_regression"}
    assert newest.metrics["random_forest"]["f1"] != oldest.metrics["random_forest"]["f1"]
    table = format_history(summaries).splitlines()
    assert table[0].split()[:4] == ["run", "started", "(UTC)", "took"]
    assert table[1].startswith(second.run_id[:8]) and "superstore_modified.csv" in table[1]
    assert f"{newest.metrics['random_forest']['f1']:.3f}" in table[1]

    # The second run's report compares itself with the first, on the other dataset.
    page = (workspace.storage / "report" / "report.html").read_text()
    assert "Compared with the earlier run on other data" in page
    assert f"Run {first.run_id} read superstore.csv" in page
    change = newest.metrics["random_forest"]["f1"] - oldest.metrics["random_forest"]["f1"]
    assert f"{change:+.4f}" in page

    with workspace.instance() as instance:
        comparison = compare_runs(instance, "previous", "latest")
    assert comparison["dataset"]["changed"] and len(comparison["dataset"]["changed"]) == 52
    assert comparison["dataset"]["changed_by_column"]["Sales"] == 20
    assert comparison["dataset"]["changed_by_column"]["Profit"] == 26
    assert comparison["recomputed"] == newest.computed
    assert comparison["metric_changes"]["random_forest"]["f1"] == pytest.approx(change)

    done = workspace.superstore("history", "--json")
    assert done.returncode == 0, done.stderr
    assert [run["run_id"] for run in json.loads(done.stdout)] == [second.run_id, first.run_id]


def test_diff_flags_a_column_whose_distribution_moved(materialized, tmp_path):
    import pandas as pd

    table = pd.read_csv(BUNDLED, dtype=str, keep_default_na=False, encoding="cp1252")
    table["Discount"] = [f"{min(float(v) + 0.1, 0.9):g}" for v in table["Discount"]]
    drifted = tmp_path / "discount_up.csv"
    table.to_csv(drifted, index=False, encoding="cp1252")
    # In-process, and of the one asset that reads the file: the diff is what is tested, and
    # it reads the two datasets' rows (the files the runs observed), not what lies below.
    raw = run_pipeline(materialized, drifted, asset_selection=[AssetKey("orders_raw")])
    assert raw.success
    done = materialized.superstore("diff", "previous", "latest")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  distribution drift (PSI; 0.2 or more is flagged):" in lines, done.stdout
    (discount,) = [line for line in lines if line.split()[:1] == ["Discount"]]
    assert "DRIFTED" in discount and discount.endswith("; feeds Discount"), discount
    assert not any("DRIFTED" in line for line in lines if line is not discount), done.stdout
    as_json = json.loads(materialized.superstore("diff", "previous", "latest", "--json").stdout)
    assert as_json["dataset"]["drift"]["Discount"]["drifted"] is True


def test_history_of_an_empty_home(workspace):
    done = workspace.superstore("history")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"No runs on record in {workspace.home}."


@pytest.mark.real_data
def test_acceptance_real_then_modified(real_runs, tmp_path):
    """A run on the real file, then one on the modified file (the session's pair, copied):
    history and diff tell them apart."""
    modified = require_real(REAL_MODIFIED)
    workspace = copied(real_runs.both, tmp_path / "pair")
    history = json.loads(workspace.superstore("history", "--json").stdout)
    assert [run["dataset_sha256"] for run in history] == [
        hashlib.sha256(modified.read_bytes()).hexdigest(),
        REAL_SHA256,
    ]
    page = tmp_path / "diff.html"
    done = workspace.superstore("diff", "previous", "latest", "--html", str(page))
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    assert "0 added, 0 removed, 52 changed (by Row ID)" in text
    assert "Sales 22" in text and "Profit 31" in text and "Ship Mode 1" in text
    for model in ("decision_tree", "random_forest", "logistic_regression"):
        line = next(line for line in text.splitlines() if line.strip().startswith(model))
        assert re.search(r"f1 [+-]0\.\d{4}", line) and re.search(r"roc_auc [+-]0\.\d{4}", line)
    assert "52 changed" in page.read_text()
    as_json = json.loads(workspace.superstore("diff", "previous", "latest", "--json").stdout)
    assert len(as_json["dataset"]["changed"]) == 52
    assert set(as_json["dataset"]["changed_by_column"]) == {
        "Ship Mode",
        "State",
        "Category",
        "Sub-Category",
        "Product Name",
        "Sales",
        "Profit",
    }
    report = (workspace.storage / "report" / "report.html").read_text()
    assert f"Run {history[1]['run_id']} read Sample - Superstore.csv" in report


def test_diff_names_an_unknown_run(workspace):
    done = workspace.superstore("diff", "previous", "latest")
    assert done.returncode == 2
    assert "there is no previous run: 0 run(s) on record" in done.stderr
