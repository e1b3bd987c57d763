"""The whole graph materialized in-process, as a user's run would be, into a temporary home."""

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from superstore_assets.assets.definitions import defs
from superstore_assets.pipeline import config, eda, evaluation
from superstore_assets_tests.conftest import (
    BUNDLED,
    BUNDLED_MODIFIED,
    REAL_MODIFIED,
    REAL_SHA256,
    new_workspace,
    require_real,
    run_pipeline,
    storage_files,
)

MODELS = [spec.name for spec in config.MODEL_SPECS]
ASSET_KEYS = {
    "orders_raw",
    "orders_clean",
    "model_features",
    "summary_statistics",
    "train_val_test",
    *(spec.name for spec in eda.EDA_FIGURES),
    *MODELS,
    *(f"{m}_metrics" for m in MODELS),
    *evaluation.RESULT_FIGURES,
    "champion",
    "scored_orders",
    "report",
}


def metadata(instance: DagsterInstance, key: str) -> dict:
    event = instance.get_latest_materialization_event(AssetKey(key))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_graph_is_laid_out_in_the_stage_groups():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["superstore_csv"] == "ingest"
    assert {k for k, g in groups.items() if g == "eda"} == {
        *(spec.name for spec in eda.EDA_FIGURES),
        "summary_statistics",
    }
    assert {k for k, g in groups.items() if g == "modeling"} == {"train_val_test", *MODELS}
    assert groups["random_forest_metrics"] == groups["roc_curves"] == "evaluation"
    assert groups["report"] == "report" and groups["champion"] == "champion"
    assert groups["scored_orders"] == groups["orders_to_score"] == "champion"
    assert set(groups) == ASSET_KEYS | {"superstore_csv", "orders_to_score"}
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("orders_raw", "required_columns_present") in checks
    assert ("orders_raw", "quantity_positive") in checks
    assert ("random_forest_metrics", "beats_majority_baseline") in checks
    assert ("champion", "not_worse_than_earlier_champion") in checks
    assert len(checks) == 10


def test_the_job_is_made_once_per_process_for_each_set_of_settings(monkeypatch, tmp_path):
    """Dagster asks for the job at every stage of a run; the settings it is made from still
    decide which job it is."""
    from superstore_assets.assets.definitions import superstore_job

    monkeypatch.setenv("SUPERSTORE_DATASET", str(BUNDLED))
    monkeypatch.setenv("SUPERSTORE_STORAGE", str(tmp_path / "one"))
    first = superstore_job()
    assert superstore_job() is first
    monkeypatch.setenv("SUPERSTORE_STORAGE", str(tmp_path / "two"))
    other = superstore_job()
    assert other is not first
    roots = [
        j.resource_defs["io_manager"].config_field.default_value["root"] for j in (first, other)
    ]
    assert roots == [str(tmp_path / "one"), str(tmp_path / "two")]
    monkeypatch.setenv("SUPERSTORE_STORAGE", str(tmp_path / "one"))
    assert superstore_job() is first


