"""Time the pipeline against the notebook it replaces, in six stories, and write the results.

    .venv/bin/python bench/run.py                     # 5 runs a side after 1 warm-up (make bench)
    .venv/bin/python bench/run.py --runs 1 --warmup 0 --scenarios stale   # a quick look

Every sample is a whole process, timed from its start to its exit, with the peak memory of its
process tree (bench/measure.py). In each story the pipeline and the notebook take turns, the
order swapped from one round to the next, so that a busy machine slows both alike. The pipeline
runs in a Dagster home and storage folder of its own for every sample, copied from a home made
once beforehand (outside the timing) with the story's earlier runs in it.

Writes results.md, results.json and results.html (a plotly chart) to --out (default bench/).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's package and bench/, not an installed copy

from bench.measure import Sample, measure  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "superstore.ipynb"
SHARED = ROOT.parent / "shared" / "data" / "superstore"
REAL = (SHARED / "Sample - Superstore.csv", SHARED / "Sample - Superstore (modified).csv")
BUNDLED = (ROOT / "data" / "superstore.csv", ROOT / "data" / "superstore_modified.csv")
GRID = 'grid={"max_depth": [8, 16], "min_samples_leaf": [1, 5]}'
EDITED_GRID = 'grid={"max_depth": [8, 16], "min_samples_leaf": [1, 3]}'


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    target: float | None  # the largest acceptable pipeline / notebook ratio of median wall times
    pipeline: str  # the command, as a person would type it
    seconds: float | None = None  # the largest acceptable median wall time of the pipeline
    notebook: bool = True  # whether the notebook runs beside it (a status has no counterpart)


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
            1.3,
            "superstore materialize --all (a new home and storage)",
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
        Scenario("swapped", "dataset swapped", 1.1, "superstore materialize --dataset MODIFIED"),
        Scenario(
            "swapped_back",
            "dataset swapped back",
            0.5,
            "superstore materialize --dataset ORIGINAL (after original, then modified)",
        ),
        Scenario(
            "text_only",
            "a text column no model reads",
            0.6,
            "superstore materialize --dataset RENAMED (a Customer Name renamed)",
        ),
        Scenario(
            "grid",
            "one model's grid edited",
            0.7,
            "superstore materialize, from a copy of the package with random_forest's grid edited",
        ),
    ]
}


@dataclass
class Side:
    """One timed command and where it runs."""

    command: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass
class Round:
    pipeline: Sample
    notebook: Sample | None
    pipeline_did: str = ""
    breakdown: dict = field(default_factory=dict)
    notebook_cells: list = field(default_factory=list)
    load: float = 0.0


def base_env(**extra: str) -> dict[str, str]:
    """This environment without SUPERSTORE_* settings, previews off, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERSTORE_")}
    env.pop("DAGSTER_HOME", None)
    env["SUPERSTORE_PREVIEWS"] = "0"
    env.update(extra)
    return env


class Workbench:
    """Scratch folders, datasets and prepared homes for one session of measurements."""

    def __init__(self, work: Path, original: Path, modified: Path):
        self.work, self.original, self.modified = work, original, modified
        self.renamed = work / "renamed.csv"
        self._prepared: dict[str, Path] = {}
        self._count = 0

    def fresh(self, label: str) -> Path:
        self._count += 1
        folder = self.work / f"{self._count:03d}-{label}"
        folder.mkdir(parents=True)
        return folder

    def workspace(self, folder: Path, dataset: Path) -> dict[str, str]:
        """The environment for a pipeline run with its home and storage in `folder`."""
        home = folder / "dagster_home"
        home.mkdir(exist_ok=True)
        settings = home / "dagster.yaml"
        if not settings.exists():
            shutil.copyfile(ROOT / "superstore_assets" / "dagster.yaml", settings)
        return base_env(
            DAGSTER_HOME=str(home),
            SUPERSTORE_STORAGE=str(folder / "storage"),
            SUPERSTORE_DATASET=str(dataset),
        )

    def prepared(self, name: str, datasets: list[Path]) -> Path:
        """A folder with a home and storage after `superstore materialize` on each dataset in
        turn; made once, untimed, and copied for each sample."""
        if name not in self._prepared:
            folder = self.fresh(f"prepared-{name}")
            for dataset in datasets:
                run_checked(superstore("materialize", dataset=dataset), ROOT, self, folder, dataset)
            self._prepared[name] = folder
        return self._prepared[name]

    def copy_of(self, prepared: Path, label: str) -> Path:
        folder = self.fresh(label)
        for part in ("dagster_home", "storage"):
            shutil.copytree(prepared / part, folder / part)
        return folder

    def notebook(self, dataset: Path, cwd: Path | None = None) -> tuple[Side, Path]:
        folder = self.fresh("notebook")
        command = [sys.executable, str(ROOT / "bench" / "notebook.py"), str(NOTEBOOK)]
        command += ["--timings", str(folder / "cells.json")]
        if cwd is not None:
            command += ["--cwd", str(cwd)]
        env = base_env(SUPERSTORE_DATASET=str(dataset), SUPERSTORE_NOTEBOOK_OUT=str(folder / "out"))
        return Side(command, ROOT, env), folder / "cells.json"


