"""`superstore materialize`: what is stale or missing (or everything, --all) in one recorded run.

The steps, each a function: answer from the kept status when every asset was fresh; otherwise
open the instance under the one-at-a-time lock, fail runs a killed process left open, observe
the dataset, select by the freshness rule, run the job, and print what was computed, reused and
left untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from superstore_assets.cli import common
from superstore_assets.cli.common import (
    dataset_resource,
    graph,
    keep_status,
    keep_status_after_run,
    listing,
    observe,
    observe_orders_to_score,
    observed_line,
    setup,
    sources_state,
    status_keys,
    worked_out_status,
)
from superstore_assets.engine.files import confined
from superstore_assets.engine.one_shot import freeze_heap


def materialize(args: argparse.Namespace) -> int:
    """Observe the dataset and materialize what is stale or missing (or, with --all, every
    asset, computed again) in one recorded run; print what was computed, reused and left."""
    home = setup(args)
    from superstore_assets.engine.statuscache import recall

    overrides = common.overrides(args)
    keys = status_keys(home, settle=True)
    recompute = args.scope == "all"
    # The kept status answers for the defaults only.
    kept = None if recompute or overrides else recall(home, keys)
    if kept is not None and kept["all_fresh"]:  # nothing changed since every asset was fresh
        print(observed_line(kept["path"], kept["version"], kept["version"]))
        print(f"Nothing is stale: 0 computed, 0 reused, {kept['assets']} untouched.")
        return 0
    from superstore_assets.engine.dagster_internals import LAUNCHED_BY_TAG, fail_abandoned_runs
    from superstore_assets.engine.files import is_local, local_path, remove_orphaned_temporaries
    from superstore_assets.engine.freshness import RECOMPUTE_TAG, not_fresh
    from superstore_assets.engine.locking import locked_instance
    from superstore_assets.engine.project import storage_path

    dataset = dataset_resource()
    storage = storage_path()
    started = time.perf_counter()
    sources = sources_state()  # before the observation: what the versions below are of
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(locked_instance(home, wait_message=_waiting))
        for run_id in fail_abandoned_runs(instance):
            print(
                f"Run {run_id} was left unfinished by a `superstore materialize` that ended "
                "without finishing it (killed?); marked as failed. Its finished outputs stay."
            )
        if is_local(storage) and (removed := remove_orphaned_temporaries(local_path(storage))):
            print(f"Removed {removed} temporary file(s) left by a process killed mid-write.")
        version, previous = observe(instance, dataset)
        observe_orders_to_score(instance)
        nodes, source = graph(home, dataset, overrides)
        every = [node.key for node in nodes]
        print(observed_line(dataset.path, version, previous))
        statuses, note, swapped = None, "", None
        if not recompute:
            statuses, note, swapped = worked_out_status(instance, nodes, source, version)
        selection = every if statuses is None else not_fresh(statuses)
        if selection:
            from superstore_assets.assets.definitions import params_run_config

            tags = {
                LAUNCHED_BY_TAG: str(os.getpid()),
                **({RECOMPUTE_TAG: "true"} if recompute else {}),
                **experiment_tags(dataset, version, overrides, getattr(args, "experiment", None)),
            }
            run_config = {
                "loggers": {"console": {"config": {"log_level": args.log_level}}},
                **params_run_config(overrides),
            }
            from superstore_assets.cli.progress import shown_at

            result = stack.enter_context(
                _run(
                    instance,
                    selection,
                    tags,
                    run_config,
                    dataset=dataset,
                    storage=storage,
                    progress=shown_at(args.log_level),
                )
            )
    if not selection:
        if not overrides:
            keep_status(home, keys, dataset.path, version, statuses, note, swapped)
        print(f"Nothing is stale: 0 computed, 0 reused, {len(every)} untouched.")
        return 0
    seconds = time.perf_counter() - started
    outcome = "succeeded" if result.success else "FAILED"
    print(f"\nRun {result.run_id} {outcome} in {seconds:.1f} s on {dataset.path}")
    print(f"Run record: DAGSTER_HOME={home} (browse it with `make ui`)")
    print_summary(result, every, selection)
    if result.success:
        print(f"Outputs under {storage}")
        print(f"Report: {confined(storage, 'report/report.html')}")  # a URL keeps its //
    if not overrides and sources_state() == sources:
        # The next command's answer, worked out while Dagster is loaded: a rerun or a status
        # right after this run then costs milliseconds instead of opening the instance.
        sys.stdout.flush()
        keep_status_after_run(home, dataset.path, version, nodes, source)
    return 0 if result.success else 1


def experiment_tags(dataset, version: str, overrides: dict, experiment: str | None) -> dict:
    """The run's dataset (also when orders_raw is not in the run), its overridden parameters
    and its experiment, as run tags: what `superstore exp show` reads back."""
    import json

    from superstore_assets.engine.provenance import EXPERIMENT_TAG, PARAMS_TAG, TAG_PREFIX

    tags = {
        f"{TAG_PREFIX}dataset": Path(dataset.path).name,
        f"{TAG_PREFIX}dataset_sha256": version,
    }
    if overrides:
        tags[PARAMS_TAG] = json.dumps(overrides, sort_keys=True)
    if experiment:
        tags[EXPERIMENT_TAG] = experiment
    return tags


@contextlib.contextmanager
def _run(instance, selection, tags: dict, run_config: dict, dataset, storage: str, progress: bool):
    """Run the job on `selection` with the job's own executor: in this process under the local
    profile (executor.local_executor), on Dask under the team profile, its progress shown as it
    goes (cli/progress.py) if `progress`. Under the team profile the dataset and storage go in
    the run config, since a worker builds its resources from the run, not from this process's
    environment."""
    from dagster import execute_job, reconstructable

    from superstore_assets.assets.definitions import (
        previews_setting,
        resource_run_config,
        superstore_job,
    )
    from superstore_assets.cli.progress import following
    from superstore_assets.engine.dagster_internals import LAUNCHED_BY_TAG
    from superstore_assets.engine.project import deployment_profile

    if deployment_profile() == "team":
        located = resource_run_config(
            str(dataset.resolved_path()), storage, previews_setting(), dataset.date_format
        )
        # Beside the parameters' overrides, not in their place.
        resources = {**run_config.get("resources", {}), **located["resources"]}
        run_config = {**run_config, "resources": resources}
    job = reconstructable(superstore_job)
    if common.ONE_COMMAND_PROCESS:
        # Only in the `superstore` process, which ends with the command (engine/one_shot.py);
        # a caller of main() keeps its heap as it was.
        freeze_heap()
    shown = (
        following(instance, selection, (LAUNCHED_BY_TAG, tags[LAUNCHED_BY_TAG]))
        if progress
        else contextlib.nullcontext()
    )
    with shown:  # its final state drawn before the run's summary is printed
        executed = execute_job(
            job,
            instance=instance,
            asset_selection=selection,
            tags=tags,
            raise_on_error=False,
            run_config=run_config,
        )
    with executed as result:
        yield result


def print_summary(result, every: list, selection: list) -> None:
    """What the run computed, reused (by the run that computed it) and left, its checks, and
    the failure of each step that failed."""
    from dagster import AssetCheckSeverity

    from superstore_assets.engine.freshness import REUSED_FROM_RUN

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
    print(listing(f"Computed ({len(computed)})", computed))
    count = sum(len(names) for names in reused.values())
    if not reused:
        print(listing("Reused (0)", []))
    for run_id, names in reused.items():
        print(listing(f"Reused ({count}) from run {run_id[:8]}", names))
    print(listing(f"Untouched ({len(untouched)})", untouched))
    not_done = [key.to_user_string() for key in selection if key not in done]
    if not_done:
        print(listing(f"Not materialized ({len(not_done)})", not_done))
    failed_steps = [e.step_key for e in result.all_events if e.is_step_failure]
    if failed_steps:  # each with its reason, once, on its STEP_FAILURE line above
        print(listing(f"Failed ({len(failed_steps)})", failed_steps))
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed]
    print(f"Checks: {len(checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        # A blocking check that failed with ERROR stopped its step, whose line above gave its
        # finding; a warning (the champion's gate, keeping the earlier one) says what it found.
        stopped = check.blocking and check.severity == AssetCheckSeverity.ERROR
        told = "stopped its asset" if stopped else check.description or ""
        print(f"  FAILED {check.asset_key.to_user_string()}:{check.check_name}", told)


def _waiting(holder: str) -> None:
    print(f"Another `superstore materialize` ({holder}) is running on this home; waiting for it.")
