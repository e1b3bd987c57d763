"""Each Dagster internal the project leans on, checked against the installed Dagster."""

import hashlib

from dagster import AssetKey, DagsterInstance

from superstore_assets.engine import dagster_internals
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED, run_pipeline


def test_data_version_tag_is_dagsters():
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    assert dagster_internals.DATA_VERSION_TAG == DATA_VERSION_TAG


def test_step_context_can_forget_an_input_version():
    from dagster._core.execution.context.system import StepExecutionContext

    assert callable(StepExecutionContext.wipe_input_asset_version_info)


def test_instance_can_add_run_tags():
    assert callable(DagsterInstance.add_run_tags)


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


def test_step_context_reads_input_versions_as_dagster_records_them():
    from dagster._core.execution.context.system import StepExecutionContext

    assert callable(StepExecutionContext.maybe_fetch_and_get_input_asset_version_info)


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


def test_instance_can_report_a_run_failed():
    assert callable(DagsterInstance.report_run_failed)