@pytest.mark.slow
def test_bundled_run_materializes_everything_and_records_it(bundled_run):
    space, result = bundled_run
    assert result.success
    with space.instance() as instance:  # the run's events, as any process reads them
        made = instance.all_logs(result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        checked = instance.all_logs(result.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    materialized = {e.dagster_event.asset_key.to_user_string() for e in made}
    assert materialized == ASSET_KEYS
    evaluations = [e.dagster_event.event_specific_data for e in checked]
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed for c in evaluations}
    assert ("champion", "not_worse_than_earlier_champion") in checks
    assert len(checks) == 10 and all(checks.values()), checks

    with space.instance() as instance:
        sha = hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
        observation = instance.fetch_observations(AssetKey("superstore_csv"), limit=1).records[0]
        assert observation.asset_observation.tags["dagster/data_version"] == sha
        assert observation.asset_observation.metadata["rows"].value == 9994
        tags = instance.get_run_by_id(result.run_id).tags
        assert tags["superstore/dataset"] == "superstore.csv"
        assert tags["superstore/dataset_sha256"] == sha
        assert tags["superstore/dataset_rows"] == "9994"
        assert tags["superstore/dataset_bytes"] == str(BUNDLED.stat().st_size)
        assert (
            len(tags["superstore/git_commit"]) == 40 or tags["superstore/git_commit"] == "unknown"
        )
        raw = instance.get_latest_materialization_event(AssetKey("orders_raw"))
        assert raw.asset_materialization.tags["dagster/input_data_version/superstore_csv"] == sha
        assert metadata(instance, "orders_raw")["rows"] == 9994
        assert metadata(instance, "orders_raw")["stored_rows"] == 9994
        assert metadata(instance, "train_val_test")["stored_rows"] == 9993
        assert metadata(instance, "orders_raw")["encoding"] == "cp1252"
        assert metadata(instance, "orders_raw")["layout"] == "header"
        clean = metadata(instance, "orders_clean")
        assert clean["rows"] == 9993 and clean["dropped_duplicates"] == 1
        split = metadata(instance, "train_val_test")
        assert split["train_rows"] + split["validation_rows"] + split["test_rows"] == 9993
        assert split["train_rows"] / 9993 == pytest.approx(0.6, abs=0.02)
        for model in MODELS:
            facts = metadata(instance, f"{model}_metrics")
            assert 0.85 < facts["test_roc_auc"] <= 1, model
            assert facts["test_accuracy"] > facts["baseline_accuracy"], model
            assert metadata(instance, model)["params"]  # the chosen grid point is on record
        for key in ASSET_KEYS:  # every stored file is the one whose hash was recorded
            facts = metadata(instance, key)
            data = Path(facts["version_path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == facts["sha256"], key
            assert Path(facts["version_path"]).name.startswith(facts["sha256"]), key
            assert Path(facts["path"]).is_file(), key  # the copy people open
            assert facts["dataset_sha256"] == sha, key  # and descends from this dataset
            assert facts["compute_seconds"] >= 0, key

    stored = space.storage
    table = pd.read_parquet(stored / "tables" / "train_val_test.parquet")
    assert set(table["split"]) == {"train", "validation", "test"}
    assert table.groupby("Order ID")["split"].nunique().max() == 1
    metrics = json.loads((stored / "metrics" / "random_forest_metrics.json").read_text())
    assert sum(map(sum, metrics["confusion_matrix"])) == split["test_rows"]
    page = (stored / "report" / "report.html").read_text()
    assert sha in page and page.count('class="plotly-graph-div"') == 10
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page)  # offline


@pytest.mark.slow
def test_dataset_can_be_chosen_by_run_config(workspace):
    with workspace.instance() as instance:
        result = run_pipeline(
            workspace,
            BUNDLED,
            instance=instance,
            asset_selection=[AssetKey("orders_raw")],
            run_config={"resources": {"dataset": {"config": {"path": str(BUNDLED_MODIFIED)}}}},
        )
        assert result.success
        recorded = metadata(instance, "orders_raw")["dataset_sha256"]
    assert recorded == hashlib.sha256(BUNDLED_MODIFIED.read_bytes()).hexdigest()


@pytest.mark.slow
def test_two_cold_runs_write_identical_bytes(tmp_path, bundled_run):
    # Both runs in this process: a model's pickle made in another test process can differ in
    # its memo alone (an equal string that is not the same object), with the same content. The
    # session's run (run_pipeline on the bundled file in a new home, as here) is the first of
    # the two where this process made it, as it always does without xdist; else both run here.
    shared, ran = bundled_run
    with shared.instance() as instance:
        starts = instance.all_logs(ran.run_id, of_type=DagsterEventType.STEP_START)
    if ran.success and {entry.dagster_event.pid for entry in starts} == {os.getpid()}:
        space = shared
    else:
        space = new_workspace(tmp_path / "one")
        assert run_pipeline(space, BUNDLED).success
    other = new_workspace(tmp_path / "two")
    assert run_pipeline(other, BUNDLED).success
    first, second = storage_files(space.storage), storage_files(other.storage)
    assert set(first) == set(second)
    kinds = {"tables", "metrics", "models", "figures", "report"}
    assert {name.split("/")[0] for name in first} == kinds
    different = sorted(name for name in first if first[name] != second[name])
    assert different == []


def bad_copy(tmp_path, edit) -> str:
    df = pd.read_csv(BUNDLED, encoding="cp1252", dtype=str, keep_default_na=False)
    path = tmp_path / "edited.csv"
    edit(df).to_csv(path, index=False, encoding="cp1252", lineterminator="\n")
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edit", "check"),
    [
        (
            lambda df: df.assign(Discount=df["Discount"].where(df.index != 5, "1.5")),
            "discount_in_range",
        ),
        (lambda df: df.drop(columns=["Region", "Sales"]), "required_columns_present"),
        (
            lambda df: df.assign(Quantity=df["Quantity"].where(df.index != 7, "-2")),
            "quantity_positive",
        ),
    ],
)
def test_a_failing_raw_data_check_blocks_the_rest(workspace, tmp_path, edit, check):
    result = run_pipeline(workspace, bad_copy(tmp_path, edit))
    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [(c.asset_key.to_user_string(), c.check_name) for c in failed] == [("orders_raw", check)]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"orders_raw"}  # nothing below it ran
    if check == "required_columns_present":
        assert failed[0].metadata["missing"].value == ["Region", "Sales"]


@pytest.mark.slow
def test_every_row_one_class_is_stopped_before_training(workspace, tmp_path):
    result = run_pipeline(workspace, bad_copy(tmp_path, lambda df: df.assign(Profit="5.0")))
    assert not result.success
    failed = {c.check_name for c in result.get_asset_check_evaluations() if not c.passed}
    assert failed == {"both_classes_present"}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert not materialized & set(MODELS)


