"""The `superstore` command: run the pipeline and read its record in the project's instance.

superstore status                      # observe the dataset; fresh / stale / missing, and why
superstore materialize                 # what is stale or missing, and what lies below it
superstore materialize --all           # every asset, computed again (no reuse)
superstore materialize --dataset FILE  # on another Superstore CSV
superstore observe                     # record the dataset file's current hash, nothing else
superstore gc --keep N                 # keep N versions of each stored output, delete the rest
superstore history [--json]            # the runs on record, newest first
superstore diff previous latest        # what differed between two runs
superstore materialize -S random_forest.max_depth=8       # a parameter overridden for a run
superstore exp run -S random_forest.max_depth=4,8 -S logistic_regression.C=0.1,1  # a sweep
superstore exp show [--sort roc_auc] [--md]                # one table of many runs
superstore predict FILE [-o OUT.csv|OUT.parquet]           # score new orders with the champion

One module per command; what they share is in common.py.
"""

from __future__ import annotations

import argparse
import signal
import sys

from superstore_assets.cli import common, experiments
from superstore_assets.cli.diff import diff
from superstore_assets.cli.history import history
from superstore_assets.cli.materialize import materialize
from superstore_assets.cli.predict import predict
from superstore_assets.cli.prune import gc
from superstore_assets.cli.status import observe_command, status
from superstore_assets.engine.one_shot import collector_off, exit_now


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per module of this package."""
    found = argparse.ArgumentParser(prog="superstore", description=__doc__.splitlines()[0])
    commands = found.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "materialize", help="materialize what is stale or missing (--all: everything) in one run"
    )
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "--stale",
        dest="scope",
        action="store_const",
        const="stale",
        help="stale and missing assets, reusing where possible (the default)",
    )
    scope.add_argument(
        "--all", dest="scope", action="store_const", const="all", help="every asset, computed again"
    )
    run.set_defaults(scope="stale", handler=materialize)
    run.add_argument(
        "--log-level",
        default="WARNING",
        help="Dagster's console log level (default WARNING): a failed step prints one line at "
        "any level; above DEBUG the run shows a progress bar, or a line per computed step where "
        "the output is not a terminal; DEBUG prints Dagster's log of every step's events (and "
        "a failure's stack trace) instead",
    )
    run.add_argument(
        "-S",
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter for this run, e.g. random_forest.max_depth=8 (repeatable)",
    )
    check = commands.add_parser("status", help="observe the dataset; which assets are stale, why")
    check.add_argument(
        "--recheck", action="store_true", help="work it out again, even if nothing changed"
    )
    check.set_defaults(handler=status)
    look = commands.add_parser("observe", help="record the dataset file's hash; compute nothing")
    look.set_defaults(handler=observe_command)
    prune = commands.add_parser("gc", help="delete stored versions beyond the newest N per asset")
    prune.add_argument("--keep", type=int, required=True, help="versions kept per asset (>= 1)")
    prune.add_argument("--dry-run", action="store_true", help="list, do not delete")
    prune.set_defaults(handler=gc)
    score = commands.add_parser("predict", help="score a Superstore-shaped file with the champion")
    score.add_argument("file", help="the orders to score (Profit not needed)")
    score.add_argument("-o", "--output", help="OUT.csv or OUT.parquet (default FILE_scored.csv)")
    score.add_argument("--storage", help="storage folder or fsspec URL (default: storage/)")
    score.set_defaults(handler=predict)
    experiments.add_parsers(commands)
    for command in (run, check, look, prune):
        common.location_arguments(command)
    past = commands.add_parser("history", help="the runs on record, newest first")
    past.add_argument("--json", action="store_true", help="machine-readable output")
    past.add_argument("--limit", type=int, default=20, help="at most this many runs")
    past.add_argument("--params", action="store_true", help="the parameters each run overrode")
    past.set_defaults(handler=history)
    compare = commands.add_parser("diff", help="what differed between two runs")
    compare.add_argument("before", help="run id, dataset hash, latest or previous")
    compare.add_argument("after", help="run id, dataset hash, latest or previous")
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    compare.add_argument("--html", metavar="FILE", help="also write the diff as an HTML page")
    compare.set_defaults(handler=diff)
    return found


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `superstore history | head` ends quietly
    args = parser().parse_args(argv)
    from superstore_assets.engine.project import ProfileError
    from superstore_assets.pipeline.params import ParamError

    try:
        return args.handler(args)
    except (common.DatasetUnreadable, ProfileError, ParamError) as error:  # what, and how
        print(f"superstore {args.command}: {error}", file=sys.stderr)
        return 2


def run() -> None:
    """The `superstore` command itself: main() with no collector passes over the modules it
    imports, then a quick exit (engine/one_shot.py)."""
    common.ONE_COMMAND_PROCESS = True
    collector_off()
    code = main()
    exit_now(code)
    sys.exit(code)  # another thread is still at work: let the interpreter wait for it


if __name__ == "__main__":
    run()
