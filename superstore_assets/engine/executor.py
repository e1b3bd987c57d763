"""The local executor: Dagster's in-process executor, with the long steps two at a time.

Dagster's in-process executor runs one step after another; its multiprocess executor starts a
process for every step (a new Python by default, about 2.5 s a step on this machine; forked from
a forkserver as SUPERSTORE_EXECUTOR=multiprocess configures it, about 0.7 s; either is more than
most steps take). This one runs every step in the run's own process, as the in-process executor
does, except the steps tagged PARALLEL_TAG (fitting and evaluating the models: seconds of
scikit-learn each, on little data). Those run in children forked from the run's process, up to
PARALLEL_STEPS at once, while the run's process goes on with the short steps. A child starts
with everything already imported and loaded, so it costs milliseconds; it writes its events to
the run record itself, as a step in any executor does, and hands them back when it ends, so that
the run goes on exactly as if the step had run in the run's process. A step's outputs do not
depend on where it ran (tested). A tagged step that will restore its output (asked of the
freshness rule, freshness.py, with the input versions the step will see) stays in the run's
process: that takes milliseconds, less than a fork costs.

Two habits keep both cores busy. Of the steps ready in the run's process, those with a tagged
step below them go first (the split before the EDA figures), so that the forks start as soon as
they can and the short steps run beside them. And while the run's process has nothing to do
but wait for its children (no step of its own ready, none waiting for a child's place), it does
the slow preparation a later step of its own names in WARM_TAG ("module:function", say
importing skops for the champion), so that step does not wait for it later.

Two steps at a time hold two steps' data, so this happens only while the dataset file is under
PARALLEL_MAX_DATASET_BYTES and no table of more than memory.ROWS_KEPT lines has been met;
otherwise, and where there is no fork (Windows), it is the in-process executor.

The team executor (the team profile) is the same loop with Dask workers in place of the forks:
every step that computes is sent to a worker, which runs it as dagster-dask's executor does
(the job rebuilt there, each worker loading it as the run starts rather than when its first
step comes; the instance opened from its reference, once per worker process), and every step
that will restore its output runs in the run's process. A step is sent once its
inputs are made, so the freshness rule is asked with the versions it will see.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import select
import signal
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterInvariantViolationError,
    ExecutorDefinition,
    executor,
)

from superstore_assets.engine.dagster_internals import (
    DATA_VERSION_TAG,
    DagsterEvent,
    EngineEventData,
    ExecuteRunWithPlanIterable,
    ExecutionPlan,
    Executor,
    InitExecutorContext,
    InProcessExecutor,
    PlanExecutionContext,
    PlanExecutionContextManager,
    PlanOrchestrationContext,
    RetryMode,
    capture_step_logs,
    deserialize_value,
    forget_connections,
    run_hooks,
    run_step,
    serialize_value,
    step_events,
)
from superstore_assets.engine.eventlog import hold_connections, keep_connections_open
from superstore_assets.engine.freshness import node_of, will_restore
from superstore_assets.engine.memory import large_table_seen
from superstore_assets.engine.observation import observed_size

# On the steps worth a process of their own: seconds of scikit-learn, little data. Its value is
# "true", or "module:function" to call in the run's process before the step is forked.
PARALLEL_TAG = "superstore/parallel"
# "module:function" that a step run in the run's process needs done first (an import): called
# while the run's process waits for forked steps with a core to spare, if it does, else when
# the step runs.
WARM_TAG = "superstore/warm"
# Above this dataset size (about 280k lines of the Superstore's), steps run one at a time.
PARALLEL_MAX_DATASET_BYTES = 64 * 2**20
# Tagged steps running at once, each in a child (the machine's cores, at most two).
PARALLEL_STEPS = max(1, min(2, os.cpu_count() or 1))
# The folder of a run's forked children's events, under the system's temporary folder.
_FOLDER = "superstore-steps-"


class LocalExecutor(InProcessExecutor):
    """The in-process executor, with the steps tagged PARALLEL_TAG run in forked children."""

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        keep_connections_open(plan_context.instance.event_log_storage)
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process (pid: {os.getpid()}), two at a time where they can",
            event_specific_data=EngineEventData.in_process(
                os.getpid(), execution_plan.step_keys_to_execute
            ),
        )
        yield from self._steps(plan_context, _execution_iterator)

    def _steps(self, plan_context: PlanOrchestrationContext, iterator) -> Iterator[DagsterEvent]:
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=iterator,
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )
        )


@executor(name="local", config_schema={})
def local_executor(init_context: InitExecutorContext) -> Executor:
    """Steps in the run's process; the models' fits and evaluations in forked children."""
    return LocalExecutor(retries=RetryMode.DISABLED)


class TeamExecutor(LocalExecutor):
    """The team profile's executor: every step that computes runs on a Dask worker, as under
    dagster-dask's executor; a step that will restore its output runs in the run's process,
    where that takes milliseconds instead of a worker's second (the freshness rule decides, as
    for the local executor's forks)."""

    def __init__(self, address: str | None):
        super().__init__(retries=RetryMode.DISABLED)
        self.address = address

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        from distributed import Client, LocalCluster

        if not plan_context.instance.is_persistent:
            raise DagsterInvariantViolationError(
                "The team profile runs steps on Dask workers, which open the run's Dagster "
                "instance: set DAGSTER_HOME to a home with the team profile's dagster.yaml"
            )
        with ExitStack() as stack:
            cluster = self.address or stack.enter_context(LocalCluster(threads_per_worker=1))
            client = stack.enter_context(Client(cluster))
            yield DagsterEvent.engine_event(
                plan_context,
                f"Executing the steps that compute on Dask ({client.scheduler.address}), "
                f"those that restore their output in process (pid: {os.getpid()})",
                event_specific_data=EngineEventData.in_process(
                    os.getpid(), execution_plan.step_keys_to_execute
                ),
            )
            away = _OnDask(client, plan_context)
            yield from self._steps(plan_context, functools.partial(_execution_iterator, away=away))


