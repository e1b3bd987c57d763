"""The benchmark harness runs one story once and writes its table and chart (make bench)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED, ROOT

pytestmark = pytest.mark.slow


def test_bench_measures_one_story_and_writes_the_results(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--runs=1",
            "--warmup=0",
            "--scenarios=stale,status",
            f"--original={BUNDLED}",
            f"--modified={BUNDLED_MODIFIED}",
            f"--out={tmp_path}",
            f"--work={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = (tmp_path / "results.md").read_text()
    assert "| nothing changed | `superstore materialize --stale (after a run)` |" in results
    assert "| pipeline / notebook |" in results and "≤ 0.4 and < 3 s" in results
    assert "| status, nothing changed | `superstore status (after a run)` |" in results
    assert str(BUNDLED) in results

    story, status = json.loads((tmp_path / "results.json").read_text())["scenarios"]
    assert story["name"] == "stale" and story["pipeline_did"] == "nothing run"
    pipeline, notebook = story["samples"][0]["pipeline"], story["samples"][0]["notebook"]
    # Whole processes, with a Python interpreter's worth of memory at least.
    assert pipeline["seconds"] > 0.05 and notebook["seconds"] > 1
    assert pipeline["peak_mb"] > 10 and notebook["peak_mb"] > 50
    assert story["ratio"] == round(story["pipeline"]["median"] / story["notebook"]["median"], 2)
    # The notebook's cells were timed: the models' fitting among them.
    assert any(c["cell"] == "fitted = {}" for c in story["notebook_cells"])
    # A status has no notebook counterpart: measured alone, against its own limit.
    assert status["notebook"] is None and status["ratio"] is None
    assert status["seconds_target"] == 2.0 and status["pipeline_did"] == "status of 22 assets"
    assert status["passed"] == (status["pipeline"]["median"] < 2.0)
    assert "Plotly.newPlot" in (tmp_path / "results.html").read_text()
    # The scratch folder (homes, storage, notebook outputs) is removed afterwards.
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []
