"""The web server through its GraphQL API, and the UI and the report in a real Chromium.

The browser tests drive Debian's Chromium with Playwright (no browser download) and are skipped,
saying so, where no Chromium is installed: `.ci/run` installs one, `make test` never does.
Screenshots go to test-artifacts/.
"""

import os
import shutil
import time

import pytest
from dagster import AssetKey, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from superstore_assets.engine.project import PACKAGE_DIR
from superstore_assets_tests.conftest import ROOT, Workspace
from superstore_assets_tests.servers import dagster_dev

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("BROWSER_PATH") or shutil.which("chromium")
NO_CHROMIUM = "no Chromium: install Debian's chromium package (or set BROWSER_PATH)"
ARTIFACTS = ROOT / "test-artifacts"
# Flags for a closed network: no background fetches, no first-run pages.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GROUPS = ["ingest", "eda", "modeling", "evaluation", "report"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`dagster dev` on a free port with a home and storage of its own."""
    root = tmp_path_factory.mktemp("server")
    space = Workspace(home=root / "home", storage=root / "storage")
    space.home.mkdir()
    (space.home / "dagster.yaml").write_text((PACKAGE_DIR / "dagster.yaml").read_text())
    with dagster_dev(space.env(), root / "dev.log") as port:
        yield port, space


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_for_new_run(space: Workspace, known: set[str], timeout: float = 300):
    """The first run not in `known`, once it has finished."""
    deadline = time.monotonic() + timeout
    with space.instance() as instance:
        while time.monotonic() < deadline:
            new = [run for run in instance.get_runs() if run.run_id not in known]
            if new and new[0].is_finished:
                return new[0]
            time.sleep(1)
    raise AssertionError(f"no new run finished within {timeout} s")


def run_ids(space: Workspace) -> set[str]:
    with space.instance() as instance:
        return {run.run_id for run in instance.get_runs()}


def test_graphql_client_launches_the_pipeline(server):
    port, space = server
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "superstore_pipeline", repository_location_name="superstore_assets"
    )
    deadline = time.monotonic() + 300
    while (status := client.get_run_status(run_id)) not in (
        DagsterRunStatus.SUCCESS,
        DagsterRunStatus.FAILURE,
        DagsterRunStatus.CANCELED,
    ):
        assert time.monotonic() < deadline, f"run {run_id} still {status} after 300 s"
        time.sleep(1)
    assert status == DagsterRunStatus.SUCCESS
    with space.instance() as instance:
        tags = instance.get_run_by_id(run_id).tags
        report = instance.get_latest_materialization_event(AssetKey("report"))
        metrics = instance.get_latest_materialization_event(AssetKey("random_forest_metrics"))
    assert tags["superstore/dataset"] == "superstore.csv"
    assert report.run_id == metrics.run_id == run_id
    assert 0.85 < metrics.asset_materialization.metadata["test_roc_auc"].value <= 1
    assert (space.storage / "report" / "report.html").exists()


def test_materialize_all_from_the_asset_graph(server, browser):
    port, space = server
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"http://127.0.0.1:{port}/asset-groups", wait_until="networkidle")
    for group in GROUPS:  # every stage is drawn as a group of the graph
        page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "asset-graph.png"))
    before = run_ids(space)
    page.get_by_role("button", name="Materialize all").click()
    record = wait_for_new_run(space, before)
    assert record.status == DagsterRunStatus.SUCCESS
    with space.instance() as instance:
        report = instance.get_latest_materialization_event(AssetKey("report"))
    assert report.run_id == record.run_id
    group = f"http://127.0.0.1:{port}/locations/superstore_assets/asset-groups/modeling/lineage"
    page.goto(group, wait_until="networkidle")
    for asset in ["train_val_test", "decision_tree", "random_forest", "logistic_regression"]:
        page.get_by_text(asset, exact=True).first.wait_for(timeout=30_000)
    page.get_by_text("Materialized").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "modeling-group.png"))
    page.goto(f"http://127.0.0.1:{port}/runs/{record.run_id}", wait_until="networkidle")
    page.get_by_text("Success", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "run-succeeded.png"))
    # Test metrics are float metadata: the asset page plots them across runs.
    page.goto(f"http://127.0.0.1:{port}/assets/random_forest_metrics", wait_until="networkidle")
    page.get_by_role("button", name="Plots").click()
    page.get_by_text("test_f1", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "metric-plots.png"))
    page.close()


def test_report_renders_every_figure_offline(bundled_run, browser):
    space, result = bundled_run
    assert result.success
    report = space.storage / "report" / "report.html"
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors, requests = [], []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_function(
        "document.querySelectorAll('.plotly-graph-div .main-svg').length >= 10", timeout=30_000
    )
    assert page.locator(".plotly-graph-div").count() == 10
    drawn = page.evaluate(
        "[...document.querySelectorAll('.plotly-graph-div')].map(d => d.data.length)"
    )
    assert all(traces > 0 for traces in drawn), drawn
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
    page.close()
