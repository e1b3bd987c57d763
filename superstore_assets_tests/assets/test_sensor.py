"""The dataset sensor: a run when the file's hash differs from the version on record."""

import shutil

from dagster import AssetKey, AssetObservation, DagsterInstance, build_sensor_context

from superstore_assets.assets.resources import DatasetResource
from superstore_assets.assets.sensors import dataset_changed
from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG
from superstore_assets.engine.hashing import sha256_file
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED


def tick(instance, path, cursor=None):
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"dataset": DatasetResource(path=str(path))}
    )
    return dataset_changed(context), context


def observe(instance, version):
    instance.report_runless_asset_event(
        AssetObservation(asset_key=AssetKey("superstore_csv"), tags={DATA_VERSION_TAG: version})
    )


def test_no_run_before_anything_was_materialized(tmp_path):
    dataset = tmp_path / "superstore.csv"
    shutil.copyfile(BUNDLED, dataset)
    with DagsterInstance.ephemeral() as instance:
        result, _ = tick(instance, dataset)
    assert not result.run_requests
    assert "nothing materialized yet" in result.skip_reason.skip_message


def test_a_swapped_file_requests_one_run_and_then_rests(tmp_path):
    dataset = tmp_path / "superstore.csv"
    shutil.copyfile(BUNDLED, dataset)
    with DagsterInstance.ephemeral() as instance:
        observe(instance, sha256_file(BUNDLED))
        unchanged, _ = tick(instance, dataset)
        assert not unchanged.run_requests
        shutil.copyfile(BUNDLED_MODIFIED, dataset)  # the swap
        swapped, _ = tick(instance, dataset, unchanged.cursor)
        assert len(swapped.run_requests) == 1
        assert (
            sha256_file(BUNDLED_MODIFIED)[:12] in swapped.run_requests[0].tags["superstore/trigger"]
        )
        # The next tick, before the run has observed the file: the cursor says seen.
        later, _ = tick(instance, dataset, swapped.cursor)
        assert not later.run_requests


def test_a_missing_file_is_skipped_with_its_path(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        result, _ = tick(instance, tmp_path / "gone.csv")
    assert not result.run_requests
    assert "gone.csv is not there" in result.skip_reason.skip_message
