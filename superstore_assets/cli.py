"""The `superstore` command: run the pipeline and read its record in the project's instance.

superstore materialize                 # every asset, on the bundled dataset
superstore materialize --dataset FILE  # on another Superstore CSV
superstore history [--json]            # the runs on record, newest first
superstore diff previous latest        # what differed between two runs
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def _relative(path: str, root: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def materialize(args: argparse.Namespace) -> int:
    """Observe the dataset and materialize every asset in one recorded run; print where it went."""
    from superstore_assets.project import ensure_dagster_home

    if args.dataset:
        os.environ["SUPERSTORE_DATASET"] = str(Path(args.dataset).resolve())
    if args.storage:
        os.environ["SUPERSTORE_STORAGE"] = args.storage
    home = ensure_dagster_home()

    from dagster import DagsterInstance

    from superstore_assets.definitions import make_definitions
    from superstore_assets.project import dataset_path, storage_path

    definitions = make_definitions()
    job = definitions.resolve_job_def("superstore_pipeline")
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    seconds = time.perf_counter() - started

    storage = storage_path()
    status = "succeeded" if result.success else "FAILED"
    print(f"\nRun {result.run_id} {status} in {seconds:.1f} s on {dataset_path()}")
    print(f"Run record: DAGSTER_HOME={home} (browse it with `make ui`)")
    print(f"Outputs under {storage}:")
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        path = materialization.metadata.get("path")
        where = _relative(path.value, storage) if path else "-"
        print(f"  {materialization.asset_key.to_user_string():30} {where}")
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed]
    print(f"Checks: {len(checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        print(
            f"  FAILED {check.asset_key.to_user_string()}:{check.check_name}",
            check.description or "",
        )
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = error.message.strip() if error else "unknown error"
            print(f"  step {event.step_key} failed: {message}", file=sys.stderr)
    if result.success:
        print(f"Report: {Path(storage) / 'report' / 'report.html'}")
    return 0 if result.success else 1


def history(args: argparse.Namespace) -> int:
    """Print the runs on record, newest first; read only, nothing is computed."""
    from superstore_assets.project import ensure_dagster_home

    ensure_dagster_home()

    from dagster import DagsterInstance

    from superstore_assets.history import format_history, run_history

    with DagsterInstance.get() as instance:
        summaries = run_history(instance, limit=args.limit)
    if args.json:
        print(json.dumps([s.to_json() for s in summaries], indent=2))
    elif summaries:
        print(format_history(summaries))
    else:
        print(f"No runs on record in {os.environ['DAGSTER_HOME']}.")
    return 0


def diff(args: argparse.Namespace) -> int:
    """Print what differed between two runs; read only, nothing is computed."""
    from superstore_assets.project import ensure_dagster_home

    ensure_dagster_home()

    from dagster import DagsterInstance

    from superstore_assets.diff import html_page
    from superstore_assets.history import compare_runs, format_comparison

    with DagsterInstance.get() as instance:
        try:
            comparison = compare_runs(instance, args.before, args.after)
        except LookupError as error:
            print(f"superstore diff: {error}", file=sys.stderr)
            return 2
    text = format_comparison(comparison)
    if args.html:
        Path(args.html).write_text(html_page(f"superstore diff {args.before} {args.after}", text))
    if args.json:
        print(json.dumps(comparison, indent=2, default=str))
    else:
        print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `superstore history | head` ends quietly
    parser = argparse.ArgumentParser(prog="superstore", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("materialize", help="materialize every asset in one run")
    run.add_argument("--dataset", help="a Superstore CSV file (default: data/superstore.csv)")
    run.add_argument("--storage", help="the storage folder or fsspec URL (default: storage/)")
    run.set_defaults(handler=materialize)
    past = commands.add_parser("history", help="the runs on record, newest first")
    past.add_argument("--json", action="store_true", help="machine-readable output")
    past.add_argument("--limit", type=int, default=20, help="at most this many runs")
    past.set_defaults(handler=history)
    compare = commands.add_parser("diff", help="what differed between two runs")
    compare.add_argument("before", help="run id, dataset hash, latest or previous")
    compare.add_argument("after", help="run id, dataset hash, latest or previous")
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    compare.add_argument("--html", metavar="FILE", help="also write the diff as an HTML page")
    compare.set_defaults(handler=diff)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