def team_executor(address: str | None) -> ExecutorDefinition:
    """The team executor on the Dask scheduler at `address` (tcp://host:8786), or on a
    LocalCluster of this machine's cores when it is None."""

    @executor(name="dask", config_schema={})
    def dask(init_context: InitExecutorContext) -> Executor:
        return TeamExecutor(address)

    return dask


class _Child:
    """A step running in a forked child, which writes its events to `events` as it ends."""

    def __init__(self, step_context, events: Path):
        self.step_context = step_context
        self.events = events
        # The child holds the write end of this pipe until it ends: then the read end, which
        # the parent waits on (select), reports the end of the file.
        self.ended, writer = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.ended)
            _run_in_child(step_context, events)  # never returns
        os.close(writer)

    def wait(self, block: bool) -> list[DagsterEvent] | None:
        """The child's events once it has ended (None while it runs and block is False)."""
        pid, _ = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return None
        os.close(self.ended)
        if not self.events.exists():  # it died before it could write them
            return []
        lines = self.events.read_text(encoding="utf-8").splitlines()
        self.events.unlink()
        return [deserialize_value(line, DagsterEvent) for line in lines]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)


class _Forks:
    """Where the local executor sends a step tagged PARALLEL_TAG: a child forked from the run's
    process, PARALLEL_STEPS at most at once."""

    room = PARALLEL_STEPS

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def takes(step) -> bool:
        return PARALLEL_TAG in step.tags

    def start(self, step_context, known_state) -> _Child:
        _prepare(step_context.step.tags[PARALLEL_TAG])
        return _Child(step_context, self.folder / f"{step_context.step.key}.events")

    @staticmethod
    def wait_any(children: list[_Child]) -> None:
        select.select([c.ended for c in children], [], [])


class _OnDask:
    """Where the team executor sends every step that computes: a Dask worker, which runs it as
    dagster-dask's executor does (the step's events written to the run record by the worker,
    and handed back). Dask queues what the workers cannot take yet."""

    room = None

    def __init__(self, client, plan_context: PlanOrchestrationContext):
        self.client = client
        self.plan_context = plan_context
        self.instance_ref = plan_context.instance.get_ref()
        self.warming = self._warm()

    def _warm(self) -> list:
        """Have each worker load the job now, beside the run's own start, instead of when its
        first step comes (a worker that has run this job before has it loaded: milliseconds).
        The futures are kept for the run: a future let go is a task cancelled."""
        job, run_id = self.plan_context.reconstructable_job, self.plan_context.run_id
        return [
            self.client.submit(
                _load_on_worker,
                job,
                key=f"load.{run_id}.{worker}",
                workers=[worker],
                allow_other_workers=False,
                pure=False,
            )
            for worker in self.client.scheduler_info().get("workers", {})
        ]

    @staticmethod
    def takes(step) -> bool:
        return True

    def start(self, step_context, known_state) -> _OnDaskStep:
        context, step = self.plan_context, step_context.step
        future = self.client.submit(
            _on_worker,
            context.reconstructable_job,
            context.dagster_run,
            context.run_config,
            step.key,
            self.instance_ref,
            known_state,
            key=f"{context.job_name}.{step.key}.{context.run_id}",
            pure=False,
            resources=dask_resources(step.tags),
        )
        return _OnDaskStep(step_context, future)

    @staticmethod
    def wait_any(children: list[_OnDaskStep]) -> None:
        from distributed import wait

        wait([c.future for c in children], return_when="FIRST_COMPLETED")


# The op tag dagster-dask reads for the Dask resources a step needs ({"GPU": 1}, as JSON).
DASK_RESOURCES_TAG = "dagster-dask/resource_requirements"


