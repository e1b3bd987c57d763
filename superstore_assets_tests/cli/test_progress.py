"""What `superstore materialize` shows while its run goes: the lines on values, then the lines a
person sees from the real command where its output is not a terminal."""

import re

import pytest
from dagster import RunsFilter

from superstore_assets.cli.progress import Tally, duration, left_words, shown_at, step_line
from superstore_assets_tests.conftest import ASSETS, BUNDLED_MODIFIED
from superstore_assets_tests.scenarios.test_staleness import (
    answered_without_dagster,
    names,
    with_renamed_customer,
)

T0 = 1_000.0  # when the run began


def tally(**earlier: float | None) -> Tally:
    return Tally(planned=earlier, started=T0)


def computed(run: Tally, step: str, began: float, seconds: float) -> None:
    run.start(step, began)
    run.materialized(step, seconds, restored=False)
    run.finish(step, began + seconds + 0.05)


def test_a_computed_step_is_one_line_with_the_time_left_by_earlier_runs():
    run = tally(orders_raw=0.4, orders_clean=0.3, random_forest=6.0)
    computed(run, "orders_raw", T0 + 1.0, 0.4)
    line = step_line(run, "orders_raw", T0 + 1.43)
    assert line == (
        "[1/3] orders_raw computed in 0.4 s · 1 done (1 computed, 0 restored) · 1.4 s elapsed"
        " · about 6 s left"
    )


def test_a_restored_step_is_counted_and_takes_nothing_from_the_estimate():
    earlier = {f"step_{n}": 1.0 for n in range(8)} | {"orders_clean": 0.3, "random_forest": 6.0}
    run = tally(**earlier)
    for n in range(8):
        run.start(f"step_{n}", T0)
        run.materialized(f"step_{n}", 0.002, restored=True)
        run.finish(f"step_{n}", T0 + 0.01 * n)
    computed(run, "orders_clean", T0 + 1.0, 0.25)
    assert step_line(run, "orders_clean", T0 + 3.1) == (
        "[ 9/10] orders_clean computed in 0.2 s · 9 done (1 computed, 8 restored) · 3.1 s "
        "elapsed · about 6 s left"
    )


def test_a_running_step_counts_what_it_has_left_and_the_last_line_says_no_time_left():
    run = tally(model_features=0.2, random_forest=6.0, report=0.5)
    computed(run, "model_features", T0, 0.2)
    run.start("random_forest", T0 + 0.3)
    assert left_words(run, T0 + 4.0) == "about 3 s left"  # 2.3 of the forest, 0.5 of the report
    assert left_words(run, T0 + 20) == "about 1 s left"  # the forest is late: the report's
    computed(run, "random_forest", T0 + 0.3, 7.0)
    computed(run, "report", T0 + 7.4, 0.6)
    assert step_line(run, "report", T0 + 8.1) == (
        "[3/3] report computed in 0.6 s · 3 done (3 computed, 0 restored) · 8.1 s elapsed"
    )


def test_a_step_never_computed_before_makes_the_estimate_a_lower_bound_or_unknown():
    assert left_words(tally(orders_raw=0.4, champion=None), T0) == "at least 1 s left"
    assert left_words(tally(orders_raw=None, champion=None), T0) == "time left unknown"
    long = tally(random_forest=75.0, champion=None)
    assert left_words(long, T0) == "at least 1 min 15 s left"
    almost = tally(random_forest=59.6, champion=None)
    assert left_words(almost, T0) == "at least 1 min 00 s left"  # not "60 s"


def test_a_failed_step_is_a_line_with_the_time_it_ran():
    run = tally(orders_raw=0.4, orders_clean=0.3, report=None)
    computed(run, "orders_raw", T0 + 1.0, 0.4)
    run.start("orders_clean", T0 + 1.5)
    run.finish("orders_clean", T0 + 1.8, failed=True)
    assert step_line(run, "orders_clean", T0 + 1.8) == (
        "[2/3] orders_clean failed after 0.3 s · 2 done (1 computed, 0 restored, 1 failed) · "
        "1.8 s elapsed · time left unknown"
    )


def test_durations_read_as_a_person_says_them():
    assert [duration(s) for s in (0.04, 3.14, 9.94, 9.96, 14.4, 59.4, 59.6, 61, 754)] == [
        "0.0 s",
        "3.1 s",
        "9.9 s",
        "10 s",  # not "10.0 s": the unit follows the rounded value
        "14 s",
        "59 s",
        "1 min 00 s",  # not "60 s"
        "1 min 01 s",
        "12 min 34 s",
    ]


