"""`superstore history`: the runs on record, read back from the instance."""

import hashlib
import json
import subprocess

import pytest

from superstore_assets.history import format_history, run_history
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED, ROOT, run_pipeline
from superstore_assets_tests.servers import BIN

pytestmark = pytest.mark.slow


def test_two_runs_on_two_datasets_are_told_apart(workspace):
    with workspace.instance() as instance:
        first = run_pipeline(workspace, BUNDLED, instance=instance)
        second = run_pipeline(workspace, BUNDLED_MODIFIED, instance=instance)
        assert first.success and second.success
        summaries = run_history(instance)
    assert [s.run_id for s in summaries] == [second.run_id, first.run_id]  # newest first
    newest, oldest = summaries
    assert newest.dataset == "superstore_modified.csv" and oldest.dataset == "superstore.csv"
    assert oldest.dataset_sha256 == hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
    assert newest.dataset_sha256 == hashlib.sha256(BUNDLED_MODIFIED.read_bytes()).hexdigest()
    assert newest.status == "SUCCESS" and newest.seconds > 0
    assert len(newest.computed) == 22 and newest.reused == []
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

    done = subprocess.run(
        [str(BIN / "superstore"), "history", "--json"],
        cwd=ROOT,
        env=workspace.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert [run["run_id"] for run in json.loads(done.stdout)] == [second.run_id, first.run_id]


def test_history_of_an_empty_home(workspace):
    done = subprocess.run(
        [str(BIN / "superstore"), "history"],
        cwd=ROOT,
        env=workspace.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"No runs on record in {workspace.home}."
