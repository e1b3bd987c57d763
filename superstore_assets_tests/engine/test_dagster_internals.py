"""Each Dagster internal the project leans on (engine/dagster_internals.py), checked by the
behaviour relied on against the installed Dagster: an upgrade that changes one fails here."""

import hashlib
import json
import logging
import os

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DataVersion,
    Definitions,
    HookContext,
    Output,
    asset,
    define_asset_job,
    execute_job,
    logger,
    materialize,
    reconstructable,
    success_hook,
)

from superstore_assets.assets.resources import DatasetResource
from superstore_assets.engine import dagster_internals
from superstore_assets.engine.executor import PARALLEL_TAG, local_executor
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED, run_pipeline


@asset
def versioned() -> Output[int]:
    return Output(1, data_version=DataVersion("f" * 64))


def test_the_data_version_tag_is_where_dagster_records_a_data_version():
    with DagsterInstance.ephemeral() as instance:
        assert materialize([versioned], instance=instance).success
        event = instance.get_latest_materialization_event(AssetKey("versioned"))
        recorded = instance.get_latest_data_version_record(AssetKey("versioned"))
    assert event.asset_materialization.tags[dagster_internals.DATA_VERSION_TAG] == "f" * 64
    assert recorded.event_log_entry.tags[dagster_internals.DATA_VERSION_TAG] == "f" * 64


@asset
def tagged_run(context: AssetExecutionContext) -> int:
    dagster_internals.tag_run(context, {"superstore/dataset_sha256": "abc"})
    return 1


def test_a_running_step_can_tag_its_run():
    with DagsterInstance.ephemeral() as instance:
        result = materialize([tagged_run], instance=instance)
        assert instance.get_run_by_id(result.run_id).tags["superstore/dataset_sha256"] == "abc"


@asset
def parent() -> int:
    return 1


@asset
def child(context: AssetExecutionContext, parent: int) -> int:
    seen = dagster_internals.input_data_versions(context)
    context.add_output_metadata(
        {"seen": json.dumps({k.to_user_string(): v for k, v in seen.items()})}
    )
    return parent


def test_a_step_reads_its_input_versions_as_dagster_then_records_them():
    with DagsterInstance.ephemeral() as instance:
        assert materialize([parent, child], instance=instance).success
        made = instance.get_latest_materialization_event(AssetKey("child")).asset_materialization
    seen = json.loads(made.metadata["seen"].value)
    assert seen == {"parent": made.tags["dagster/input_data_version/parent"]}
    assert dagster_internals.recorded_provenance(made.tags)[1] == {
        AssetKey("parent"): seen["parent"]
    }


@pytest.mark.slow
def test_lineage_names_the_file_read_when_the_source_was_not_observed_first(workspace):
    """orders_raw alone, after an observation of another file: its lineage is the file read."""
    with DagsterInstance.from_config(str(workspace.home)) as instance:
        # Observe the modified file, then read the bundled one without observing it.
        observed = run_pipeline(
            workspace,
            BUNDLED_MODIFIED,
            instance=instance,
            asset_selection=[AssetKey("superstore_csv")],
        )
        assert observed.success
        result = run_pipeline(
            workspace, BUNDLED, instance=instance, asset_selection=[AssetKey("orders_raw")]
        )
        assert result.success
        event = instance.get_latest_materialization_event(AssetKey("orders_raw"))
    lineage = event.asset_materialization.tags["dagster/input_data_version/superstore_csv"]
    assert lineage == hashlib.sha256(BUNDLED.read_bytes()).hexdigest()


def test_provenance_is_read_back_from_dagsters_tags():
    from dagster._core.definitions.data_version import (
        CODE_VERSION_TAG,
        INPUT_DATA_VERSION_TAG_PREFIX,
    )

    tags = {
        CODE_VERSION_TAG: "abc",
        f"{INPUT_DATA_VERSION_TAG_PREFIX}/orders_clean": "v1",
        "dagster/input_event_pointer/orders_clean": "7",
    }
    assert dagster_internals.recorded_provenance(tags) == ("abc", {AssetKey("orders_clean"): "v1"})
    assert dagster_internals.recorded_provenance({}) is None


