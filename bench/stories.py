"""The stories measured: what each one runs, and what it does to the checkout or the dataset
beforehand (untimed), for the pipeline side and the notebook side of one round."""

from __future__ import annotations

import compileall
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT
from bench.workbench import Side, Workbench, superstore

GRID = 'grid={"max_depth": [8, 16], "min_samples_leaf": [1, 5]}'
SWEEP = ("-S", "random_forest.max_depth=4,8", "-S", "logistic_regression.C=0.1,1")
EDITED_GRID = 'grid={"max_depth": [8, 16], "min_samples_leaf": [1, 3]}'


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    target: float | None  # the largest acceptable pipeline / notebook ratio of median wall times
    pipeline: str  # the command, as a person would type it
    seconds: float | None = None  # the largest acceptable median wall time of the pipeline
    notebook: bool = True  # whether the notebook runs beside it (a status has no counterpart)
    previews: bool = False  # True: the pipeline with figure previews on (SUPERSTORE_PREVIEWS=1)


SCENARIOS = {
    s.name: s
    for s in [
        Scenario(
            "cold_dagster",
            "cold, every asset (Dagster's CLI)",
            1.3,
            "dagster asset materialize -m superstore_assets --select '*'",
        ),
        Scenario(
            "cold",
            "cold, every asset",
            1.0,
            "superstore materialize --all (a new home and storage)",
        ),
        Scenario(
            "cold_previews",
            "cold, every asset, previews on",
            None,
            "superstore materialize --all (a new home and storage; SUPERSTORE_PREVIEWS=1)",
            previews=True,
        ),
        Scenario(
            "status",
            "status, nothing changed",
            None,
            "superstore status (after a run)",
            seconds=2.0,
            notebook=False,
        ),
        Scenario(
            "status_recheck",
            "status worked out afresh",
            None,
            "superstore status --recheck (after a run)",
            notebook=False,
        ),
        Scenario(
            "stale", "nothing changed", 0.4, "superstore materialize --stale (after a run)", 3.0
        ),
        Scenario(
            "first_rerun",
            "nothing changed, first rerun after a run",
            None,
            "superstore materialize --stale (right after a run)",
            seconds=1.0,
            notebook=False,
        ),
        Scenario(
            "status_swapped",
            "status right after the swap",
            None,
            "superstore status --dataset MODIFIED (after a run on the original)",
            seconds=0.7,
            notebook=False,
        ),
        Scenario("swapped", "dataset swapped", 1.0, "superstore materialize --dataset MODIFIED"),
        Scenario(
            "swapped_previews",
            "dataset swapped, previews on",
            None,
            "superstore materialize --dataset MODIFIED (SUPERSTORE_PREVIEWS=1)",
            previews=True,
        ),
        Scenario(
            "swapped_back",
            "dataset swapped back",
            0.25,
            "superstore materialize --dataset ORIGINAL (after original, then modified)",
            seconds=3.3,
        ),
        Scenario(
            "text_only",
            "a text column no model reads",
            0.6,
            "superstore materialize --dataset RENAMED (a Customer Name renamed)",
        ),
        Scenario(
            "sweep",
            "a 2x2 parameter sweep",
            2.0,
            "superstore exp run -S random_forest.max_depth=4,8 -S logistic_regression.C=0.1,1 "
            "(after a run; against one notebook run, so under 2.0 is under two cold runs)",
        ),
        Scenario(
            "exp_show",
            "the sweep's table",
            None,
            "superstore exp show (after the sweep)",
            seconds=1.0,
            notebook=False,
        ),
        Scenario(
            "grid",
            "one model's grid edited",
            0.7,
            "superstore materialize, from a copy of the package with random_forest's grid edited",
        ),
    ]
}


def renamed_file(bench: Workbench) -> Path:
    """The original file with one Customer Name renamed, for the text_only story."""
    return bench.work / "renamed.csv"


def prepare_files(chosen: list[str], bench: Workbench) -> None:
    """Write the files the chosen stories read beyond the original and the modified one."""
    if "text_only" in chosen:
        from superstore_assets_tests.scenarios.test_staleness import with_renamed_customer

        with_renamed_customer(bench.original, renamed_file(bench))


def package_copy_with_edited_grid(root: Path) -> Path:
    """A copy of the package whose random_forest grid is edited, compiled (untimed) so that
    neither side pays for compiling it."""
    from superstore_assets_tests.scenarios.test_staleness import package_copy

    code = package_copy(root)
    config = code / "superstore_assets" / "pipeline" / "config.py"
    text = config.read_text()
    if GRID not in text:
        raise RuntimeError(f"random_forest's grid is no longer {GRID} in config.py")
    config.write_text(text.replace(GRID, EDITED_GRID))
    compileall.compile_dir(code / "superstore_assets", quiet=1)
    return code


def setup(scenario: str, bench: Workbench) -> tuple[Side, Side | None]:
    """The pipeline side and the notebook side (None for a status) of one round of `scenario`,
    prepared untimed."""
    original, modified = bench.original, bench.modified
    extra = {"SUPERSTORE_PREVIEWS": "1"} if SCENARIOS[scenario].previews else {}
    if scenario in ("cold", "cold_previews"):
        pipeline = bench.cold(scenario, original, **extra)
        return pipeline, bench.notebook(original)
    dataset = original
    cwd = ROOT
    notebook_cwd = None
    if scenario == "cold_dagster":
        folder = bench.fresh(scenario)
        command = [sys.executable, "-m", "dagster", "asset", "materialize"]
        command += ["-m", "superstore_assets", "--select", "*"]
    elif scenario in ("swapped_back", "first_rerun"):
        folder = bench.copy_of(bench.prepared("original-modified", [original, modified]), scenario)
        command = superstore("materialize", dataset=original)
        if scenario == "first_rerun":  # the run it follows, in this very home (untimed)
            bench.untimed(command, folder, original)
            command = superstore("materialize", "--stale", dataset=original)
    else:
        folder = bench.copy_of(bench.prepared("original", [original]), scenario)
        if scenario == "stale":
            command = superstore("materialize", "--stale", dataset=original)
        elif scenario == "status":
            command = superstore("status", dataset=original)
        elif scenario == "status_recheck":
            command = superstore("status", "--recheck", dataset=original)
        elif scenario in ("swapped", "swapped_previews"):
            dataset = modified
            command = superstore("materialize", dataset=modified)
        elif scenario == "status_swapped":
            # The user's last command, a run or a status, in this very home (untimed).
            bench.untimed(superstore("status", dataset=original), folder, original)
            command = superstore("status", dataset=modified)
        elif scenario == "text_only":
            dataset = renamed_file(bench)
            command = superstore("materialize", dataset=dataset)
        elif scenario == "sweep":
            command = superstore("exp", "run", *SWEEP, dataset=original)
        elif scenario == "exp_show":
            bench.untimed(superstore("exp", "run", *SWEEP, dataset=original), folder, original)
            command = superstore("exp", "show", dataset=original)
        elif scenario == "grid":
            cwd = notebook_cwd = package_copy_with_edited_grid(folder / "code")
            command = superstore("materialize", dataset=original)
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
    pipeline = bench.pipeline(command, folder, dataset, cwd, **extra)
    if scenario in ("stale", "status", "status_recheck"):
        # The home is a copy, so its files are new to a status check; the user's last command
        # ran in this very home (untimed here): it is what "nothing changed since" refers to.
        bench.untimed(superstore("status", dataset=original), folder, original)
    if not SCENARIOS[scenario].notebook:
        return pipeline, None
    return pipeline, bench.notebook(dataset, notebook_cwd)