@pytest.mark.slow
@pytest.mark.real_data
def test_real_dataset_run(real_runs):
    with real_runs.real.instance() as instance:
        (run,) = instance.get_runs()
        assert run.is_success
        checks = instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        assert len(checks) >= 8
        assert all(
            record.event_log_entry.dagster_event.event_specific_data.passed for record in checks
        )
        raw = metadata(instance, "orders_raw")
        assert raw["dataset_sha256"] == REAL_SHA256
        assert raw["rows"] == 9994 and raw["encoding"] == "cp1252"
        clean = metadata(instance, "orders_clean")
        assert clean["rows"] == 9993 and clean["dropped_duplicates"] == 1
        assert clean["profitable_share"] == pytest.approx(8058 / 9993, abs=1e-4)
        assert (clean["first_order"], clean["last_order"]) == ("2014-01-03", "2017-12-30")
        for model in MODELS:
            facts = metadata(instance, f"{model}_metrics")
            assert 0.85 < facts["test_roc_auc"] <= 1, model
            assert facts["baseline_accuracy"] == pytest.approx(0.806, abs=0.02)
            assert facts["test_accuracy"] > facts["baseline_accuracy"], model


@pytest.mark.slow
@pytest.mark.real_data
def test_real_modified_dataset_changes_the_metrics(real_runs):
    modified = require_real(REAL_MODIFIED)
    with real_runs.real.instance() as instance:
        before = metadata(instance, "random_forest_metrics")
    with real_runs.both.instance() as instance:
        after = metadata(instance, "random_forest_metrics")
        observations = instance.fetch_observations(AssetKey("superstore_csv"), limit=5).records
        versions = [r.asset_observation.tags["dagster/data_version"] for r in observations]
        runs = instance.get_runs()
        events = instance.all_logs(real_runs.modified_run.run_id)
    assert versions[0] == hashlib.sha256(modified.read_bytes()).hexdigest()
    assert versions[1] == REAL_SHA256
    assert before["test_f1"] != after["test_f1"]
    assert len(runs) == 2
    assert any(e.dagster_event_type == DagsterEventType.ASSET_OBSERVATION for e in events)


@pytest.mark.slow
def test_too_few_orders_to_split_is_one_readable_failure(workspace, tmp_path):
    result = run_pipeline(workspace, bad_copy(tmp_path, lambda df: df.head(4)))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "train_val_test"
    message = failure.step_failure_data.user_failure_data.description
    assert message == (
        "Cannot split the orders three ways: only 3 orders: a 5-fold split into "
        "train/validation/test needs at least 5."
    )


@pytest.mark.slow
def test_the_file_is_hashed_once_for_the_observation_and_the_run(workspace, tmp_path, monkeypatch):
    """`superstore materialize` observes the file, then the run records it again: one hash of
    its bytes serves both (at millions of lines, a hash is seconds)."""
    import shutil

    from superstore_assets.assets import resources
    from superstore_assets.assets.definitions import make_definitions
    from superstore_assets.cli.common import observe
    from superstore_assets.engine import hashing

    dataset = tmp_path / "orders.csv"
    shutil.copyfile(BUNDLED, dataset)
    size = dataset.stat().st_size
    hashed: list[int] = []

    def counted(data: bytes) -> str:
        hashed.append(len(data))
        return hashlib.sha256(data).hexdigest()

    monkeypatch.setattr(hashing, "sha256_bytes", counted)
    monkeypatch.setattr(resources, "sha256_bytes", counted)
    definitions = make_definitions(dataset=str(dataset), storage=str(workspace.storage))
    job = definitions.resolve_job_def("superstore_pipeline")
    with workspace.instance() as instance:
        version, _ = observe(instance, resources.DatasetResource(path=str(dataset)))
        result = job.execute_in_process(
            instance=instance, asset_selection=[AssetKey("orders_raw")], raise_on_error=False
        )
        assert result.success
        recorded = metadata(instance, "orders_raw")
    assert version == hashlib.sha256(dataset.read_bytes()).hexdigest()
    assert hashed.count(size) == 1, hashed
    assert recorded["dataset_sha256"] == version


def check_results(instance: DagsterInstance, run_id: str) -> dict[str, tuple]:
    """Each check evaluated in the run: (passed, severity, metadata), by asset/check name."""
    found = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        name = f"{evaluation.asset_key.to_user_string()}/{evaluation.check_name}"
        found[name] = (evaluation.passed, evaluation.severity, dict(evaluation.metadata))
    return found


@pytest.mark.slow  # on a copy of the session's pipeline run
def test_a_restored_output_gets_its_recorded_check_results_without_being_decoded(
    materialized, monkeypatch
):
    """The checks are functions of the stored bytes: restoring them gives the results recorded
    for those bytes, and no table is read back to work them out again."""
    from superstore_assets.engine import versioned_asset

    decoded: list[str] = []
    original = versioned_asset.decode
    monkeypatch.setattr(
        versioned_asset, "decode", lambda kind, data: decoded.append(kind) or original(kind, data)
    )
    with materialized.instance() as instance:
        first = instance.get_runs(limit=1)[0].run_id
        result = run_pipeline(materialized, BUNDLED, instance=instance)
        assert result.success
        restored, recorded = check_results(instance, result.run_id), check_results(instance, first)
    assert set(restored) >= {"orders_raw/quantity_positive", "orders_clean/both_classes_present"}
    assert restored == recorded  # every check, with its numbers
    assert decoded == []
