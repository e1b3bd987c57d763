"""Dagster's current command line, `dg`, run from the checkout as its documentation says."""

import json
import subprocess

import pytest
from dagster import AssetKey

from superstore_assets.engine.freshness import REUSED_FROM_RUN
from superstore_assets.engine.project import PACKAGE_DIR
from superstore_assets_tests.conftest import ROOT
from superstore_assets_tests.servers import BIN

pytestmark = pytest.mark.slow


def dg(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dg"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_dg_lists_and_checks_the_projects_definitions(workspace):
    listed = dg("list", "defs", "--json", env=workspace.env())
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout)
    assets = {entry["asset_key"]: entry for entry in defs["assets"]}
    assert {"superstore_csv", "orders_raw", "random_forest", "report"} <= set(assets)
    assert assets["random_forest"]["group_name"] == "modeling"
    assert assets["random_forest"]["dependency_keys"] == ["train_val_test"]
    assert [job["name"] for job in defs["jobs"]] == ["superstore_pipeline"]
    assert [sensor["name"] for sensor in defs["sensors"]] == ["dataset_changed"]
    assert len(defs["asset_checks"]) >= 8

    checked = dg("check", "defs", env=workspace.env())
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "All definitions loaded successfully." in checked.stdout
    assert "virtual environment does not match" not in checked.stdout + checked.stderr


def test_dg_launch_uses_the_projects_home_and_reuses_what_it_holds(materialized):
    """`dg launch --assets '*'` in a home that has no dagster.yaml: the run is recorded there,
    restores every output the record already holds, and leaves the home the project's
    settings for the next process."""
    (materialized.home / "dagster.yaml").unlink()
    launched = dg("launch", "--assets", "*", env=materialized.env())
    assert launched.returncode == 0, launched.stderr[-3000:]
    with materialized.instance() as instance:
        latest = instance.get_runs(limit=1)[0]
        assert latest.is_success
        event = instance.get_latest_materialization_event(AssetKey("random_forest"))
        assert event.run_id == latest.run_id
        assert REUSED_FROM_RUN in event.asset_materialization.metadata  # restored, not fitted
    settings = (materialized.home / "dagster.yaml").read_text()
    assert settings == (PACKAGE_DIR / "dagster.yaml").read_text()
