"""`superstore exp run` and `superstore exp show`: parameter sweeps, and one table of many runs.

A sweep is one `superstore materialize` per combination of the swept values, one after another,
each a recorded run tagged with its parameters and the experiment's name. Each reuses what the
earlier ones computed (the freshness rule restores any output made before with the same code,
inputs and parameters), so a sweep over the forest's depth fits the other models once, and a
sweep run again, or resumed after an interruption, fits only what no earlier run fitted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from superstore_assets.cli.common import aligned, location_arguments, setup
from superstore_assets.cli.materialize import materialize
from superstore_assets.engine.hashing import short
from superstore_assets.pipeline import config
from superstore_assets.pipeline.params import assignment, written


def add_parsers(commands) -> None:
    """`superstore exp run` and `superstore exp show`, under the command's subparsers."""
    group = commands.add_parser("exp", help="parameter sweeps, and a table of many runs")
    exp = group.add_subparsers(dest="exp_command", required=True)
    sweep = exp.add_parser("run", help="a run per combination of the -S values, reusing")
    sweep.add_argument(
        "-S",
        "--set",
        action="append",
        required=True,
        metavar="KEY=V1,V2",
        help="a parameter and the values to sweep, e.g. random_forest.max_depth=4,8,16",
    )
    sweep.add_argument("--name", help="the experiment's name (default: the -S texts)")
    sweep.add_argument("--random", type=int, metavar="N", help="N combinations, chosen at random")
    sweep.add_argument("--seed", type=int, default=0, help="the seed of --random (default 0)")
    sweep.add_argument("--log-level", default="WARNING", help="Dagster's console log level")
    sweep.set_defaults(handler=exp_run)
    table = exp.add_parser("show", help="one row per run: parameters, metrics, reuse")
    for flag, meaning in (
        ("--experiment", "only this experiment's runs"),
        ("--data", "only runs on this dataset (file name or hash prefix)"),
        ("--sort", "by a test metric, the best first: roc_auc, or random_forest.f1"),
    ):
        table.add_argument(flag, help=meaning)
    table.add_argument("--every-run", action="store_true", help="repeated runs too")
    table.add_argument("--limit", type=int, default=200, help="among the newest N runs")
    form = table.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="machine-readable output")
    form.add_argument("--md", action="store_true", help="a Markdown table")
    table.add_argument("--html", metavar="FILE", help="also write the table and charts as a page")
    table.add_argument("--roc", type=int, default=4, metavar="N", help="ROC curves of N runs")
    table.set_defaults(handler=exp_show)
    for command in (sweep, table):
        location_arguments(command)


def exp_run(args: argparse.Namespace) -> int:
    """Every combination of the -S values (or --random N of them), each a recorded run."""
    from superstore_assets.pipeline.params import combinations

    points = combinations(args.set, sample=args.random, seed=args.seed)  # checked, all of them
    name = args.name or " ".join(args.set)
    print(f"Experiment {name!r}: {len(points)} combination(s)")
    for number, point in enumerate(points, 1):
        print(f"\n[{number}/{len(points)}] {' '.join(assignment(k, v) for k, v in point.items())}")
        step = argparse.Namespace(
            scope="stale",
            set=[assignment(k, v) for k, v in point.items()],
            experiment=name,
            log_level=args.log_level,
            dataset=args.dataset,
            storage=args.storage,
        )
        code = materialize(step)
        if code != 0:
            print(f"Stopped: combination {number} failed; the runs before it are kept.")
            return code
    print(f"\nsuperstore exp show --experiment {json.dumps(name)}")
    return 0


def exp_show(args: argparse.Namespace) -> int:
    """One row per run (the newest of each experiment, dataset and parameters): the dataset,
    the parameters that differ from the defaults, each model's test metrics, computed/reused."""
    setup(args)
    from superstore_assets.engine.eventlog import opened_instance
    from superstore_assets.engine.history import experiment_table

    with opened_instance() as instance:
        rows = experiment_table(instance, limit=args.limit, every_run=args.every_run)
    if args.experiment:
        rows = [row for row in rows if row["experiment"] == args.experiment]
    if args.data:
        rows = [
            row
            for row in rows
            if row["dataset_sha256"].startswith(args.data) or row["dataset"] == args.data
        ]
    if args.sort:
        model, _, metric = args.sort.rpartition(".")
        rows.sort(key=lambda row: _sort_value(row, model, metric), reverse=True)
    if args.html:
        write_page(args.html, rows, args)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"No runs to show in {os.environ['DAGSTER_HOME']}.")
    else:
        print(format_table(rows, markdown=args.md))
    return 0


def write_page(path: str, rows: list[dict], args: argparse.Namespace) -> None:
    """The table, a metric across the runs, and the ROC curves of the first --roc runs shown
    (4 by default), as one offline HTML page."""
    import pandas as pd

    from superstore_assets.engine.history import stored_roc_curves
    from superstore_assets.pipeline.experiments_page import experiments_page

    cells = table_cells(rows)
    table = pd.DataFrame(cells[1:], columns=cells[0])
    metric = (args.sort or "roc_auc").rpartition(".")[2]
    curves = stored_roc_curves(rows[: args.roc])
    page = experiments_page("superstore exp show", table, rows, curves, metric)
    with open(path, "w", encoding="utf-8") as out:
        out.write(page)
    print(f"Wrote {path}", file=sys.stderr)


def _sort_value(row: dict, model: str, metric: str) -> float:
    models = [model] if model else [spec.name for spec in config.MODEL_SPECS]
    values = [row["metrics"].get(m, {}).get(metric) for m in models]
    return max((v for v in values if v is not None), default=float("-inf"))


def table_cells(rows: list[dict]) -> list[list[str]]:
    """The table's header, then one line of cells per run."""
    models = [spec.name for spec in config.MODEL_SPECS]
    header = ["run", "experiment", "dataset", "parameters", "computed", "reused"]
    header += [f"{name} AUC/F1" for name in models]
    lines = [header]
    for row in rows:
        scores = [
            "{roc_auc:.4f}/{f1:.4f}".format(**row["metrics"][name])
            if name in row["metrics"]
            else "-"
            for name in models
        ]
        lines.append(
            [
                row["run_id"][:8],
                row["experiment"] or "-",
                f"{row['dataset']} {short(row['dataset_sha256'])}".strip() or "-",
                written(row["params"]) or "(defaults)",
                str(row["computed"]),
                str(row["reused"]),
                *scores,
            ]
        )
    return lines


def format_table(rows: list[dict], markdown: bool = False) -> str:
    """The table as aligned text, or as Markdown (for a pull request)."""
    lines = table_cells(rows)
    if markdown:
        rendered = ["| " + " | ".join(cells) + " |" for cells in lines]
        rendered.insert(1, "|" + "---|" * len(lines[0]))
        return "\n".join(rendered)
    return aligned(lines)
