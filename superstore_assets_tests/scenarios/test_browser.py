"""The web server through its GraphQL API, and the UI and the report in a real Chromium.

The browser tests drive Debian's Chromium with Playwright (servers.chromium) and are skipped,
saying so, where no Chromium is installed. Screenshots go to test-artifacts/.
"""

import time
import urllib.request
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from superstore_assets.engine.hashing import sha256_bytes
from superstore_assets.engine.project import PACKAGE_DIR
from superstore_assets_tests.conftest import ASSETS, Workspace
from superstore_assets_tests.servers import (
    ARTIFACTS,
    chromium,
    dagster_dev,
    finished,
    graphql,
    launch,
)

pytestmark = pytest.mark.slow

GROUPS = ["ingest", "eda", "modeling", "evaluation", "champion", "report"]


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
    with chromium() as launched:
        yield launched


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


def test_the_web_server_keeps_serving_while_a_run_fails(server, tmp_path):
    """A run that fails (its dataset is missing) leaves the server answering; the tests below
    then use the same server."""
    port, _ = server
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "superstore_pipeline",
        repository_location_name="superstore_assets",
        run_config={"resources": {"dataset": {"config": {"path": str(tmp_path / "none.csv")}}}},
    )
    deadline = time.monotonic() + 300
    while (status := client.get_run_status(run_id)) not in (
        DagsterRunStatus.SUCCESS,
        DagsterRunStatus.FAILURE,
    ):
        assert time.monotonic() < deadline
        time.sleep(1)
    assert status == DagsterRunStatus.FAILURE
    assert graphql(port, "{ assetNodes { id } }")["assetNodes"]  # still answering
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/runs/{run_id}", timeout=30) as page:
        assert page.status == 200
    messages = graphql(
        port,
        """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection {
           events { ... on ExecutionStepFailureEvent { error { message } } } } } }""",
        {"id": run_id},
    )["logsForRun"]["events"]
    errors = [e["error"]["message"] for e in messages if e.get("error")]
    assert any("none.csv does not exist" in error for error in errors), errors


def test_a_run_from_the_ui_and_superstore_materialize_at_once_finish_and_agree(server):
    """A run launched through the web server, and `superstore materialize` started on the same
    home while it runs: both finish and are recorded, every asset is fresh afterwards, and every
    stored version's bytes hash to what the record says."""
    port, space = server
    before = run_ids(space)
    client, ui_run = launch(port)
    deadline = time.monotonic() + 120
    while client.get_run_status(ui_run) in (DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING):
        assert time.monotonic() < deadline, f"run {ui_run} did not start within 120 s"
        time.sleep(0.2)
    command = space.superstore("materialize")
    assert command.returncode == 0, command.stdout + command.stderr
    assert "Stack Trace:" not in command.stdout + command.stderr
    assert finished(client, ui_run) == "SUCCESS"
    with space.instance() as instance:
        record = instance.get_run_by_id(ui_run)
        ours = [run for run in instance.get_runs() if run.run_id not in before | {ui_run}]
        assert [run.status for run in ours] == [DagsterRunStatus.SUCCESS], command.stdout
        records = [instance.get_run_record_by_id(run.run_id) for run in (record, *ours)]
        assert max(r.start_time for r in records) < min(r.end_time for r in records), (
            "the two runs did not overlap"
        )
        reports = instance.fetch_materializations(AssetKey("report"), limit=10).records
        assert ui_run in {event.run_id for event in reports}, "the UI's run made a report"
        checked = 0
        for key in instance.get_asset_keys():
            for event in instance.fetch_materializations(key, limit=100).records:
                metadata = event.asset_materialization.metadata
                if "version_path" in metadata:
                    data = Path(metadata["version_path"].value).read_bytes()
                    assert sha256_bytes(data) == metadata["sha256"].value, key
                    checked += 1
    assert checked >= ASSETS
    status = space.superstore("status", "--recheck")
    lines = status.stdout.splitlines()[1:]
    assert len(lines) == ASSETS and all(line.split()[1] == "fresh" for line in lines), status.stdout


def test_graphql_client_launches_the_pipeline(server):
    port, space = server
    client, run_id = launch(port)
    assert finished(client, run_id) == "SUCCESS"
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
