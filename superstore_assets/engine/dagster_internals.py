"""The only Dagster internals the project uses, in one place, each pinned by a test.

If a Dagster upgrade moves one of these, `superstore_assets_tests/test_dagster_internals.py`
fails and names it.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import AssetExecutionContext, AssetKey, OpExecutionContext

# The tag under which Dagster stores an event's data version (not exported by Dagster).
DATA_VERSION_TAG = "dagster/data_version"


def refresh_input_version(context: AssetExecutionContext, key: AssetKey) -> None:
    """Make the running step re-read the recorded data version of input `key`.

    Dagster reads its inputs' data versions when a step starts and records them as the output's
    lineage. A step that records a new observation of its input itself (see orders_raw) calls
    this so that the lineage names that observation, not the one before it.
    """
    step = context.op_execution_context._step_execution_context
    step.wipe_input_asset_version_info(key)


def tag_run(context: AssetExecutionContext | OpExecutionContext, tags: Mapping[str, str]) -> None:
    """Add tags to the running run, whichever way it was launched (UI, CLI, Python).

    DagsterInstance.add_run_tags is not marked public; launch-time tags cannot know the
    dataset's hash, which is found only when the file is read.
    """
    context.instance.add_run_tags(context.run.run_id, dict(tags))


def input_data_versions(context: AssetExecutionContext) -> dict[AssetKey, str]:
    """The data versions of the asset's inputs, exactly as Dagster will record them as lineage.

    Dagster reads them when the step starts (the latest materialization, or observation for a
    source) and writes them to the materialization's tags; reuse compares against the same.
    """
    step = context.op_execution_context._step_execution_context
    versions = {}
    for dep in context.assets_def.specs_by_key[context.asset_key].deps:
        key = dep.asset_key
        info = step.maybe_fetch_and_get_input_asset_version_info(key)
        if info is not None and info.data_version is not None:
            versions[key] = info.data_version.value
    return versions


def recorded_provenance(tags: Mapping[str, str]) -> tuple[str, dict[AssetKey, str]] | None:
    """The code version and input data versions a materialization was recorded with."""
    from dagster import DataProvenance

    provenance = DataProvenance.from_tags(tags)
    if provenance is None:
        return None
    return provenance.code_version, {
        key: version.value for key, version in provenance.input_data_versions.items()
    }


# Run tag of a run that `superstore materialize` executes in its own process (its pid).
LAUNCHED_BY_TAG = "superstore/pid"


def fail_abandoned_runs(instance) -> list[str]:
    """Mark as failed the runs a `superstore materialize` started and never finished.

    Call it holding the home's materialize lock: then no such run can still be going, and one
    still "started" belongs to a process that was killed. DagsterInstance.report_run_failed is
    not marked public; Dagster's own run monitoring does the same from its daemon.
    """
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = instance.get_runs(
        RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING])
    )
    failed = []
    for run in unfinished:
        if LAUNCHED_BY_TAG not in run.tags:
            continue
        instance.report_run_failed(
            run, f"the process that ran it (pid {run.tags[LAUNCHED_BY_TAG]}) ended first"
        )
        failed.append(run.run_id)
    return failed