def superstore(*args: str, dataset: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", "superstore_assets.cli", *args]
    return command + (["--dataset", str(dataset)] if dataset is not None else [])


def run_checked(command: list[str], cwd: Path, bench: Workbench, folder: Path, dataset: Path):
    """An untimed preparation step; its failure stops the session with its output."""
    done = subprocess.run(
        command, cwd=cwd, env=bench.workspace(folder, dataset), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


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


# Each story: (pipeline side, notebook side) for one round, prepared untimed.
def setup(scenario: str, bench: Workbench) -> tuple[Side, Side | None, Path, Path]:
    original, modified = bench.original, bench.modified
    dataset = original
    cwd = ROOT
    notebook_cwd = None
    if scenario in ("cold", "cold_dagster"):
        folder = bench.fresh(scenario)
        if scenario == "cold":
            command = superstore("materialize", "--all", dataset=original)
        else:
            command = [sys.executable, "-m", "dagster", "asset", "materialize"]
            command += ["-m", "superstore_assets", "--select", "*"]
    elif scenario == "swapped_back":
        folder = bench.copy_of(bench.prepared("original-modified", [original, modified]), scenario)
        command = superstore("materialize", dataset=original)
    else:
        folder = bench.copy_of(bench.prepared("original", [original]), scenario)
        if scenario == "stale":
            command = superstore("materialize", "--stale", dataset=original)
        elif scenario == "status":
            command = superstore("status", dataset=original)
        elif scenario == "status_recheck":
            command = superstore("status", "--recheck", dataset=original)
        elif scenario == "swapped":
            dataset = modified
            command = superstore("materialize", dataset=modified)
        elif scenario == "text_only":
            dataset = bench.renamed
            command = superstore("materialize", dataset=bench.renamed)
        elif scenario == "grid":
            cwd = notebook_cwd = package_copy_with_edited_grid(folder / "code")
            command = superstore("materialize", dataset=original)
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
    pipeline = Side(command, cwd, bench.workspace(folder, dataset))
    if scenario in ("stale", "status", "status_recheck"):
        # The home is a copy, so its files are new to a status check; the user's last command
        # ran in this very home (untimed here): it is what "nothing changed since" refers to.
        run_checked(superstore("status", dataset=original), ROOT, bench, folder, original)
    if not SCENARIOS[scenario].notebook:
        return pipeline, None, folder, folder / "no-notebook"
    notebook, cells = bench.notebook(dataset, notebook_cwd)
    return pipeline, notebook, folder, cells


def what_it_did(log: Path) -> str:
    """`computed 3, reused 19` from the superstore CLI's output ('' for other commands)."""
    text = log.read_text(errors="replace")
    if "Nothing is stale" in text:
        return "nothing run"
    if " observed " in text and "Computed" not in text:
        return f"status of {len(text.splitlines()) - 1} assets"
    computed = re.search(r"^Computed \((\d+)\)", text, flags=re.M)
    reused = re.search(r"^Reused \((\d+)\)", text, flags=re.M)
    if computed is None:
        return ""
    return f"computed {computed.group(1)}, reused {reused.group(1) if reused else 0}"


def run_breakdown(home: Path) -> dict:
    """From the newest run's record: its duration, the seconds each asset's step reported
    (compute_seconds), and how many assets it computed and reused."""
    from dagster import DagsterInstance

    from superstore_assets.engine.freshness import REUSED_FROM_RUN

    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            return {}
        record = records[0]
        steps, computed, reused = 0.0, 0, 0
        assets = {}
        for key in instance.get_asset_keys():
            event = instance.get_latest_materialization_event(key)
            if event is None or event.run_id != record.dagster_run.run_id:
                continue
            metadata = event.asset_materialization.metadata
            value = metadata.get("compute_seconds")
            steps += value.value if value is not None else 0.0
            assets[key.to_user_string()] = value.value if value is not None else None
            if REUSED_FROM_RUN in metadata:
                reused += 1
            else:
                computed += 1
        run_seconds = (record.end_time or 0) - (record.start_time or 0)
        return {
            "run_seconds": round(run_seconds, 3),
            "asset_compute_seconds": round(steps, 3),
            "computed": computed,
            "reused": reused,
            "assets": assets,
        }


def run_round(scenario: str, bench: Workbench, pipeline_first: bool) -> Round:
    pipeline, notebook, folder, cells = setup(scenario, bench)
    load = os.getloadavg()[0]
    order: list[tuple[str, Side]] = [("pipeline", pipeline), ("notebook", notebook)]
    order = [(name, side) for name, side in order if side is not None]
    samples: dict[str, Sample | None] = {"notebook": None}
    for name, side in order if pipeline_first else reversed(order):
        log = folder / f"{name}.log"
        samples[name] = measure(side.command, side.cwd, side.env, log)
        if samples[name].returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{scenario}: the {name} failed ({' '.join(side.command)}):\n{tail}")
    result = Round(samples["pipeline"], samples["notebook"], load=load)
    result.pipeline_did = what_it_did(Path(samples["pipeline"].log))
    if scenario.startswith("cold"):
        result.breakdown = run_breakdown(Path(pipeline.env["DAGSTER_HOME"]))
        counts = result.breakdown
        result.pipeline_did = f"computed {counts['computed']}, reused {counts['reused']}"
    if cells.exists():
        result.notebook_cells = json.loads(cells.read_text())
    return result


def machine() -> dict:
    cpu = platform.processor() or "?"
    memory = "?"
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", info).group(1).strip()
        total = re.search(r"MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text()).group(1)
        memory = f"{int(total) / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    from superstore_assets.engine.provenance import git_state

    git = git_state(ROOT)
    commit = git["git_commit"][:7]
    dirty = git["git_dirty"] == "true"
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("dagster", "pandas", "scikit-learn")},
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
    }


def describe_dataset(path: Path) -> dict:
    data = path.read_bytes()
    return {
        "path": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "lines": data.count(b"\n"),
    }


def summarize(rounds: list[Round], pick: Callable[[Round], Sample | None]) -> dict | None:
    if pick(rounds[0]) is None:
        return None
    seconds = [pick(r).seconds for r in rounds]
    return {
        "median": round(statistics.median(seconds), 2),
        "min": min(seconds),
        "max": max(seconds),
        "peak_mb": round(statistics.median(pick(r).peak_mb for r in rounds)),
        "max_process_mb": round(statistics.median(pick(r).max_process_mb for r in rounds)),
    }


def session_results(
    args, bench: Workbench, measured: dict[str, list[Round]], note: str, where: dict
) -> dict:
    scenarios = []
    for name, rounds in measured.items():
        scenario = SCENARIOS[name]
        pipeline = summarize(rounds, lambda r: r.pipeline)
        notebook = summarize(rounds, lambda r: r.notebook)
        ratio = round(pipeline["median"] / notebook["median"], 2) if notebook else None
        # Each round's own ratio: the two sides ran back to back, under the same load.
        paired = [r.pipeline.seconds / r.notebook.seconds for r in rounds if r.notebook] or [0.0]
        passed = (scenario.target is None or (ratio is not None and ratio <= scenario.target)) and (
            scenario.seconds is None or pipeline["median"] < scenario.seconds
        )
        did = sorted({r.pipeline_did for r in rounds if r.pipeline_did})
        breakdown = {
            key: round(statistics.median(r.breakdown[key] for r in rounds), 2)
            for key in ("run_seconds", "asset_compute_seconds")
            if key in (rounds[0].breakdown or {})
        }
        scenarios.append(
            {
                "name": name,
                "title": scenario.title,
                "pipeline_command": scenario.pipeline,
                "pipeline": pipeline,
                "notebook": notebook,
                "ratio": ratio,
                "paired_ratio": {
                    "median": round(statistics.median(paired), 2),
                    "min": round(min(paired), 2),
                    "max": round(max(paired), 2),
                },
                "target": scenario.target,
                "seconds_target": scenario.seconds,
                "passed": passed,
                "pipeline_did": "; ".join(did),
                "pipeline_breakdown": breakdown,
                "notebook_cells": median_cells(rounds),
                "load_1min": [round(r.load, 2) for r in rounds],
                "samples": [
                    {
                        "pipeline": r.pipeline.to_json(),
                        "notebook": r.notebook.to_json() if r.notebook else None,
                    }
                    for r in rounds
                ],
            }
        )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": args.runs,
        "warmup": args.warmup,
        "machine": where,
        "datasets": {
            "original": describe_dataset(bench.original),
            "modified": describe_dataset(bench.modified),
        },
        "dataset_note": note,
        "scenarios": scenarios,
    }