def test_the_display_is_on_unless_dagsters_log_of_every_step_is():
    assert shown_at("WARNING") and shown_at("info") and shown_at("ERROR")
    assert not shown_at("DEBUG") and not shown_at("debug")


# A duration as `duration` says it: `0.2 s`, `14 s` (a loaded machine's forest), `2 min 05 s`.
DURATION = r"(?:\d\.\d s|\d\d s|\d+ min \d\d s)"
LINE = re.compile(
    rf"\[(?P<n>[ \d]{{2}})/24\] (?P<step>\w+) computed in {DURATION} · (?P<done>\d+) done "
    rf"\((?P<computed>\d+) computed, (?P<restored>\d+) restored\) · {DURATION} elapsed"
    r"(?P<left> · .*)?"
)


def progress_lines(stdout: str) -> list[re.Match]:
    """The progress lines of a run's output, each matched whole (any other line in brackets
    fails the match)."""
    found = [LINE.fullmatch(line) for line in stdout.splitlines() if line.startswith("[")]
    assert all(found), stdout
    return found


@pytest.mark.slow
def test_the_run_prints_a_line_per_computed_step_and_none_for_a_restored_one(workspace, tmp_path):
    """A cold run's output: a line per step as it finishes, then where everything went; the
    rerun and the status it leaves; then a run that restores most of the graph."""
    first = workspace.superstore("materialize", SUPERSTORE_DATASET=str(BUNDLED_MODIFIED))
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stderr == ""  # Dagster's log of every step is off at the default level
    out = first.stdout
    assert "succeeded in" in out and str(BUNDLED_MODIFIED) in out
    assert f"DAGSTER_HOME={workspace.home}" in out
    assert (
        f"Computed ({ASSETS}): orders_raw, orders_clean" in out
        and "Checks: 10 passed, 0 failed" in out
    )
    assert f"Report: {workspace.storage / 'report' / 'report.html'}" in out
    lines = progress_lines(first.stdout)
    assert [int(m["n"]) for m in lines] == list(range(1, ASSETS + 1))
    assert [m["step"] for m in lines][:3] == ["orders_raw", "orders_clean", "model_features"]
    assert {m["step"] for m in lines} == names(first.stdout, "Computed")
    assert all(m["left"] == " · time left unknown" for m in lines[:-1])  # a new home: no times
    assert lines[-1]["n"] == "24" and lines[-1]["left"] is None
    assert lines[-1]["done"] == lines[-1]["computed"] == "24"
    assert first.stdout.index(lines[-1][0]) < first.stdout.index("\nRun ")  # before the summary

    # The run left the answer for what comes next: a rerun and a status right after it are
    # told from the kept status, without loading Dagster or opening the instance.
    dataset = ["--dataset", str(BUNDLED_MODIFIED)]
    rerun = answered_without_dagster(workspace, "materialize", *dataset)
    assert rerun.splitlines()[-1] == f"Nothing is stale: 0 computed, 0 reused, {ASSETS} untouched."
    shown = answered_without_dagster(workspace, "status", *dataset).splitlines()
    assert len(shown) == ASSETS + 1, shown
    assert all(line.split()[1] == "fresh" for line in shown[1:]), shown
    with workspace.instance() as instance:
        assert instance.get_runs_count(RunsFilter(statuses=[])) == 1

    # A customer renamed: the models restore what model_features' unchanged bytes gave them.
    renamed = tmp_path / "renamed.csv"
    with_renamed_customer(BUNDLED_MODIFIED, renamed)
    second = workspace.superstore("materialize", "--dataset", str(renamed))
    assert second.returncode == 0, second.stdout + second.stderr
    restored = names(second.stdout, "Reused")
    assert {"random_forest", "decision_tree_metrics"} <= restored
    lines = progress_lines(second.stdout)
    assert {m["step"] for m in lines} == names(second.stdout, "Computed")
    assert not {m["step"] for m in lines} & restored
    assert [int(m["computed"]) for m in lines] == list(range(1, len(lines) + 1))
    assert int(lines[-1]["done"]) == int(lines[-1]["computed"]) + int(lines[-1]["restored"])
    assert all(m["left"].startswith(" · about ") for m in lines if m["left"])  # timed before
