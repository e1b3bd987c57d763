"""Every private Dagster API the project uses, and only here; each pinned by a test.

Nothing else in the package imports `dagster._…` or touches a private attribute of Dagster's
objects. Each name below is what the engine relies on, and
`superstore_assets_tests/engine/test_dagster_internals.py` checks the behaviour relied on
(not merely that the name exists), so a Dagster upgrade that moves or changes one fails a test
that names it. Where a public API serves, it is used instead.

What for:
- the local executor (executor.py) is Dagster's in-process executor with the model steps
  forked: it reuses Dagster's run loop (ExecuteRunWithPlanIterable, PlanExecutionContextManager),
  its step events (step_events), hooks (run_hooks) and captured logs (capture_step_logs), and
  hands events between processes with Dagster's own serialisation;
- the team executor runs a step on a Dask worker as dagster-dask's worker function does
  (run_step: the job rebuilt, a plan of that one step executed), with an instance the worker
  keeps between steps;
- the event log (eventlog.py) is Dagster's SQLite event log with its connections kept open;
- reuse compares with the input versions a step reads as Dagster will record them
  (input_data_versions), and orders_raw makes a step re-read its input's version after
  recording a new observation (refresh_input_version);
- `superstore materialize` tags runs and fails the runs a killed process left open;
- freshness reads the latest evaluation of each blocking check from the event log storage
  (failed_blocking_checks), so that an output a check refused never counts as current;
- the team profile's dagster.yaml names NoOpComputeLogManager through this module;
- the console shows a failed step in one line (failures.py), reading the event and message
  Dagster attaches to each log record; runs whose config names no logger (Dagster's implicit
  asset job: `dagster asset materialize`, `dg launch`, the UI's "Materialize") get that console
  logger too, in place of Dagster's default (use_as_default_console_logger);
- a step's Output carries its data version without Dagster's BetaWarning for it
  (versioned_output), whatever state the process's warning filters are in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    LoggerDefinition,
    OpExecutionContext,
    Output,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution import context_creation_job
from dagster._core.execution.api import (
    ExecuteRunWithPlanIterable,
    create_execution_plan,
    execute_plan,
)
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import (
    PlanExecutionContext,
    PlanOrchestrationContext,
    StepExecutionContext,
)
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.base import Executor
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.executor.init import InitExecutorContext
from dagster._core.log_manager import LOG_RECORD_EVENT_ATTR, LOG_RECORD_METADATA_ATTR
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._serdes import ConfigurableClassData, deserialize_value, serialize_value
from dagster_shared.utils.warnings import _warnings_on

__all__ = [
    "DATA_VERSION_TAG",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "ConfigurableClassData",
    "DagsterEvent",
    "EngineEventData",
    "ExecuteRunWithPlanIterable",
    "ExecutionPlan",
    "Executor",
    "InProcessExecutor",
    "InitExecutorContext",
    "NoOpComputeLogManager",
    "PlanExecutionContext",
    "PlanExecutionContextManager",
    "PlanOrchestrationContext",
    "RetryMode",
    "SqliteEventLogStorage",
    "deserialize_value",
    "serialize_value",
]


def run_step(recon_job, dagster_run, run_config, step_key: str, instance, known_state) -> list:
    """One step of a run, executed in this process on `instance` as dagster-dask's worker
    function does it: the job rebuilt from its reference, a plan of that one step (knowing what
    the run has made so far), its events written to the run record and returned."""
    job = recon_job.get_subset(op_selection=dagster_run.resolved_op_selection)
    plan = create_execution_plan(
        job, run_config=run_config, step_keys_to_execute=[step_key], known_state=known_state
    )
    return list(execute_plan(plan, job, instance, dagster_run, run_config=run_config))


def step_events(step_context: StepExecutionContext) -> Iterator[DagsterEvent]:
    """Run one step and yield its events, as Dagster's in-process loop does."""
    return dagster_event_sequence_for_step(step_context)


def run_hooks(step_context: StepExecutionContext, events: list[DagsterEvent]):
    """Run the step's success/failure hooks on its events, as Dagster's loop does after a step."""
    return _trigger_hook(step_context, events)


def capture_step_logs(
    job_context: PlanExecutionContext, step_keys: list[str], stack
) -> DagsterEvent:
    """Capture the run's stdout and stderr for `step_keys` in the compute-log manager (entered
    on `stack`) and return the event that tells the UI where the logs are."""
    manager = job_context.instance.compute_log_manager
    log_key = manager.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
    log_context = stack.enter_context(manager.capture_logs(log_key))
    return DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)


def record_event(record) -> DagsterEvent | None:
    """The Dagster event a log record carries, as Dagster's log manager attaches it."""
    return getattr(record, LOG_RECORD_EVENT_ATTR, None)


def record_message(record) -> str | None:
    """A Dagster log record's own message, without the prefix and trace Dagster adds."""
    metadata = getattr(record, LOG_RECORD_METADATA_ATTR, None)
    return metadata.get("orig_message") if metadata else None