def median_cells(rounds: list[Round]) -> list[dict]:
    """The notebook's code cells with their median seconds over the rounds."""
    if not rounds or not rounds[0].notebook_cells:
        return []
    cells = []
    for index, cell in enumerate(rounds[0].notebook_cells):
        seconds = [r.notebook_cells[index]["seconds"] for r in rounds if r.notebook_cells]
        cells.append({"cell": cell["cell"], "seconds": round(statistics.median(seconds), 2)})
    return cells


def format_markdown(results: dict) -> str:
    m = results["machine"]
    loads = [x for s in results["scenarios"] for x in s["load_1min"]]
    lines = [
        "# The pipeline against the notebook it replaces",
        "",
        f"Measured {results['date']} by `bench/run.py` (`make bench`): {results['runs']} runs of "
        f"each side per story after {results['warmup']} warm-up round(s), the pipeline and the "
        "notebook taking turns (the order swapped every round). Every sample is a whole process: "
        "wall seconds from its start to its exit; peak MB is the largest sum of resident memory "
        "over the process and its children (sampled every 0.1 s; the notebook's are nbclient "
        "and its kernel). Figure previews off on both sides (`SUPERSTORE_PREVIEWS=0`).",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {m['cpus']} × {m['cpu']} |",
        f"| memory | {m['memory']} |",
        f"| load average (1 min) at the start of each round | "
        f"{min(loads):.2f} min, {statistics.median(loads):.2f} median, {max(loads):.2f} max |",
        f"| Python | {m['python']} |",
        f"| dagster / pandas / scikit-learn | {m['dagster']} / {m['pandas']} / "
        f"{m['scikit-learn']} |",
        f"| commit | {m['commit']} |",
        f"| OPENBLAS_CORETYPE | {m['OPENBLAS_CORETYPE']} |",
        "",
        "| dataset | file | SHA-256 | lines |",
        "|---|---|---|---|",
    ]
    for role, d in results["datasets"].items():
        lines.append(f"| {role} | `{d['path']}` | `{d['sha256'][:12]}…` | {d['lines']:,} |")
    if results["dataset_note"]:
        lines += ["", f"**Note:** {results['dataset_note']}"]
    lines += [
        "",
        "## Median wall seconds (min–max) and peak memory",
        "",
        "| story | pipeline command | pipeline s | pipeline MB | notebook s | notebook MB "
        "| pipeline / notebook | target | | round by round | the pipeline did |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        p, n, q = s["pipeline"], s["notebook"], s["paired_ratio"]
        targets = [f"≤ {s['target']}"] if s["target"] is not None else []
        targets += [f"< {s['seconds_target']:g} s"] if s.get("seconds_target") else []
        lines.append(
            f"| {s['title']} | `{s['pipeline_command']}` "
            f"| {p['median']:.2f} ({p['min']:.2f}–{p['max']:.2f}) | {p['peak_mb']} "
            + (
                f"| {n['median']:.2f} ({n['min']:.2f}–{n['max']:.2f}) | {n['peak_mb']} "
                f"| **{s['ratio']:.2f}** "
                if n
                else "| – | – | – "
            )
            + f"| {' and '.join(targets) or '–'} "
            f"| {'pass' if s['passed'] else 'FAIL' if targets else ''} "
            + (f"| {q['median']:.2f} ({q['min']:.2f}–{q['max']:.2f}) " if n else "| – ")
            + f"| {s['pipeline_did']} |"
        )
    by_name = {s["name"]: s for s in results["scenarios"]}
    if "swapped_back" in by_name and "cold" in by_name:
        back, cold = by_name["swapped_back"]["pipeline"], by_name["cold"]["pipeline"]
        share = back["median"] / cold["median"]
        lines += [
            "",
            f"Swapped back against cold, both the pipeline's medians: {back['median']:.2f} s / "
            f"{cold['median']:.2f} s = **{share:.2f}** (target: under 1/3, "
            f"{'pass' if share < 1 / 3 else 'FAIL'}).",
        ]
    lines += [
        "",
        "pipeline / notebook is the ratio of the medians, judged against the target; round by "
        "round is the median (min–max) of each round's own ratio, its two runs back to back "
        "under the same load, for a sense of how steady the ratio is on this machine.",
        "",
        "The notebook runs every cell each time, from a new kernel (`bench/notebook.py`, "
        "nbclient): on the original file for the cold, nothing-changed and swapped-back stories, "
        "on the file of the story otherwise, and from the edited copy of the package for the "
        "edited grid. Each pipeline sample has a Dagster home and storage of its own: empty for "
        "the cold stories, else a copy of one made beforehand (untimed) by `superstore "
        "materialize` on the original file (and then the modified one, for the swap back).",
        "",
        "Largest single process, exact (ru_maxrss), median MB: "
        + "; ".join(
            f"{s['title']}: pipeline {s['pipeline']['max_process_mb']}"
            + (f", notebook {s['notebook']['max_process_mb']}" if s["notebook"] else "")
            for s in results["scenarios"]
        )
        + ".",
    ]
    cold = [s for s in results["scenarios"] if s["pipeline_breakdown"]]
    for s in cold:
        b, wall = s["pipeline_breakdown"], s["pipeline"]["median"]
        lines += [
            "",
            f"### Where the time goes: {s['title']}",
            "",
            f"`{s['pipeline_command']}`, median of the rounds: {wall:.2f} s in all, of which "
            f"the Dagster run (start to end, as recorded) {b['run_seconds']:.2f} s and, within "
            f"it, the asset functions (with their inputs' loading and outputs' encoding) "
            f"{b['asset_compute_seconds']:.2f} s; the other "
            f"{wall - b['run_seconds']:.2f} s are the process starting, importing, observing the "
            "file and ending.",
        ]
        if s["notebook_cells"] and s is cold[-1]:
            total = s["notebook"]["median"]
            in_cells = sum(c["seconds"] for c in s["notebook_cells"])
            lines += [
                "",
                f"The notebook: {total:.2f} s in all, {in_cells:.2f} s in its cells, the rest "
                "starting nbclient and the kernel. Median seconds per code cell:",
                "",
                "| cell (first line) | s |",
                "|---|---|",
                *(
                    f"| `{c['cell'][:70]}` | {c['seconds']:.2f} |"
                    for c in s["notebook_cells"]
                    if c["seconds"] >= 0.05
                ),
            ]
    return "\n".join(lines) + "\n"


def write_chart(results: dict, path: Path) -> None:
    """Median wall seconds per story, both sides with their ranges, and the ratio to target."""
    from plotly.subplots import make_subplots

    from superstore_assets.pipeline.figures import style

    scenarios = [s for s in results["scenarios"] if s["notebook"]]  # the side-by-side stories
    titles = [s["title"] for s in scenarios]
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.12,
        subplot_titles=["median wall seconds (bars: min–max)", "pipeline / notebook"],
    )
    for side, color in (("pipeline", "#264653"), ("notebook", "#e9c46a")):
        medians = [s[side]["median"] for s in scenarios]
        fig.add_bar(
            name=side,
            x=titles,
            y=medians,
            marker_color=color,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [s[side]["max"] - s[side]["median"] for s in scenarios],
                "arrayminus": [s[side]["median"] - s[side]["min"] for s in scenarios],
            },
            hovertext=[f"peak {s[side]['peak_mb']} MB" for s in scenarios],
            row=1,
            col=1,
        )
    fig.add_bar(
        name="pipeline / notebook",
        x=titles,
        y=[s["ratio"] for s in scenarios],
        marker_color=["#2a9d8f" if s["passed"] else "#e76f51" for s in scenarios],
        text=[f"{s['ratio']:.2f}" for s in scenarios],
        textposition="outside",
        row=2,
        col=1,
    )
    fig.add_scatter(
        name="target (at most)",
        x=titles,
        y=[s["target"] for s in scenarios],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3}, "color": "#111111"},
        row=2,
        col=1,
    )
    fig.update_layout(barmode="group", height=750)
    style(fig, f"Pipeline against notebook, {results['date']} ({results['runs']} runs a side)")
    # plotly.js in a file beside the page: the same bytes every run, so the repository keeps one
    # copy of it however many results are committed, and the chart still opens offline.
    fig.write_html(path, include_plotlyjs="directory", full_html=True, div_id="bench")


