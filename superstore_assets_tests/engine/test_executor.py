"""The local executor: the models fitted and evaluated in forked children, beside other steps."""

import os
import subprocess
import time

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    Definitions,
    asset,
    define_asset_job,
    execute_job,
    reconstructable,
)

from superstore_assets.assets.resources import DatasetResource
from superstore_assets.engine import executor
from superstore_assets.engine.executor import PARALLEL_TAG, local_executor
from superstore_assets.engine.hashing import sha256_file
from superstore_assets.pipeline import config
from superstore_assets_tests.conftest import ASSETS, BUNDLED, ROOT
from superstore_assets_tests.servers import BIN

TAGGED = {f"{s.name}{end}" for s in config.MODEL_SPECS for end in ("", "_metrics")}


def _steps(instance, run_id: str) -> dict[str, tuple[int, float, float]]:
    """Each step of the run: the pid it ran in, when it started and when it ended."""
    started, found = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = (event.pid, record.timestamp)
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            pid, start = started[event.step_key]
            found[event.step_key] = (pid, start, record.timestamp)
    return found


def _on_bundled(workspace, command, *args: str) -> subprocess.CompletedProcess:
    """A command of the venv run on the bundled dataset in the workspace's home and storage."""
    return subprocess.run(
        [str(command), *args],
        cwd=ROOT,
        env=workspace.env(SUPERSTORE_DATASET=str(BUNDLED)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _data_versions(instance) -> dict[str, str]:
    return {
        key.to_user_string(): instance.get_latest_materialization_event(
            key
        ).asset_materialization.tags["dagster/data_version"]
        for key in instance.get_asset_keys()
        if instance.get_latest_materialization_event(key) is not None
    }


@pytest.mark.slow
def test_the_models_run_beside_other_steps_and_store_what_the_in_process_executor_does(
    materialized,
):
    """`superstore materialize --all` on a home where every asset is fresh computes every step
    again, the models in forked children beside the other steps, into the versions Dagster's
    in-process executor made; then `dagster asset materialize --select '*'`, the command CI
    runs, restores every output in the run's own process and records what it used."""
    workspace = materialized  # the session's run, made by Dagster's in-process executor
    with workspace.instance() as instance:
        (earlier,) = instance.get_runs()
        in_process = _data_versions(instance)
    done = workspace.superstore("materialize", "--all", SUPERSTORE_DATASET=str(BUNDLED))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Computed ({ASSETS})" in done.stdout, done.stdout  # fresh, and computed all the same
    with workspace.instance() as instance:
        run = instance.get_runs(limit=1)[0]
        steps = _steps(instance, run.run_id)
        versions = _data_versions(instance)
    assert run.run_id != earlier.run_id and len(steps) == ASSETS
    parent = {pid for key, (pid, _, _) in steps.items() if key not in TAGGED}
    assert len(parent) == 1  # every other step in the run's own process
    children = {key: steps[key] for key in TAGGED}
    assert not parent & {pid for pid, _, _ in children.values()}
    assert len({pid for pid, _, _ in children.values()}) == len(TAGGED)  # a fork per step
    overlapping = [
        (a, b)
        for a in children
        for b in children
        if a < b and children[a][1] < children[b][2] and children[b][1] < children[a][2]
    ]
    assert overlapping, "no two modeling steps ran at the same time"
    # The same data as through Dagster's in-process executor, but for the report: it now also
    # compares the champion with the earlier one, which the first run had none of.
    del versions["report"], in_process["report"]
    assert versions == in_process

    # Run again with nothing changed, each step restores its output: no step is worth a fork.
    again = _on_bundled(
        workspace,
        BIN / "dagster",
        "asset",
        "materialize",
        "-m",
        "superstore_assets",
        "--select",
        "*",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert (workspace.storage / "report" / "report.html").exists()
    sha = sha256_file(BUNDLED)
    with workspace.instance() as instance:
        latest = instance.get_runs(limit=1)[0]
        assert latest.is_success and latest.run_id != run.run_id
        assert latest.tags["superstore/dataset_sha256"] == sha  # the Runs page can filter on it
        restored = _steps(instance, latest.run_id)
        events = [instance.get_latest_materialization_event(k) for k in instance.get_asset_keys()]
        reused = [
            e
            for e in events
            if e is not None and "reused_from_run" in e.asset_materialization.metadata
        ]
        metrics = instance.get_latest_materialization_event(AssetKey("random_forest_metrics"))
        assert metrics.run_id == latest.run_id
        assert 0.85 < metrics.asset_materialization.metadata["test_roc_auc"].value <= 1
        # `*` leaves the source out; orders_raw observes the file it read, lineage included.
        raw = instance.get_latest_materialization_event(AssetKey("orders_raw"))
        assert raw.asset_materialization.tags["dagster/input_data_version/superstore_csv"] == sha
    assert len(reused) == ASSETS  # every asset restored its earlier output
    assert len({pid for pid, _, _ in restored.values()}) == 1


# A small job of its own, to see what a failing or dying forked step does to a run.


TEST_PROCESS = os.getpid()


@asset(required_resource_keys={"dataset"})  # the executor looks at the dataset's size
def upstream() -> int:
    return 1


@asset(op_tags={PARALLEL_TAG: "true"})
def fails(upstream: int) -> int:
    raise ValueError("a forked step failed")


@asset(op_tags={PARALLEL_TAG: "true"})
def dies(upstream: int) -> int:
    if os.getpid() == TEST_PROCESS:  # not forked after all: fail, rather than end pytest
        raise RuntimeError("`dies` ran in the test's own process")
    os._exit(3)  # as when the kernel's OOM killer ends it


@asset(op_tags={PARALLEL_TAG: "true"})
def succeeds(upstream: int) -> int:
    return upstream + 1


@asset
def below_failed(fails: int) -> int:
    return fails


def local_job(name: str, assets: list):
    """A job of `assets` on the local executor (the dataset is there for its size)."""
    return Definitions(
        assets=assets,
        resources={"dataset": DatasetResource(path=str(BUNDLED))},
        jobs=[define_asset_job(name, selection="*")],
        executor=local_executor,
    ).resolve_job_def(name)


def small_job():
    return local_job("small", [upstream, fails, dies, succeeds, below_failed])


def _run_small(workspace, selection=None):
    instance = workspace.instance()
    with execute_job(
        reconstructable(small_job),
        instance=instance,
        raise_on_error=False,
        asset_selection=selection,
    ) as done:
        return done.success, _steps(instance, done.run_id), instance


def test_a_failed_or_dead_forked_step_fails_the_run_and_what_is_below_it_is_not_run(workspace):
    success, steps, instance = _run_small(workspace)
    assert not success
    assert steps["succeeds"][0] != os.getpid()  # forked, and done
    assert instance.get_latest_materialization_event(AssetKey("succeeds")) is not None
    failures = {
        e.step_key: e.dagster_event.step_failure_data.error.to_string()
        for e in instance.all_logs(
            instance.get_runs()[0].run_id, of_type=DagsterEventType.STEP_FAILURE
        )
    }
    assert "a forked step failed" in failures["fails"]
    assert "below_failed" not in steps  # skipped, never started
    assert "dies" not in failures  # it could not say why: the run says it finished unreported
    assert instance.get_latest_materialization_event(AssetKey("dies")) is None
    messages = [r.user_message for r in instance.all_logs(instance.get_runs()[0].run_id)]
    assert any("dies finished without success or failure event" in m for m in messages)
    instance.dispose()


def test_with_a_large_dataset_every_step_runs_in_the_run_s_process(workspace, monkeypatch):
    monkeypatch.setattr(executor, "PARALLEL_MAX_DATASET_BYTES", BUNDLED.stat().st_size - 1)
    # (not `dies`: here it would end the test's own process)
    keys = [AssetKey(k) for k in ("upstream", "fails", "succeeds", "below_failed")]
    success, steps, instance = _run_small(workspace, keys)
    instance.dispose()
    assert not success  # `fails` still fails, in this process
    assert {pid for pid, _, _ in steps.values()} == {os.getpid()}


# A job to see the order of the run's own steps, and a preparation done while it waits.

WARMED: list[tuple[int, float]] = []


def warm_up() -> None:
    """A later step's slow preparation: noted with the process it ran in, and when."""
    WARMED.append((os.getpid(), time.time()))


@asset(required_resource_keys={"dataset"})
def root() -> int:
    return 1


@asset
def a_short_step(root: int) -> int:  # first in Dagster's order, and leads to no fork
    return root


@asset
def b_leads_to_a_fork(root: int) -> int:
    return root


@asset(op_tags={PARALLEL_TAG: "true"})
def forked(b_leads_to_a_fork: int) -> int:
    time.sleep(2)
    return b_leads_to_a_fork


@asset(op_tags={executor.WARM_TAG: f"{__name__}:warm_up"})
def warmed(forked: int, a_short_step: int) -> int:
    return forked + a_short_step


def ordered_job():
    return local_job("ordered", [root, a_short_step, b_leads_to_a_fork, forked, warmed])


def _run_warming(workspace, job, warm_up: str) -> dict[str, tuple[int, float, float]]:
    """The job run in this process (its forks from it), with `warm_up` not yet prepared; its
    steps as _steps gives them."""
    WARMED.clear()
    executor._PREPARED.discard(f"{__name__}:{warm_up}")
    instance = workspace.instance()
    try:
        with execute_job(reconstructable(job), instance=instance) as done:
            assert done.success
            return _steps(instance, done.run_id)
    finally:
        instance.dispose()


@pytest.mark.slow  # its steps sleep for seconds, to be seen side by side
def test_the_way_to_a_fork_goes_first_and_a_later_step_is_prepared_while_the_fork_runs(workspace):
    steps = _run_warming(workspace, ordered_job, "warm_up")
    assert steps["b_leads_to_a_fork"][1] < steps["a_short_step"][1]
    assert steps["forked"][1] < steps["a_short_step"][2]  # forked before the short step ran
    assert len(WARMED) == 1
    pid, when = WARMED[0]
    assert pid == os.getpid() != steps["forked"][0]  # in the run's process, not the child
    assert steps["forked"][1] < when < steps["forked"][2] < steps["warmed"][1]


# Two forks fill both cores; the one below the first must not wait for a preparation.


@asset(op_tags={PARALLEL_TAG: "true"})
def first_fork(root: int) -> int:
    time.sleep(1)
    return root


@asset(op_tags={PARALLEL_TAG: "true"})
def second_fork(root: int) -> int:
    time.sleep(2.5)
    return root


@asset(op_tags={PARALLEL_TAG: "true"})
def below_the_first(first_fork: int) -> int:
    time.sleep(0.2)
    return first_fork


def slow_warm_up() -> None:
    """A preparation longer than the first fork (an import on a loaded machine)."""
    WARMED.append((os.getpid(), time.time()))
    time.sleep(1.5)


@asset(op_tags={executor.WARM_TAG: f"{__name__}:slow_warm_up"})
def warmed_last(below_the_first: int, second_fork: int) -> int:
    return below_the_first + second_fork


def busy_job():
    return local_job("busy", [root, first_fork, second_fork, below_the_first, warmed_last])


@pytest.mark.slow  # its steps sleep for seconds, to be seen side by side
def test_a_preparation_waits_for_a_free_core_and_never_holds_up_a_fork(workspace, monkeypatch):
    monkeypatch.setattr(executor._Forks, "room", 2)  # as on this 2-core machine, on any
    steps = _run_warming(workspace, busy_job, "slow_warm_up")
    assert steps["first_fork"][1] < steps["second_fork"][2]  # both forks ran at once
    [(pid, when)] = WARMED
    assert pid == os.getpid()
    # While both forks ran, no preparation: the step below the first forked as it ended, and
    # the preparation came once it had ended too, beside the second fork.
    assert steps["below_the_first"][1] < when, (steps, when)
    assert steps["below_the_first"][2] <= when < steps["second_fork"][2], (steps, when)


def test_a_run_without_the_dataset_resource_forks_by_the_observed_size(workspace):
    """A run of some assets only (below an edited model, say) may not need the dataset
    resource: the size its latest observation recorded then decides, and steps fork."""
    from dagster import AssetObservation

    from superstore_assets.engine.observation import SOURCE

    instance = workspace.instance()
    selection = [AssetKey("succeeds")]
    try:
        with execute_job(reconstructable(small_job), instance=instance) as done:
            assert not done.success  # `fails` and `dies` do; `upstream` is materialized
        for size, forked in ((None, False), (BUNDLED.stat().st_size, True)):
            if size is not None:
                observed = AssetObservation(asset_key=SOURCE, metadata={"size_bytes": size})
                instance.report_runless_asset_event(observed)
            with execute_job(
                reconstructable(small_job), instance=instance, asset_selection=selection
            ) as done:
                assert done.success
                steps = _steps(instance, done.run_id)
            assert set(steps) == {"succeeds"}
            assert (steps["succeeds"][0] != os.getpid()) == forked, size
    finally:
        instance.dispose()
