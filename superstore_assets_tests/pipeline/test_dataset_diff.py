"""Comparing two datasets row by row, and two runs' metrics."""

import pandas as pd
import pytest

from superstore_assets.engine.history import RunSummary, resolve_run
from superstore_assets.pipeline.dataset_diff import (
    DatasetDiff,
    diff_datasets,
    format_dataset_diff,
    metric_changes,
)


def frame(rows):
    return pd.DataFrame(rows, columns=["Row ID", "Region", "Sales", "Product Name"])


def test_added_removed_and_changed_rows_by_row_id():
    before = frame([[1, "West", 10.0, "A"], [2, "East", 20.0, None], [3, "East", 30.0, "C"]])
    after = frame([[1, "West", 10.0, "A"], [2, "East", 25.0, None], [4, "North", 40.0, "D"]])
    d = diff_datasets(before, after)
    assert (d.added, d.removed, d.changed) == ([4], [3], [2])
    assert d.changed_by_column == {"Sales": 1}  # a missing name on both sides is no change
    assert d.examples == [{"Row ID": 2, "column": "Sales", "before": 20.0, "after": 25.0}]
    assert d.categories == {"Region": {"added": ["North"], "removed": []}}
    text = "\n".join(format_dataset_diff(d))
    assert "1 added, 1 removed, 1 changed" in text and "Sales 20.0 -> 25.0" in text


def test_column_changes_are_reported():
    before = frame([[1, "West", 10.0, "A"]])
    after = before.drop(columns=["Product Name"]).assign(Extra=1)
    d = diff_datasets(before, after)
    assert d.columns_added == ["Extra"] and d.columns_removed == ["Product Name"]
    assert d.changed == []
    assert DatasetDiff(**d.to_json()) == d  # survives a trip through JSON


def test_metric_changes_are_after_minus_before():
    changes = metric_changes(
        {"tree": {"f1": 0.9, "roc_auc": 0.8}, "old": {"f1": 0.1}},
        {"tree": {"f1": 0.85, "roc_auc": 0.9}, "new": {"f1": 0.5}},
    )
    assert changes.keys() == {"tree"}
    assert round(changes["tree"]["f1"], 6) == -0.05 and round(changes["tree"]["roc_auc"], 6) == 0.1


def test_runs_are_named_by_id_hash_latest_or_previous():
    def summary(run_id, sha):
        return RunSummary(run_id, "2026-11-26T10:00:00+00:00", 1.0, "SUCCESS", "x.csv", sha)

    runs = [summary("bbbb1111", "ffff"), summary("aaaa2222", "eeee"), summary("cccc3333", "ffff")]
    assert resolve_run(runs, "latest").run_id == "bbbb1111"
    assert resolve_run(runs, "previous").run_id == "aaaa2222"
    assert resolve_run(runs, "cccc").run_id == "cccc3333"  # a run id prefix
    assert resolve_run(runs, "ff").run_id == "bbbb1111"  # the newest run on that dataset
    with pytest.raises(LookupError, match="starts with 'zz'"):
        resolve_run(runs, "zz")
    with pytest.raises(LookupError, match="no previous run: 1 run"):
        resolve_run(runs[:1], "previous")