def datasets(args) -> tuple[Path, Path, str]:
    if args.original or args.modified:
        return Path(args.original).resolve(), Path(args.modified).resolve(), ""
    if all(p.is_file() for p in REAL):
        return REAL[0], REAL[1], ""
    note = (
        f"the real Tableau files are not at {SHARED}; the bundled generated files were used "
        "instead (data/superstore.csv and data/superstore_modified.csv)."
    )
    return BUNDLED[0], BUNDLED[1], note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", "5")),
        help="measured rounds per story (default 5, or BENCH_RUNS)",
    )
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (1)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of: {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--original", help="the dataset (default: the real Tableau file)")
    parser.add_argument("--modified", help="its modified copy (give both or neither)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="where results go")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 3 if a story misses its target"
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or args.runs < 1 or bool(args.original) != bool(args.modified):
        parser.error(
            f"unknown stories {unknown}" if unknown else "--runs >= 1; --original with --modified"
        )
    original, modified, note = datasets(args)
    work = Path(tempfile.mkdtemp(prefix="superstore-bench-", dir=args.work))
    bench = Workbench(work, original, modified)
    if "text_only" in chosen:
        from superstore_assets_tests.scenarios.test_staleness import with_renamed_customer

        with_renamed_customer(original, bench.renamed)
    measured: dict[str, list[Round]] = {}
    where = machine()  # the commit measured, before anything else changes
    started = time.perf_counter()
    try:
        for name in chosen:
            rounds = []
            for number in range(args.warmup + args.runs):
                one = run_round(name, bench, pipeline_first=number % 2 == 0)
                kind = "warm-up" if number < args.warmup else f"run {number - args.warmup + 1}"
                print(
                    f"{name:14} {kind:8} pipeline {one.pipeline.seconds:6.2f} s "
                    f"{one.pipeline.peak_mb:6.0f} MB  "
                    + (
                        f"notebook {one.notebook.seconds:6.2f} s {one.notebook.peak_mb:6.0f} MB  "
                        if one.notebook
                        else ""
                    )
                    + f"load {one.load:.2f}  {one.pipeline_did}",
                    flush=True,
                )
                if number >= args.warmup:
                    rounds.append(one)
            measured[name] = rounds
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results = session_results(args, bench, measured, note, where)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(format_markdown(results))
    write_chart(results, args.out / "results.html")
    print(f"\n{format_markdown(results)}")
    print(f"Took {time.perf_counter() - started:.0f} s; wrote {args.out / 'results.md'}")
    missed = [s["name"] for s in results["scenarios"] if not s["passed"]]
    return 3 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
