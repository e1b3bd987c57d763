"""Time the pipeline against the notebook it replaces, in six stories, and write the results.

    .venv/bin/python bench/run.py                     # 5 runs a side after 1 warm-up (make bench)
    .venv/bin/python bench/run.py --runs 1 --warmup 0 --scenarios stale   # a quick look

Every sample is a whole process, timed from its start to its exit, with the peak memory of its
process tree (bench/measure.py). In each story (bench/stories.py) the pipeline and the notebook
take turns, the order swapped from one round to the next, so that a busy machine slows both
alike. The pipeline runs in a Dagster home and storage folder of its own for every sample,
copied from a home made once beforehand (outside the timing) with the story's earlier runs in
it (bench/workbench.py).

Writes results.md, results.json and results.html (a plotly chart) to --out (default bench/).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

from bench import ROOT
from bench.provenance import machine
from bench.results import format_markdown, write_chart, write_results
from bench.rounds import Round, run_round
from bench.stories import SCENARIOS, prepare_files
from bench.summary import session_results
from bench.workbench import Workbench

SHARED = ROOT.parent / "shared" / "data" / "superstore"
REAL = (SHARED / "Sample - Superstore.csv", SHARED / "Sample - Superstore (modified).csv")
BUNDLED = (ROOT / "data" / "superstore.csv", ROOT / "data" / "superstore_modified.csv")


def datasets(args) -> tuple[Path, Path, str]:
    """The original and the modified file, and a note for the results if they are stand-ins."""
    if args.original or args.modified:
        return Path(args.original).resolve(), Path(args.modified).resolve(), ""
    if all(p.is_file() for p in REAL):
        return REAL[0], REAL[1], ""
    note = (
        f"the real Tableau files are not at {SHARED}; the bundled generated files were used "
        "instead (data/superstore.csv and data/superstore_modified.csv)."
    )
    return BUNDLED[0], BUNDLED[1], note


def report(name: str, kind: str, one: Round) -> None:
    """One line per round as it ends, warm-ups included."""
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
    prepare_files(chosen, bench)
    measured: dict[str, list[Round]] = {}
    where = machine()  # the commit measured, before anything else changes
    started = time.perf_counter()
    try:
        for name in chosen:
            rounds = []
            for number in range(args.warmup + args.runs):
                one = run_round(name, bench, number)
                report(
                    name,
                    "warm-up" if number < args.warmup else f"run {number - args.warmup + 1}",
                    one,
                )
                if number >= args.warmup:
                    rounds.append(one)
            measured[name] = rounds
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results = session_results(args, bench, measured, note, where)
    markdown = format_markdown(results)
    write_results(args.out, "results", results, markdown)
    write_chart(results, args.out / "results.html")
    print(f"\n{markdown}")
    print(f"Took {time.perf_counter() - started:.0f} s; wrote {args.out / 'results.md'}")
    missed = [s["name"] for s in results["scenarios"] if not s["passed"]]
    return 3 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
