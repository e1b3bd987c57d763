"""The `superstore` command: run the pipeline and read its record in the project's instance.

superstore status                      # observe the dataset; fresh / stale / missing, and why
superstore materialize                 # what is stale or missing, and what lies below it
superstore materialize --all           # every asset, computed again (no reuse)
superstore materialize --dataset FILE  # on another Superstore CSV
superstore observe                     # record the dataset file's current hash, nothing else
superstore gc --keep N                 # keep N versions of each stored output, delete the rest
superstore history [--json]            # the runs on record, newest first
superstore diff previous latest        # what differed between two runs
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc as garbage_collector
import json
import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

# True in the process of the `superstore` command (run()), which ends when the command does.
_ONE_COMMAND_PROCESS = False


def _relative(path: str, root: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _setup(args: argparse.Namespace) -> Path:
    """Apply --dataset and --storage, create the project's Dagster home, and return it."""
    from superstore_assets.project import ensure_dagster_home

    if getattr(args, "dataset", None):
        os.environ["SUPERSTORE_DATASET"] = str(Path(args.dataset).resolve())
    if getattr(args, "storage", None):
        os.environ["SUPERSTORE_STORAGE"] = args.storage
    return ensure_dagster_home()


class DatasetUnreadable(Exception):
    """The dataset file cannot be read; the message says which and how to fix it."""


def _dataset():
    """The dataset resource as the pipeline will see it (SUPERSTORE_DATASET, ..._DATE_FORMAT)."""
    from superstore_assets.project import dataset_path, date_format_setting
    from superstore_assets.resources import DatasetResource

    return DatasetResource(path=dataset_path(), date_format=date_format_setting())


def _graph(home: Path, dataset) -> tuple[list, object]:
    """The asset graph's nodes for the stale status, from the cache when the code is unchanged."""
    from superstore_assets.manifest import load_graph
    from superstore_assets.project import storage_path
    from superstore_assets.staleness import graph_nodes

    return graph_nodes(load_graph(home), storage_path(), {"dataset": dataset})


def observe(instance, dataset) -> tuple[str, str | None]:
    """Record an observation of the dataset file if its hash changed; return (new, previous)."""
    from dagster import Failure

    from superstore_assets.observation import observed_version, source_observation
    from superstore_assets.resources import dataset_fingerprint
    from superstore_assets.versioning import sha256_bytes

    try:
        data = dataset.read_bytes()
    except Failure as failure:
        raise DatasetUnreadable(failure.description) from failure
    version = sha256_bytes(data)
    previous = observed_version(instance)
    if previous != version:  # record it, with its rows counted (which takes a parse)
        instance.report_runless_asset_event(source_observation(dataset_fingerprint(dataset, data)))
    return version, previous


def _observed_line(path: str, version: str, previous: str | None) -> str:
    if previous is None:
        change = "first observation"
    elif previous == version:
        change = "unchanged"
    else:
        change = f"changed from {previous[:12]}…"
    return f"superstore_csv  observed  sha256 {version[:12]}… ({change}) {path}"


def _status_key(home: Path, settle: bool = False) -> str | None:
    """The key under which a status answer is kept (see statuscache.py); imports no Dagster."""
    from superstore_assets.project import (
        dataset_path,
        date_format_setting,
        resolve_dataset,
        storage_path,
    )
    from superstore_assets.statuscache import state_key

    return state_key(
        home,
        str(resolve_dataset(dataset_path())),
        storage_path(),
        {"date_format": date_format_setting()},
        settle=settle,
    )


def _keep_status(home: Path, key: str | None, path: str, version: str, statuses) -> None:
    """Keep a status answer if nothing changed while it was worked out: `key` was taken before
    the instance was opened, and this is called after it was closed (its SQLite files at rest),
    so an observation it recorded, or a run another process wrote meanwhile, misses it."""
    from superstore_assets.staleness import format_status, not_fresh
    from superstore_assets.statuscache import keep

    if key is not None and key == _status_key(home, settle=True):
        answer = {"path": path, "version": version, "text": format_status(statuses)}
        keep(home, key, {**answer, "assets": len(statuses), "all_fresh": not not_fresh(statuses)})


def status(args: argparse.Namespace) -> int:
    """Observe the dataset, then print one line per asset: fresh, stale or missing, and why.

    When neither the code, the dataset file, the record nor the stored outputs changed since
    the last answer, that answer is printed again without opening the instance (--recheck
    works it out regardless)."""
    home = _setup(args)
    from superstore_assets.statuscache import recall

    key = _status_key(home, settle=True)
    kept = None if args.recheck else recall(home, key)
    if kept is not None:
        print(_observed_line(kept["path"], kept["version"], kept["version"]))
        print(kept["text"])
        return 0
    from dagster import DagsterInstance

    from superstore_assets.staleness import format_status, resolve

    dataset = _dataset()
    with DagsterInstance.get() as instance:
        version, previous = observe(instance, dataset)
        nodes, source = _graph(home, dataset)
        statuses = resolve(instance, nodes, source, version)
    _keep_status(home, key, dataset.path, version, statuses)  # the instance closed: at rest
    print(_observed_line(dataset.path, version, previous))
    print(format_status(statuses))
    return 0


