"""The one freshness rule, on a record written by hand: no pipeline run is needed to prove it.

Each test records materializations in a throwaway instance the way Dagster does (data version,
code version and input versions as tags; settings as metadata) and asks the rule the questions
`superstore status`, reuse and the executor ask.
"""

from __future__ import annotations

import hashlib

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance, MetadataValue

from superstore_assets.engine import freshness
from superstore_assets.engine.freshness import (
    FRESH,
    MISSING,
    RECOMPUTE_TAG,
    SETTINGS,
    STALE,
    Node,
    differences,
    find_prior,
    resolve,
    will_restore,
)
from superstore_assets.engine.version_store import VersionStore

SOURCE = AssetKey("superstore_csv")
RAW, CLEAN = AssetKey("orders_raw"), AssetKey("orders_clean")
FILE_A, FILE_B = "a" * 64, "b" * 64


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture
def store(tmp_path) -> VersionStore:
    return VersionStore(str(tmp_path / "tables"), "table")


def stored(store: VersionStore, name: str, data: bytes) -> str:
    """Store `data` as a version of `name` (and as its current copy); return the version."""
    version = sha(data)
    path = store.version_path(name, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    store.current_path(name).write_bytes(data)
    return version


def record(instance, key, version, code, inputs, settings=None) -> None:
    """A materialization as Dagster records one for a versioned asset."""
    tags = {"dagster/data_version": version, "dagster/code_version": code}
    tags.update({f"dagster/input_data_version/{k.to_user_string()}": v for k, v in inputs.items()})
    metadata = {SETTINGS: MetadataValue.json(settings or {"dataset.date_format": "auto"})}
    instance.report_runless_asset_event(AssetMaterialization(key, tags=tags, metadata=metadata))


def observe(instance, version: str) -> None:
    from superstore_assets.engine.observation import source_observation

    instance.report_runless_asset_event(source_observation({"sha256": version}))


def node(key, parents, store, code="c1", date_format="auto") -> Node:
    settings = {"dataset.date_format": date_format}
    return Node(key, parents, code, settings=settings, store=store)


def latest(instance, key) -> AssetMaterialization:
    return instance.get_latest_materialization_event(key).asset_materialization


def test_a_record_stands_for_the_asset_only_with_the_same_code_inputs_and_settings(instance, store):
    raw = stored(store, "orders_raw", b"raw")
    record(instance, RAW, raw, "c1", {SOURCE: FILE_A})
    made = latest(instance, RAW)
    assert differences(made, node(RAW, (SOURCE,), store), {SOURCE: FILE_A}) == []
    causes = [d.cause for d in differences(made, node(RAW, (SOURCE,), store, "c2"), {})]
    assert causes == ["code changed", "superstore_csv changed"]
    changed = differences(
        made, node(RAW, (SOURCE,), store, date_format="%d/%m/%Y"), {SOURCE: FILE_A}
    )
    assert [d.cause for d in changed] == ["settings changed (dataset.date_format)"]
    (moved,) = differences(made, node(RAW, (SOURCE,), store), {SOURCE: FILE_B})
    assert (moved.parent, moved.before, moved.after) == (SOURCE, FILE_A, FILE_B)


def test_status_follows_a_changed_file_to_its_root_and_names_the_hashes(instance, store):
    observe(instance, FILE_A)
    raw, clean = stored(store, "orders_raw", b"raw"), stored(store, "orders_clean", b"clean")
    record(instance, RAW, raw, "c1", {SOURCE: FILE_A})
    record(instance, CLEAN, clean, "c1", {RAW: raw})
    nodes = [node(RAW, (SOURCE,), store), node(CLEAN, (RAW,), store)]
    assert {s.state for s in resolve(instance, nodes, SOURCE, FILE_A).values()} == {FRESH}
    statuses = resolve(instance, nodes, SOURCE, FILE_B)
    assert statuses[RAW].causes == ["superstore_csv changed (sha256 aaaa…→bbbb…)"]
    assert (statuses[CLEAN].state, statuses[CLEAN].causes) == (STALE, [])
    assert freshness.explain(statuses, CLEAN) == (
        "<- orders_raw <- superstore_csv changed (sha256 aaaa…→bbbb…)"
    )
    assert freshness.not_fresh(statuses) == [RAW, CLEAN]


def test_status_says_missing_for_a_deleted_output_and_stale_for_an_altered_one(instance, store):
    raw = stored(store, "orders_raw", b"raw")
    record(instance, RAW, raw, "c1", {SOURCE: FILE_A})
    nodes = [node(RAW, (SOURCE,), store)]
    store.current_path("orders_raw").write_bytes(b"edited by hand")
    status = resolve(instance, nodes, SOURCE, FILE_A)[RAW]
    assert (status.state, status.causes) == (
        STALE,
        ["copy altered or deleted (orders_raw.parquet)"],
    )
    store.version_path("orders_raw", raw).write_bytes(b"edited by hand")
    assert (
        resolve(instance, nodes, SOURCE, FILE_A)[RAW].causes[0].startswith("stored output altered")
    )
    store.version_path("orders_raw", raw).unlink()
    assert resolve(instance, nodes, SOURCE, FILE_A)[RAW].state == MISSING
    assert resolve(instance, [node(CLEAN, (RAW,), store)], SOURCE, FILE_A)[CLEAN].causes == [
        "never materialized"
    ]


def test_an_earlier_output_stands_in_when_a_dataset_comes_back(instance, store):
    """Swap back: the latest record was made from another file, an older one from this one."""
    on_a, on_b = stored(store, "orders_raw", b"from a"), stored(store, "orders_raw", b"from b")
    record(instance, RAW, on_a, "c1", {SOURCE: FILE_A})
    record(instance, RAW, on_b, "c1", {SOURCE: FILE_B})
    raw = node(RAW, (SOURCE,), store)
    prior = find_prior(instance, raw, {SOURCE: FILE_A})
    assert prior is not None and prior.version == on_a
    assert find_prior(instance, raw, {SOURCE: FILE_B}).version == on_b
    assert find_prior(instance, node(RAW, (SOURCE,), store, "c2"), {SOURCE: FILE_A}) is None
    assert find_prior(instance, raw, {SOURCE: "c" * 64}) is None
    # The status rule agrees: the latest record is on B, so on A the asset is stale.
    assert resolve(instance, [raw], SOURCE, FILE_A)[RAW].state == STALE


def test_an_altered_earlier_output_is_not_restored(instance, store):
    on_a = stored(store, "orders_raw", b"from a")
    record(instance, RAW, on_a, "c1", {SOURCE: FILE_A})
    store.version_path("orders_raw", on_a).write_bytes(b"tampered")
    assert find_prior(instance, node(RAW, (SOURCE,), store), {SOURCE: FILE_A}) is None


def test_the_executor_s_question_is_reuse_s_and_off_under_recompute(instance, store):
    on_a = stored(store, "orders_raw", b"from a")
    record(instance, RAW, on_a, "c1", {SOURCE: FILE_A})
    raw = node(RAW, (SOURCE,), store)
    assert will_restore(instance, raw, {SOURCE: FILE_A}, {})
    assert not will_restore(instance, raw, {SOURCE: FILE_B}, {})
    assert not will_restore(instance, raw, {SOURCE: FILE_A}, {RECOMPUTE_TAG: "true"})


def test_settings_are_named_by_resource_from_those_that_declare_them():
    class Dataset:
        def output_settings(self):
            return {"date_format": "%d/%m/%Y"}

    resources = {"dataset": Dataset(), "io_manager": object()}
    assert freshness.output_settings({"io_manager", "dataset"}, resources) == {
        "dataset.date_format": "%d/%m/%Y"
    }


def check_evaluated(instance, key, name: str, passed: bool, severity="ERROR") -> None:
    """A blocking check's evaluation of the asset's latest materialization, as Dagster records
    one when a step yields it."""
    from dagster import AssetCheckEvaluation, AssetCheckSeverity
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    entry = instance.get_asset_records([key])[0].asset_entry
    target = AssetCheckEvaluationTargetMaterializationData(
        storage_id=entry.last_materialization_storage_id,
        run_id=entry.last_materialization_record.run_id,
        timestamp=entry.last_materialization_record.timestamp,
    )
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=key,
            check_name=name,
            passed=passed,
            target_materialization_data=target,
            severity=AssetCheckSeverity[severity],
            blocking=True,
        )
    )


def test_an_output_a_blocking_check_refused_is_stale_until_made_again(instance, store):
    observe(instance, FILE_A)
    raw = stored(store, "orders_raw", b"raw")
    record(instance, RAW, raw, "c1", {SOURCE: FILE_A})
    nodes = [
        Node(
            RAW,
            (SOURCE,),
            "c1",
            settings={"dataset.date_format": "auto"},
            store=store,
            blocking_checks=("quantity_positive", "warns"),
        ),
    ]
    check_evaluated(instance, RAW, "warns", passed=False, severity="WARN")
    assert resolve(instance, nodes, SOURCE, FILE_A)[RAW].state == FRESH  # a warning stops nothing
    check_evaluated(instance, RAW, "quantity_positive", passed=False)
    status = resolve(instance, nodes, SOURCE, FILE_A)[RAW]
    assert (status.state, status.causes) == (STALE, ["check quantity_positive failed"])
    record(instance, RAW, raw, "c1", {SOURCE: FILE_A})  # made again, its check not yet failed
    assert resolve(instance, nodes, SOURCE, FILE_A)[RAW].state == FRESH