def dask_resources(tags) -> dict:
    """The Dask resources a step asks for in DASK_RESOURCES_TAG, read as dagster-dask's executor
    reads them (importing dagster_dask for it would import dask.dataframe, seconds a run)."""
    value = tags.get(DASK_RESOURCES_TAG)
    return json.loads(value) if value is not None else {}


# The Dagster instance a Dask worker process keeps for each record it runs steps for.
_WORKER_INSTANCES: dict[str, DagsterInstance] = {}


def _load_on_worker(recon_job) -> None:
    """Load the job in this worker process, where it stays loaded for every step sent here."""
    recon_job.get_definition()


def _on_worker(recon_job, dagster_run, run_config, step_key: str, instance_ref, known_state):
    """A step on a Dask worker, as dagster-dask's worker function runs it, except that the
    worker keeps its instance between steps, with its PostgreSQL connections open (opened for
    each step, an instance costs a connection for every query it makes). The events go back
    serialized, as Dagster stores them: Dask cannot size a list of DagsterEvents, and warned on
    every step that it failed to."""
    key = serialize_value(instance_ref)
    instance = _WORKER_INSTANCES.get(key)
    if instance is None:
        instance = _WORKER_INSTANCES[key] = DagsterInstance.from_ref(instance_ref)
        hold_connections(instance)
    events = run_step(recon_job, dagster_run, run_config, step_key, instance, known_state)
    return [serialize_value(event) for event in events]


class _OnDaskStep:
    """A step running on a Dask worker."""

    def __init__(self, step_context, future):
        self.step_context = step_context
        self.future = future

    def wait(self, block: bool) -> list[DagsterEvent] | None:
        """The step's events once it has ended (None while it runs and block is False); none
        if the worker failed outside the step (the run then marks the step failed)."""
        if not block and not self.future.done():
            return None
        try:
            return [deserialize_value(line, DagsterEvent) for line in self.future.result()]
        except Exception as error:  # the worker died or could not run the step at all
            self.step_context.log.error(f"The Dask worker did not run the step: {error!r}")
            return []

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.future.cancel()


def _run_in_child(step_context, events: Path) -> None:
    code = 1
    try:
        # The parent's open SQLite connections are not this process's to use or close: new ones
        # are opened, and the inherited ones are kept, untouched, until os._exit.
        forget_connections(step_context.instance)
        produced = [serialize_value(e) for e in step_events(step_context)]
        partial = events.with_suffix(".partial")
        partial.write_text("".join(line + "\n" for line in produced), encoding="utf-8")
        partial.rename(events)
        code = 0
    finally:
        os._exit(code)


_PREPARED: set[str] = set()


def _prepare(value: str) -> None:
    """Call, once per process, the "module:function" a step's PARALLEL_TAG or WARM_TAG names
    (imports, say): a child forked afterwards starts with it done instead of doing it again."""
    if ":" in value and value not in _PREPARED:
        module, name = value.split(":")
        getattr(importlib.import_module(module), name)()
        _PREPARED.add(value)


def _leading_to_forks(execution_plan: ExecutionPlan) -> set[str]:
    """The steps with a step tagged PARALLEL_TAG somewhere below them."""
    steps = execution_plan.get_steps_to_execute_in_topo_order()
    below: dict[str, set[str]] = {step.key: set() for step in steps}
    for step in steps:
        for upstream in step.get_execution_dependency_keys():
            below.setdefault(upstream, set()).add(step.key)
    tagged = {step.key for step in steps if PARALLEL_TAG in step.tags}
    leading: set[str] = set()
    for step in reversed(steps):
        if below[step.key] & (tagged | leading):
            leading.add(step.key)
    return leading


def _parallel_allowed(job_context: PlanExecutionContext) -> bool:
    """Whether steps may fork: where there is a fork, and the dataset is small enough that two
    steps at once fit in memory. A run of some assets only (what is stale below an edited
    model, say) may not have the dataset resource; the file's size is then the one its latest
    observation recorded (the CLI observes it before every run)."""
    if not hasattr(os, "fork") or large_table_seen():
        return False
    dataset = job_context.scoped_resources_builder.resource_instance_dict.get("dataset")
    if dataset is not None:
        try:
            size = dataset.resolved_path().stat().st_size
        except OSError:
            return False
    else:
        size = observed_size(job_context.instance)
    return size is not None and size <= PARALLEL_MAX_DATASET_BYTES