@pytest.mark.slow
def test_reuse_compares_with_the_input_versions_dagster_recorded(workspace):
    """What input_data_versions reads while a step runs is what Dagster then records."""
    with DagsterInstance.from_config(str(workspace.home)) as instance:
        selection = [AssetKey(k) for k in ("orders_raw", "orders_clean", "model_features")]
        assert run_pipeline(
            workspace, BUNDLED, instance=instance, asset_selection=selection
        ).success
        again = run_pipeline(workspace, BUNDLED, instance=instance, asset_selection=selection)
        assert again.success
        for event in again.get_asset_materialization_events():
            metadata = event.step_materialization_data.materialization.metadata
            assert "reused_from_run" in metadata, event.asset_key


def test_a_run_left_started_by_a_killed_materialize_is_marked_failed(workspace):
    with workspace.instance() as instance:
        tags = {dagster_internals.LAUNCHED_BY_TAG: "4242"}
        abandoned = DagsterRun(
            job_name="superstore_pipeline", status=DagsterRunStatus.STARTED, tags=tags
        )
        other = DagsterRun(job_name="superstore_pipeline", status=DagsterRunStatus.STARTED)
        instance.add_run(abandoned)
        instance.add_run(other)
        assert dagster_internals.fail_abandoned_runs(instance) == [abandoned.run_id]
        assert instance.get_run_by_id(abandoned.run_id).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(other.run_id).status == DagsterRunStatus.STARTED  # not ours


HOOKED = []


@success_hook
def note_success(context: HookContext) -> None:
    HOOKED.append((context.step_key, os.getpid()))


@asset(required_resource_keys={"dataset"})  # the executor looks at the dataset's size
def first() -> int:
    print("first says hello")
    return 1


@asset(op_tags={PARALLEL_TAG: "true"})
def forked(first: int) -> int:
    return first


def hooked_job():
    return Definitions(
        assets=[first, forked],
        resources={"dataset": DatasetResource(path=str(BUNDLED))},
        jobs=[define_asset_job("hooked", selection="*", hooks={note_success})],
        executor=local_executor,
    ).resolve_job_def("hooked")


def test_the_local_executor_runs_dagsters_step_loop_hooks_and_log_capture(workspace):
    """The run loop, step events, hooks, captured logs and the events handed back by a forked
    child (serialised by Dagster) behave as in Dagster's own in-process executor."""
    HOOKED.clear()
    with workspace.instance() as instance:
        with execute_job(reconstructable(hooked_job), instance=instance) as result:
            assert result.success
            run_id = result.run_id
        types = [r.dagster_event.event_type for r in instance.all_logs(run_id) if r.dagster_event]
        materialized = instance.get_latest_materialization_event(AssetKey("forked"))
        captured = instance.all_logs(run_id, of_type=DagsterEventType.LOGS_CAPTURED)
        starts = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    forked_pid = next(r.dagster_event.pid for r in starts if r.dagster_event.step_key == "forked")
    assert forked_pid != os.getpid()  # it ran in a child...
    assert materialized is not None and materialized.run_id == run_id  # ...that wrote the record
    assert types.count(DagsterEventType.STEP_SUCCESS) == 2
    assert sorted(step for step, _ in HOOKED) == ["first", "forked"]  # hooks for both steps
    assert {pid for _, pid in HOOKED} == {os.getpid()}  # run in the run's process
    assert captured, "the run's stdout was not captured in the compute logs"


def test_a_step_runs_alone_on_an_instance_as_a_dask_worker_runs_it(workspace):
    """run_step (the team executor's worker side): one step of a run, in this process, on the
    instance given, its events written to the run record and returned; the step after it, run
    the same way with what the run made so far, reads its input."""
    with workspace.instance() as instance:
        recon = reconstructable(hooked_job)
        job = recon.get_definition()
        run = instance.create_run_for_job(job_def=job, execution_plan=None)
        first_events = dagster_internals.run_step(recon, run, {}, "first", instance, None)
        second_events = dagster_internals.run_step(recon, run, {}, "forked", instance, None)
        recorded = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)
        made = instance.get_latest_materialization_event(AssetKey("forked"))
    for events, key in ((first_events, "first"), (second_events, "forked")):
        assert [e.step_key for e in events if e.event_type == DagsterEventType.STEP_SUCCESS] == [
            key
        ]
        assert {e.pid for e in events if e.event_type == DagsterEventType.STEP_START} == {
            os.getpid()
        }
    assert sorted(r.step_key for r in recorded) == ["first", "forked"]
    assert made is not None and made.run_id == run.run_id


