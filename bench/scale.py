"""Cold runs of the pipeline and the notebook on generated files 10, 100 and 1000 times the size.

    .venv/bin/python bench/scale.py --max-rows 1000000     # make bench-scale

For each size up to --max-rows: the file is generated into bench/data/ if it is not there yet
(`python -m superstore_assets.cli.generate --rows N --out FILE`, untimed), then `superstore
materialize --all` in a new home and the notebook run from a new kernel take turns, --runs
times each, every run timed as a whole process with the peak memory of its process tree. A run
that fails or passes --timeout is recorded as such, with the last line of its output, and the
next size is still tried. Writes scale_results.md, scale_results.json and a chart of seconds and
peak memory against lines (scale_results.html) to --out (bench/).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

from bench import ROOT
from bench.measure import Sample
from bench.provenance import machine, now
from bench.readings import median_of, run_breakdown
from bench.results import write_results
from bench.workbench import Workbench, cell_timings, in_turn
from superstore_assets.cli.generate import ROWS

DATA = ROOT / "bench" / "data"
MULTIPLES = (10, 100, 1000)


def generate(rows: int, data: Path = DATA) -> tuple[Path, float]:
    """The generated file of `rows` lines, made now if it is missing; and seconds it took."""
    path = data / f"superstore_{rows}.csv"
    if path.exists():
        return path, 0.0
    started = time.perf_counter()
    command = [sys.executable, "-m", "superstore_assets.cli.generate", "--rows", str(rows)]
    subprocess.run([*command, "--out", str(path)], cwd=ROOT, check=True, capture_output=True)
    return path, time.perf_counter() - started


def outcome(sample: Sample) -> str:
    """`ok`, or why not: the timeout, or the last line the process printed."""
    if sample.timed_out:
        return f"timed out after {sample.seconds:.0f} s"
    if sample.over_memory:
        return f"stopped past {sample.peak_mb:,.0f} MB after {sample.seconds:.0f} s"
    if sample.returncode == 0:
        return "ok"
    lines = [line for line in Path(sample.log).read_text(errors="replace").splitlines() if line]
    last = lines[-1][:200] if lines else ""
    return f"failed (exit {sample.returncode}): {last}"


def run_size(
    rows: int,
    dataset: Path,
    bench: Workbench,
    runs: int,
    timeout: float,
    max_mb: float,
    commit: str,
) -> dict:
    samples: dict[str, list[Sample]] = {"pipeline": [], "notebook": []}
    breakdowns, cells = [], []
    for number in range(runs):
        sides = {
            "pipeline": bench.cold(f"{rows}-pipeline", dataset),
            "notebook": bench.notebook(dataset),
        }
        for name in in_turn(number, list(sides)):
            side = sides[name]
            sample = side.timed(side.folder / f"{name}.log", timeout=timeout, max_mb=max_mb)
            samples[name].append(sample)
            print(
                f"{rows:>10,} {name:8} {sample.seconds:8.1f} s {sample.peak_mb:8.0f} MB  "
                f"{outcome(sample)}",
                flush=True,
            )
            if name == "pipeline" and sample.returncode == 0:
                breakdowns.append(run_breakdown(side.home))
            if name == "notebook" and (timings := cell_timings(side)):
                cells.append(timings)
    return {
        "rows": rows,
        "measured": now(),
        "load_after": round(os.getloadavg()[0], 2),
        "commit": commit,
        "file": str(dataset),
        "file_mb": round(dataset.stat().st_size / 1e6, 1),
        **{side: summary(found) for side, found in samples.items()},
        "pipeline_assets": slowest(breakdowns),
        "pipeline_run_seconds": median_of(breakdowns, "run_seconds"),
        "pipeline_asset_seconds": median_of(breakdowns, "asset_compute_seconds"),
        "notebook_cells": cells[0] if cells else [],
    }


def summary(samples: list[Sample]) -> dict:
    ok = [s for s in samples if s.returncode == 0 and not s.timed_out and not s.over_memory]
    failed = [s for s in samples if s not in ok]
    return {
        "outcome": outcome(failed[0]) if failed else "ok",
        "median": round(statistics.median(s.seconds for s in ok), 2) if ok else None,
        "peak_mb": round(max(s.peak_mb for s in samples)),
        "samples": [s.to_json() for s in samples],
    }


def slowest(breakdowns: list[dict], count: int = 6) -> list[tuple[str, float]]:
    if not breakdowns:
        return []
    assets = breakdowns[0].get("assets", {})
    ranked = sorted(((k, v) for k, v in assets.items() if v is not None), key=lambda kv: -kv[1])
    return ranked[:count]


def format_markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# The pipeline and the notebook at scale: cold runs",
        "",
        f"Measured {results['date']} by `bench/scale.py` (`make bench-scale`), "
        f"{results['runs']} run(s) a side per size, taking turns; `superstore materialize --all` "
        "in a new home against the notebook from a new kernel. Whole processes: wall seconds "
        "and the peak resident memory of the process tree. Figure previews off. "
        f"{m['cpus']} × {m['cpu']}, {m['memory']}, commit {m['commit']}; load average (1 min) "
        f"{results['load_before']:.2f} before, {results['load_after'] or 0:.2f} after.",
        "",
        "| rows | file MB | pipeline s | pipeline peak MB | notebook s | notebook peak MB "
        "| pipeline / notebook | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in results["sizes"]:
        p, n = size["pipeline"], size["notebook"]
        ratio = f"{p['median'] / n['median']:.2f}" if p["median"] and n["median"] else "–"
        problems = "; ".join(
            f"{side}: {size[side]['outcome']}"
            for side in ("pipeline", "notebook")
            if size[side]["outcome"] != "ok"
        )
        lines.append(
            f"| {size['rows']:,} | {size['file_mb']} | {p['median'] or '–'} | {p['peak_mb']} "
            f"| {n['median'] or '–'} | {n['peak_mb']} | {ratio} | {problems} |"
        )
    for skipped in results["skipped"]:
        lines.append(f"| {skipped:,} | | | | | | | skipped: above --max-rows |")
    lines += ["", *targets(results["sizes"])]
    for size in results["sizes"]:
        if not size["pipeline_assets"]:
            continue
        lines += [
            "",
            f"### {size['rows']:,} rows: where the time goes",
            "",
            f"Measured {size.get('measured', results['date'])}"
            + (f" at commit {size['commit']}" if "commit" in size else "")
            + (f", load average {size['load_after']:.2f} after" if "load_after" in size else "")
            + ".",
            f"Pipeline: the Dagster run {size['pipeline_run_seconds']} s of "
            f"{size['pipeline']['median']} s, its asset steps {size['pipeline_asset_seconds']} s; "
            "slowest steps: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in size["pipeline_assets"])
            + ".",
        ]
        if size["notebook_cells"]:
            slow = sorted(size["notebook_cells"], key=lambda c: -c["seconds"])[:6]
            lines.append(
                "Notebook, slowest cells: "
                + ", ".join(f"`{c['cell'][:40]}` {c['seconds']:.1f} s" for c in slow)
                + "."
            )
    return "\n".join(lines) + "\n"


# Issue 17's targets at scale: at the largest size (10M lines) a cold run under 150 s with the
# process tree's peak under 3 GiB; pipeline / notebook at most 1.0 below it and 1.15 at it.
SECONDS_TARGET = 150
PEAK_TARGET_MB = 3 * 1024
RATIO_TARGET = 1.0
LARGEST_RATIO_TARGET = 1.15


def _largest(size: dict) -> bool:
    return size["rows"] >= ROWS * MULTIPLES[-1]


def targets(sizes: list[dict]) -> list[str]:
    """Each target at scale, as measured: the ratio at every size, and at the largest size the
    pipeline's seconds and peak memory (no verdict on a size that was not run; a run that did
    not finish misses every target it had)."""
    lines = []
    ratios = []
    for size in sizes:
        p, n = size["pipeline"]["median"], size["notebook"]["median"]
        most = LARGEST_RATIO_TARGET if _largest(size) else RATIO_TARGET
        if p and n:
            verdict = "met" if p / n <= most else "missed"
            ratios.append(f"{size['rows']:,} rows {p / n:.2f} (at most {most}) **{verdict}**")
        else:
            ratios.append(f"{size['rows']:,} rows: a side did not finish, **missed**")
    if ratios:
        lines.append("- Pipeline / notebook: " + "; ".join(ratios) + ".")
    largest = max(sizes, key=lambda s: s["rows"], default=None)
    if largest is not None and _largest(largest):
        seconds, peak = largest["pipeline"]["median"], largest["pipeline"]["peak_mb"]
        shown = f"{seconds} s" if seconds else "did not finish"
        verdict = "met" if seconds and seconds < SECONDS_TARGET else "missed"
        lines.append(
            f"- Time, pipeline cold run at {largest['rows']:,} rows: {shown} against "
            f"{SECONDS_TARGET} s: **{verdict}**."
        )
        verdict = "met" if peak < PEAK_TARGET_MB and seconds else "missed"
        lines.append(
            f"- Memory, pipeline peak at {largest['rows']:,} rows: {peak:,} MB against "
            f"{PEAK_TARGET_MB:,} MB (3 GiB): **{verdict}**."
        )
    return lines


def write_chart(results: dict, path: Path) -> None:
    """The chart as a page (plotly.js from the file beside it, as results.html has it)."""
    chart(results).write_html(path, include_plotlyjs="directory", full_html=True, div_id="scale")


def chart(results: dict):
    """Seconds and peak memory against lines, both sides, on log scales: scale_results.html."""
    from plotly.subplots import make_subplots

    from superstore_assets.pipeline.figures import style

    sizes = sorted(results["sizes"], key=lambda s: s["rows"])
    rows = [s["rows"] for s in sizes]
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        subplot_titles=["cold run, wall seconds", "peak memory of the process tree, MB"],
    )
    for side, color in (("pipeline", "#264653"), ("notebook", "#e9c46a")):
        for column, figure in ((1, "median"), (2, "peak_mb")):
            fig.add_scatter(
                name=side,
                legendgroup=side,
                showlegend=column == 1,
                x=rows,
                y=[s[side][figure] for s in sizes],
                mode="lines+markers",
                line={"color": color},
                row=1,
                col=column,
            )
    fig.update_xaxes(type="log", title_text="lines")
    fig.update_yaxes(type="log")
    fig.update_layout(height=480)
    style(
        fig,
        f"Pipeline and notebook at scale, {results['date']} (commit "
        f"{results['machine']['commit']})",
    )
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-rows", type=int, default=1_000_000, help="skip larger sizes (1,000,000)"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs a side per size (1)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a run may take")
    parser.add_argument(
        "--max-mb", type=float, default=10_000, help="stop a run whose memory passes this (10,000)"
    )
    parser.add_argument(
        "--min-rows",
        type=int,
        default=0,
        help="run only sizes from this one up; smaller ones are kept from the earlier results",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="where results go")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="where the generated files are kept (bench/data)"
    )
    args = parser.parse_args(argv)
    results = {
        "date": now(),
        "runs": args.runs,
        "machine": machine(),
        "load_before": os.getloadavg()[0],
        "load_after": None,
        "sizes": [],
        "skipped": [ROWS * m for m in MULTIPLES if ROWS * m > args.max_rows],
    }
    earlier = args.out / "scale_results.json"
    if args.min_rows and earlier.exists():
        kept = json.loads(earlier.read_text())["sizes"]
        results["sizes"] = [size for size in kept if size["rows"] < args.min_rows]
    with tempfile.TemporaryDirectory(prefix="superstore-scale-", dir=args.work) as work:
        for multiple in MULTIPLES:
            rows = ROWS * multiple
            if rows > args.max_rows or rows < args.min_rows:
                continue
            dataset, seconds = generate(rows, args.data)
            if seconds:
                print(f"generated {dataset} in {seconds:.0f} s", flush=True)
            bench = Workbench(Path(work) / str(rows), dataset, dataset)
            # The commit as the session started: the results written after each size would
            # otherwise count as uncommitted changes to the code measured.
            commit = results["machine"]["commit"]
            size = run_size(rows, dataset, bench, args.runs, args.timeout, args.max_mb, commit)
            results["sizes"].append(size)
            results["load_after"] = os.getloadavg()[0]
            # After every size: an interrupted session keeps the rest.
            write_results(args.out, "scale_results", results, format_markdown(results))
            write_chart(results, args.out / "scale_results.html")
    print(f"\n{format_markdown(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
