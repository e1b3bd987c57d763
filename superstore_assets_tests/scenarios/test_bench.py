"""The benchmark harness runs one story once and writes its table and chart (make bench)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from superstore_assets_tests.conftest import ASSETS, BUNDLED, BUNDLED_MODIFIED, ROOT

pytestmark = pytest.mark.slow


def test_bench_measures_one_story_and_writes_the_results(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--runs=1",
            "--warmup=0",
            "--scenarios=stale,status_swapped",
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
    swapped = "`superstore status --dataset MODIFIED (after a run on the original)`"
    assert f"| status right after the swap | {swapped} |" in results
    assert str(BUNDLED) in results
    # The defaults a user gets: previews off, and a story of its own for them on.
    assert "Both sides run with the defaults a user gets: figure previews off" in results

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
    # Every asset is stale after the swap (the file's every line is read by orders_raw).
    assert status["seconds_target"] == 0.7
    assert status["pipeline_did"] == f"status of {ASSETS} assets, {ASSETS} not fresh"
    assert status["passed"] == (status["pipeline"]["median"] < 0.7)
    assert "Plotly.newPlot" in (tmp_path / "results.html").read_text()
    # The scratch folder (homes, storage, notebook outputs) is removed afterwards.
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []


def _size(rows: int, seconds: float | None, peak_mb: int) -> dict:
    side = {"median": seconds, "peak_mb": peak_mb, "outcome": "ok" if seconds else "failed"}
    return {"rows": rows, "file_mb": 1.0, "pipeline": side, "notebook": dict(side)}


def test_bench_scale_says_whether_each_target_at_scale_is_met():
    from bench.scale import targets

    met = targets(
        [_size(99_940, 30.0, 700), _size(999_400, 90.0, 1200), _size(9_994_000, 140.0, 3000)]
    )
    assert met == [
        "- Pipeline / notebook: 99,940 rows 1.00 (at most 1.0) **met**; 999,400 rows 1.00 "
        "(at most 1.0) **met**; 9,994,000 rows 1.00 (at most 1.15) **met**.",
        "- Time, pipeline cold run at 9,994,000 rows: 140.0 s against 150 s: **met**.",
        "- Memory, pipeline peak at 9,994,000 rows: 3,000 MB against 3,072 MB (3 GiB): **met**.",
    ]
    slower = _size(999_400, 90.0, 1200)
    slower["notebook"]["median"] = 75.0
    missed = targets([slower, _size(9_994_000, None, 9000)])
    assert missed[0] == (
        "- Pipeline / notebook: 999,400 rows 1.20 (at most 1.0) **missed**; 9,994,000 rows: a "
        "side did not finish, **missed**."
    )
    assert missed[1].endswith("did not finish against 150 s: **missed**.")
    assert missed[2].endswith("**missed**.")  # no finished run is no pass, whatever its peak
    assert len(targets([_size(99_940, 10.0, 700)])) == 1  # no 10M size: no time or memory verdict


def test_bench_scale_draws_seconds_and_memory_against_lines(tmp_path):
    from bench.scale import chart, write_chart

    sizes = [_size(999_400, 90.0, 1200), _size(99_940, 30.0, 700)]
    for size in sizes:
        size["notebook"].update(median=size["pipeline"]["median"] / 2, peak_mb=500)
    results = {"date": "2026-12-03", "machine": {"commit": "abc1234"}, "sizes": sizes}
    drawn = [(t.name, t.xaxis, list(t.x), list(t.y)) for t in chart(results).data]
    assert drawn == [
        ("pipeline", "x", [99_940, 999_400], [30.0, 90.0]),
        ("pipeline", "x2", [99_940, 999_400], [700, 1200]),
        ("notebook", "x", [99_940, 999_400], [15.0, 45.0]),
        ("notebook", "x2", [99_940, 999_400], [500, 500]),
    ]
    write_chart(results, tmp_path / "scale_results.html")
    page = (tmp_path / "scale_results.html").read_text()
    assert "Plotly.newPlot" in page and 'src="plotly.min.js"' in page


def test_what_a_status_did_counts_the_assets_and_those_not_fresh(tmp_path):
    from bench.readings import what_it_did

    observed = "superstore_csv  observed  sha256 9c287787a3e3… (unchanged) data/superstore.csv\n"
    fresh = tmp_path / "fresh.log"
    fresh.write_text(observed + "orders_raw    fresh\norders_clean  fresh\n")
    assert what_it_did(fresh) == "status of 2 assets"
    swapped = tmp_path / "swapped.log"
    swapped.write_text(
        observed + "orders_raw    stale    <- superstore_csv changed (sha256 9c28…→55ed…)\n"
        "orders_clean  fresh\n"
    )
    assert what_it_did(swapped) == "status of 2 assets, 1 not fresh"
