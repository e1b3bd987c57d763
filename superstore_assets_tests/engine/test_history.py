"""The run record read back: here, how long each asset took to compute last time."""

from dagster import AssetKey, AssetMaterialization, DagsterInstance

from superstore_assets.engine.freshness import COMPUTE_SECONDS, REUSED_FROM_RUN
from superstore_assets.engine.history import earlier_compute_seconds

CLEAN, FOREST, REPORT = AssetKey("orders_clean"), AssetKey("random_forest"), AssetKey("report")


def recorded(instance, key: AssetKey, seconds: float, restored: bool = False) -> None:
    metadata = {COMPUTE_SECONDS: seconds, **({REUSED_FROM_RUN: "abc123"} if restored else {})}
    instance.report_runless_asset_event(AssetMaterialization(key, metadata=metadata))


def test_the_newest_computing_materialization_counts_and_a_restore_does_not():
    with DagsterInstance.ephemeral() as instance:
        recorded(instance, CLEAN, 0.4)
        recorded(instance, CLEAN, 0.25)  # the newest that computed
        recorded(instance, CLEAN, 0.002, restored=True)
        recorded(instance, FOREST, 3.5)
        recorded(instance, REPORT, 0.001, restored=True)  # never computed on record
        found = earlier_compute_seconds(instance, [CLEAN, FOREST, REPORT, AssetKey("never")])
    assert found == {CLEAN: 0.25, FOREST: 3.5}


def test_a_computing_materialization_beyond_the_depth_is_not_looked_for():
    with DagsterInstance.ephemeral() as instance:
        recorded(instance, FOREST, 3.5)
        for _ in range(3):
            recorded(instance, FOREST, 0.001, restored=True)
        assert earlier_compute_seconds(instance, [FOREST], depth=3) == {}
        assert earlier_compute_seconds(instance, [FOREST], depth=4) == {FOREST: 3.5}