def _execution_iterator(
    job_context: PlanExecutionContext,
    execution_plan: ExecutionPlan,
    away: _Forks | _OnDask | None = None,
    **_,
) -> Iterator[DagsterEvent]:
    """Dagster's in-process step loop (execute_plan.inner_plan_execution_iterator), with the
    steps `away` takes sent there (forked children, or Dask workers) unless they will only
    restore their output. Without `away`: forked children for the steps tagged PARALLEL_TAG,
    where that is allowed (_parallel_allowed), else every step here."""
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    with ExitStack() as stack:
        active = stack.enter_context(
            execution_plan.start(
                retry_mode=job_context.retry_mode,
                step_dependency_config=job_context.step_dependency_config,
            )
        )
        yield capture_step_logs(job_context, step_keys, stack)

        if away is None and _parallel_allowed(job_context):
            away = _Forks(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=_FOLDER))))
        forks = isinstance(away, _Forks)
        leading = _leading_to_forks(execution_plan) if forks else set()
        warm = [
            step.tags[WARM_TAG]
            for step in execution_plan.get_steps_to_execute_in_topo_order()
            if forks and WARM_TAG in step.tags
        ]
        children: list = []  # steps running away from this process
        stack.callback(_stop, children)  # if this loop is left early (an interrupt, an error)
        queued: list = []  # steps claimed, in Dagster's order, not yet started
        made: dict[AssetKey, str] = {}  # data versions materialized in this run
        here_keys: set[str] = set()  # steps `away` would take, kept in this process

        def sent(step) -> bool:  # a step that goes away unless it will restore its output
            return away is not None and away.takes(step) and step.key not in here_keys

        while not active.is_complete:
            queued.extend(active.get_steps_to_execute())
            ended = [(c, c.wait(block=False)) for c in children]
            ended = [(c, events) for c, events in ended if events is not None]
            for child, events in ended:
                children.remove(child)
                yield from _finish(job_context, active, child.step_context, events, made)
            if ended:
                continue  # what they made may have readied other steps
            for step in [s for s in queued if sent(s)]:  # away while there is room
                if away.room is not None and len(children) >= away.room:
                    break
                if _will_restore(job_context, step, made):
                    here_keys.add(step.key)  # it will restore its output: milliseconds
                    continue
                queued.remove(step)
                known = active.get_known_state()
                children.append(away.start(job_context.for_step(step, known), known))
            here = [s for s in queued if not sent(s)]
            here.sort(key=lambda s: s.key not in leading)  # stable: else in Dagster's order
            waiting = [s for s in queued if sent(s)]
            if not here:
                # Idle until a child ends, and a core free: prepare. Not while the children
                # fill every core: the preparation would then take three times as long, and a
                # child that ends meanwhile waits for it to end before the step below it forks
                # (1.7 s on the forest's path, seen in a run's record).
                if children and warm and not waiting and len(children) < away.room:
                    _prepare(warm.pop(0))
                elif children:  # nothing to do here until a child ends
                    away.wait_any(children)
                elif not queued:
                    active.sleep_til_ready()
                continue
            step = here[0]
            queued.remove(step)
            step_context = job_context.for_step(step, active.get_known_state())
            events = []
            for event in step_events(step_context):
                events.append(event)
                yield event
                active.handle_event(event)
            yield from _finish(job_context, active, step_context, events, made, handled=True)


def _stop(children: list) -> None:
    for child in children:
        child.stop()


def _will_restore(job_context: PlanExecutionContext, step, made: dict[AssetKey, str]) -> bool:
    """Whether the step's asset will restore an earlier output (the freshness rule, asked with
    the input versions the step will see: made in this run, else the latest recorded). Such a
    step takes milliseconds, less than a fork. (Each step here is one asset, named as it is.)"""
    key = AssetKey(step.key)
    if not job_context.job_def.asset_layer.has(key):  # not an asset's step: it runs where sent
        return False
    assets_def = job_context.job_def.asset_layer.get(key).assets_def
    resources = job_context.scoped_resources_builder.resource_instance_dict
    node = node_of(assets_def, key, resources)
    instance = job_context.instance
    inputs = {}
    for parent in node.parents:
        version = made.get(parent)
        if version is None:  # not made in this run: its latest materialization or observation
            record = instance.get_latest_data_version_record(parent)
            tags = record.event_log_entry.tags if record is not None else None
            version = (tags or {}).get(DATA_VERSION_TAG)
        if version is not None:
            inputs[parent] = version
    return will_restore(instance, node, inputs, job_context.dagster_run.tags)


def _finish(job_context, active, step_context, events, made, handled=False):
    """What the in-process loop does after a step: its events handled, the step checked to have
    ended, skips worked out, hooks run; and the data versions it materialized noted."""
    for event in events:
        if not handled:
            yield event
            active.handle_event(event)
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            if materialization.tags and DATA_VERSION_TAG in materialization.tags:
                made[materialization.asset_key] = materialization.tags[DATA_VERSION_TAG]
    active.verify_complete(job_context, step_context.step.key)
    for event in active.plan_events_iterator(job_context):
        events.append(event)
        yield event
    yield from run_hooks(step_context, events)