# The parent's SQLite engines, kept referenced (never used or closed) in a forked child.
_INHERITED: list = []


def forget_connections(instance) -> None:
    """In a forked child: let the event log open connections of its own. The parent's open
    SQLite connections are not this process's to use or close, so they are kept, untouched,
    until the child ends with os._exit."""
    engines = getattr(instance.event_log_storage, "_engines", None)
    if engines:
        _INHERITED.append(dict(engines))
        engines.clear()


def refresh_input_version(context: AssetExecutionContext, key: AssetKey) -> None:
    """Make the running step re-read the recorded data version of input `key`.

    Dagster reads its inputs' data versions when a step starts and records them as the output's
    lineage. A step that records a new observation of its input itself (see orders_raw) calls
    this so that the lineage names that observation, not the one before it.
    """
    _step_context(context).wipe_input_asset_version_info(key)


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
    step = _step_context(context)
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


def failed_blocking_checks(
    instance, checks: Mapping[AssetKey, tuple[str, ...]]
) -> dict[AssetKey, dict[int, list[str]]]:
    """The blocking checks whose latest evaluation failed at ERROR severity, by asset and by the
    storage id of the materialization they checked: {asset: {storage id: [check names]}}.

    Such a failure stopped its run at that asset (Dagster's blocking checks), but the
    materialization stays the asset's latest until another replaces it. One query for every
    check (the event log's latest execution of each, a method of Dagster's storage classes
    that DagsterInstance does not forward)."""
    from dagster import AssetCheckEvaluation, AssetCheckKey, AssetCheckSeverity

    keys = [AssetCheckKey(asset, name) for asset, names in checks.items() for name in names]
    if not keys:
        return {}
    found: dict[AssetKey, dict[int, list[str]]] = {}
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    for key, record in latest.items():
        evaluation = record.evaluation  # None, or only planned, while its run has not said
        if not isinstance(evaluation, AssetCheckEvaluation) or evaluation.passed:
            continue
        if evaluation.severity != AssetCheckSeverity.ERROR:
            continue
        target = evaluation.target_materialization_data
        if target is not None:
            found.setdefault(key.asset_key, {}).setdefault(target.storage_id, []).append(key.name)
    return found


# How far back a check's history is searched for the evaluations of an earlier output.
CHECK_HISTORY = 200


def check_evaluations_of(
    instance, asset: AssetKey, names: Sequence[str], storage_id: int
) -> list | None:
    """The evaluations of the asset's checks `names` that targeted the materialization stored
    with `storage_id` (AssetCheckEvaluation, in the order of `names`), or None if one of them is
    not among each check's CHECK_HISTORY latest. One query a check, through the same method of
    Dagster's storage classes as above."""
    from dagster import AssetCheckEvaluation, AssetCheckKey

    found = []
    for name in names:
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(asset, name), limit=CHECK_HISTORY
        )
        for record in history:
            evaluation = record.evaluation
            target = getattr(evaluation, "target_materialization_data", None)
            checked = target.storage_id if target is not None else None
            if isinstance(evaluation, AssetCheckEvaluation) and checked == storage_id:
                found.append(evaluation)
                break
        else:
            return None
    return found


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


def use_as_default_console_logger(logger_def: LoggerDefinition, level: str = "INFO") -> None:
    """Give runs whose config names no logger `logger_def` at `level` (the instance's
    `python_logs: python_log_level` wins), where Dagster would start its colored console logger
    at DEBUG. A job's own loggers start only when the run's config names them, and Dagster's
    implicit asset job has no config of the project's, so this is the one place where its
    console can be chosen. It holds in the process that loaded the project's definitions: the
    CLI's, the code server's and each run worker's."""

    def project_console(instance) -> list[tuple[LoggerDefinition, dict[str, str]]]:
        chosen = instance.python_log_level if instance and instance.python_log_level else level
        return [(logger_def, {"name": "dagster", "log_level": chosen})]

    context_creation_job.default_system_loggers = project_console


def versioned_output(value, version: str, metadata: Mapping) -> Output:
    """`Output(value, data_version=DataVersion(version), metadata=metadata)`, without the
    BetaWarning Dagster gives for `data_version` on every call.

    The package's warning filter (superstore_assets/__init__.py) does not suffice: the filters
    are one list per process, which scikit-learn's worker threads (the forest's n_jobs) reset
    and rebuild while they run, and a thread switch at the wrong moment leaves a rebuilt copy
    in place. After one such fit the warning was printed on a run's stderr. Dagster's own
    switch (its warnings are off in the current context) is checked before any filter.
    """
    token = _warnings_on.set(False)
    try:
        return Output(value, data_version=DataVersion(version), metadata=metadata)
    finally:
        _warnings_on.reset(token)


def _step_context(context: AssetExecutionContext) -> StepExecutionContext:
    return context.op_execution_context._step_execution_context