SEEN: list = []


@logger
def collecting(init_context) -> logging.Logger:
    collector = logging.Logger("collecting", level=logging.DEBUG)
    collector.addFilter(lambda record: SEEN.append(record) or False)
    return collector


def test_a_log_record_carries_its_event_and_own_message():
    """What the one-line console (engine/failures.py) reads of each record Dagster logs."""
    SEEN.clear()
    definitions = Definitions(
        assets=[versioned],
        jobs=[define_asset_job("logged", selection="*")],
        loggers={"console": collecting},
    )
    with DagsterInstance.ephemeral() as instance:
        definitions.resolve_job_def("logged").execute_in_process(
            instance=instance, run_config={"loggers": {"console": {}}}
        )
    events = {
        dagster_internals.record_event(r).event_type: dagster_internals.record_message(r)
        for r in SEEN
        if dagster_internals.record_event(r) is not None
    }
    assert events[DagsterEventType.STEP_SUCCESS].startswith(
        'Finished execution of step "versioned"'
    )
    assert any(r.msg.endswith(events[DagsterEventType.STEP_SUCCESS]) for r in SEEN)


@asset(
    check_specs=[
        AssetCheckSpec("refuses", asset="checked", blocking=True),
        AssetCheckSpec("warns", asset="checked", blocking=True),
        AssetCheckSpec("holds", asset="checked", blocking=True),
    ]
)
def checked():
    yield Output(1)
    yield AssetCheckResult(check_name="refuses", passed=False)
    yield AssetCheckResult(check_name="warns", passed=False, severity=AssetCheckSeverity.WARN)
    yield AssetCheckResult(check_name="holds", passed=True)


def test_a_failed_blocking_check_is_found_with_the_materialization_it_checked():
    instance = DagsterInstance.ephemeral()
    key = AssetKey("checked")
    names = ("holds", "refuses", "warns")
    assert dagster_internals.failed_blocking_checks(instance, {key: names}) == {}
    assert not materialize([checked], instance=instance, raise_on_error=False).success
    latest = instance.get_asset_records([key])[0].asset_entry.last_materialization_storage_id
    found = dagster_internals.failed_blocking_checks(instance, {key: names})
    assert found == {key: {latest: ["refuses"]}}  # a warning or a pass does not stop a run


def test_the_check_evaluations_of_one_materialization_are_found_by_its_storage_id():
    instance = DagsterInstance.ephemeral()
    key = AssetKey("checked")
    names = ("holds", "refuses", "warns")
    assert not materialize([checked], instance=instance, raise_on_error=False).success
    latest = instance.get_asset_records([key])[0].asset_entry.last_materialization_storage_id
    found = dagster_internals.check_evaluations_of(instance, key, names, latest)
    assert [(e.check_name, e.passed) for e in found] == [
        ("holds", True),
        ("refuses", False),
        ("warns", False),
    ]
    assert found[2].severity == AssetCheckSeverity.WARN
    assert dagster_internals.check_evaluations_of(instance, key, names, latest + 1000) is None


def test_a_versioned_output_warns_nothing_whatever_the_warning_filters():
    """versioned_output carries the data version and metadata, and warns nothing even where
    every warning is shown (as after scikit-learn's threads have rebuilt the filters without the
    package's); Dagster's own Output, in the same state, gives the BetaWarning it avoids."""
    import warnings

    from dagster import BetaWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        output = dagster_internals.versioned_output("value", "a" * 64, {"rows": 3})
        assert seen == []
        Output("value", data_version=DataVersion("a" * 64))
    assert [warning.category for warning in seen] == [BetaWarning]
    assert output.value == "value"
    assert output.data_version == DataVersion("a" * 64)
    assert output.metadata["rows"].value == 3