def observe_command(args: argparse.Namespace) -> int:
    """Record the dataset file's current hash in the instance; compute nothing."""
    _setup(args)
    from dagster import DagsterInstance

    dataset = _dataset()
    with DagsterInstance.get() as instance:
        version, previous = observe(instance, dataset)
    print(_observed_line(dataset.path, version, previous))
    return 0


def materialize(args: argparse.Namespace) -> int:
    """Observe the dataset and materialize what is stale or missing (or, with --all, every
    asset, computed again) in one recorded run; print what was computed, reused and left."""
    home = _setup(args)
    from superstore_assets.statuscache import recall

    key = _status_key(home, settle=True)
    kept = None if args.all else recall(home, key)
    if kept is not None and kept["all_fresh"]:  # nothing changed since every asset was fresh
        print(_observed_line(kept["path"], kept["version"], kept["version"]))
        print(f"Nothing is stale: 0 computed, 0 reused, {kept['assets']} untouched.")
        return 0
    from dagster import DagsterInstance

    from superstore_assets.dagster_internals import LAUNCHED_BY_TAG, fail_abandoned_runs
    from superstore_assets.locking import exclusive, materialize_lock
    from superstore_assets.project import deployment_profile, storage_path
    from superstore_assets.reuse import RECOMPUTE_TAG, REUSED_FROM_RUN
    from superstore_assets.staleness import not_fresh, resolve

    dataset_resource = _dataset()
    storage = storage_path()
    started = time.perf_counter()
    team = deployment_profile() == "team"
    with contextlib.ExitStack() as stack:
        if not team:  # before opening it: a new home's SQLite files are created by whichever
            # process opens the instance first, so one at a time
            stack.enter_context(exclusive(home / "materialize.lock", wait_message=_waiting))
        instance = stack.enter_context(DagsterInstance.get())
        if team:
            stack.enter_context(materialize_lock(instance, home, wait_message=_waiting))
        for run_id in fail_abandoned_runs(instance):
            print(
                f"Run {run_id} was left unfinished by a `superstore materialize` that ended "
                "without finishing it (killed?); marked as failed. Its finished outputs stay."
            )
        version, previous = observe(instance, dataset_resource)
        nodes, source = _graph(home, dataset_resource)
        every = [node.key for node in nodes]
        dataset = dataset_resource.path
        print(_observed_line(dataset, version, previous))
        statuses = None if args.all else resolve(instance, nodes, source, version)
        selection = every if statuses is None else not_fresh(statuses)
        if selection:
            result = stack.enter_context(
                _run(
                    instance,
                    selection,
                    tags={
                        LAUNCHED_BY_TAG: str(os.getpid()),
                        **({RECOMPUTE_TAG: "true"} if args.all else {}),
                    },
                    run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
                    dataset=dataset_resource,
                    storage=storage,
                )
            )
    if not selection:
        _keep_status(home, key, dataset, version, statuses)
        print(f"Nothing is stale: 0 computed, 0 reused, {len(every)} untouched.")
        return 0
    seconds = time.perf_counter() - started

    computed: list[str] = []
    reused: dict[str, list[str]] = {}  # by the run that computed them
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        name = materialization.asset_key.to_user_string()
        if REUSED_FROM_RUN in materialization.metadata:
            reused.setdefault(materialization.metadata[REUSED_FROM_RUN].value, []).append(name)
        else:
            computed.append(name)
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    untouched = [key.to_user_string() for key in every if key not in selection]
    status = "succeeded" if result.success else "FAILED"
    print(f"\nRun {result.run_id} {status} in {seconds:.1f} s on {dataset}")
    print(f"Run record: DAGSTER_HOME={home} (browse it with `make ui`)")
    print(_listing(f"Computed ({len(computed)})", computed))
    count = sum(len(names) for names in reused.values())
    if not reused:
        print(_listing("Reused (0)", []))
    for run_id, names in reused.items():
        print(_listing(f"Reused ({count}) from run {run_id[:8]}", names))
    print(_listing(f"Untouched ({len(untouched)})", untouched))
    not_done = [key.to_user_string() for key in selection if key not in done]
    if not_done:
        print(_listing(f"Not materialized ({len(not_done)})", not_done))
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
        print(f"Outputs under {storage}")
        print(f"Report: {Path(storage) / 'report' / 'report.html'}")
    return 0 if result.success else 1


@contextlib.contextmanager
def _run(instance, selection, tags: dict, run_config: dict, dataset, storage: str):
    """Run the job on `selection` with the job's own executor: in this process under the local
    profile (executor.local_executor), on Dask under the team profile. Under the team profile
    the dataset and storage go in the run config, since a worker builds its resources from the
    run, not from this process's environment."""
    from dagster import execute_job, reconstructable

    from superstore_assets.definitions import (
        previews_setting,
        resource_run_config,
        superstore_job,
    )
    from superstore_assets.project import deployment_profile

    if deployment_profile() == "team":
        run_config = {
            **run_config,
            **resource_run_config(
                str(dataset.resolved_path()), storage, previews_setting(), dataset.date_format
            ),
        }
    job = reconstructable(superstore_job)
    if _ONE_COMMAND_PROCESS:
        # What is alive now (modules, definitions, the instance) lives as long as the process:
        # frozen, it is no longer walked by every pass of the cycle collector during the run.
        # Only in the `superstore` process, which ends with the command; a caller of main()
        # keeps its heap as it was.
        garbage_collector.freeze()
    with execute_job(
        job,
        instance=instance,
        asset_selection=selection,
        tags=tags,
        raise_on_error=False,
        run_config=run_config,
    ) as result:
        yield result


def _listing(heading: str, names: list[str]) -> str:
    """`Heading: a, b, c`, wrapped at 100 columns."""
    return textwrap.fill(
        f"{heading}: {', '.join(names) or '-'}", width=100, subsequent_indent="    "
    )


def _waiting(holder: str) -> None:
    print(f"Another `superstore materialize` ({holder}) is running on this home; waiting for it.")


def gc(args: argparse.Namespace) -> int:
    """Delete stored versions beyond the newest N of each asset; the current one always stays."""
    home = _setup(args)
    from dagster import DagsterInstance

    from superstore_assets.gc import collect

    if args.keep < 1:
        print("superstore gc: --keep must be at least 1 (the current version)", file=sys.stderr)
        return 2
    nodes, _ = _graph(home, _dataset())
    with DagsterInstance.get() as instance:
        removed = collect(instance, nodes, keep=args.keep, dry_run=args.dry_run)
    verb = "Would remove" if args.dry_run else "Removed"
    total = sum(size for _, size in removed)
    print(
        f"{verb} {len(removed)} stored versions ({total / 1e6:.1f} MB); kept {args.keep} per asset."
    )
    for path, size in removed:
        print(f"  {path}  {size / 1e3:.0f} kB")
    return 0


def history(args: argparse.Namespace) -> int:
    """Print the runs on record, newest first; read only, nothing is computed."""
    _setup(args)

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
    _setup(args)

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
    run = commands.add_parser(
        "materialize", help="materialize what is stale or missing (--all: everything) in one run"
    )
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "--stale", action="store_true", help="stale and missing assets, reusing where possible"
    )
    scope.add_argument("--all", action="store_true", help="every asset, computed again")
    run.add_argument(
        "--log-level", default="INFO", help="Dagster's console log level (INFO, WARNING, …)"
    )
    where = [run]
    check = commands.add_parser("status", help="observe the dataset; which assets are stale, why")
    check.add_argument(
        "--recheck", action="store_true", help="work it out again, even if nothing changed"
    )
    check.set_defaults(handler=status)
    where.append(check)
    look = commands.add_parser("observe", help="record the dataset file's hash; compute nothing")
    look.set_defaults(handler=observe_command)
    where.append(look)
    prune = commands.add_parser("gc", help="delete stored versions beyond the newest N per asset")
    prune.add_argument("--keep", type=int, required=True, help="versions kept per asset (>= 1)")
    prune.add_argument("--dry-run", action="store_true", help="list, do not delete")
    prune.set_defaults(handler=gc)
    where.append(prune)
    for command in where:
        command.add_argument("--dataset", help="a Superstore CSV (default: data/superstore.csv)")
        command.add_argument("--storage", help="storage folder or fsspec URL (default: storage/)")
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
    from superstore_assets.project import ProfileError

    try:
        return args.handler(args)
    except (DatasetUnreadable, ProfileError) as error:  # one sentence: what to fix, and how
        print(f"superstore {args.command}: {error}", file=sys.stderr)
        return 2


def run() -> None:
    """The `superstore` command itself: main(), then a quick exit.

    Once a command has finished and its output is flushed, tearing the interpreter down (the
    objects of the 2,700 modules that Dagster, pandas and scikit-learn import, one by one) took
    about a second on this machine, a tenth of a run. So the process ends with the exit handlers
    run, its output flushed and then os._exit, as long as no other thread is still running.
    """
    global _ONE_COMMAND_PROCESS
    _ONE_COMMAND_PROCESS = True
    code = main()
    if threading.active_count() > 1:  # some thread still at work: let the interpreter wait
        sys.exit(code)
    atexit._run_exitfuncs()  # logging's flush, weakref finalizers, multiprocessing's clean-up
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: nothing more can be written anyway
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
