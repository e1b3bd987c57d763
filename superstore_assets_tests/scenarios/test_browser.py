"""The web server through its GraphQL API, and the UI and the report in a real Chromium.

One `dagster dev` serves the module's tests, in their order: a failed run, the first runs (one
from the UI beside `superstore materialize`), runs that restore, then the dataset file swapped
under it. The browser tests drive Debian's Chromium with Playwright (servers.chromium) and are
skipped, saying so, where no Chromium is installed. Screenshots go to test-artifacts/.
"""

import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from superstore_assets.engine.hashing import sha256_bytes, sha256_file
from superstore_assets_tests import commands
from superstore_assets_tests.conftest import (
    ASSETS,
    BUNDLED,
    BUNDLED_MODIFIED,
    Workspace,
    new_workspace,
)
from superstore_assets_tests.scenarios.test_staleness import with_renamed_customer
from superstore_assets_tests.servers import (
    ARTIFACTS,
    FINISHED,
    chromium,
    dagster_dev,
    finished,
    graphql,
    launch,
)

pytestmark = pytest.mark.slow

GROUPS = ["ingest", "eda", "modeling", "evaluation", "champion", "report"]


@dataclass(frozen=True)
class Served:
    """The module's `dagster dev`: its port, its home and storage, and the dataset file it
    reads, a copy of the bundled one that a test may swap."""

    port: int
    space: Workspace
    dataset: Path

    def superstore(self, *args: str):
        """`superstore ARGS` in a subprocess on the server's home and dataset."""
        return self.space.superstore(*args, SUPERSTORE_DATASET=str(self.dataset))


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Served:
    """`dagster dev` on a free port with a home and storage of its own, and its own copy of
    the bundled dataset."""
    root = tmp_path_factory.mktemp("server")
    space = new_workspace(root)
    dataset = root / "data" / "superstore.csv"  # the bundled file's name, which runs record
    dataset.parent.mkdir()
    shutil.copyfile(BUNDLED, dataset)
    with dagster_dev(space.env(SUPERSTORE_DATASET=str(dataset)), root / "dev.log") as port:
        yield Served(port=port, space=space, dataset=dataset)


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
    port = server.port
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


@dataclass(frozen=True)
class FirstRuns:
    """The server's first runs on its dataset: one launched through its GraphQL API, as the
    UI's button launches, and `superstore materialize` started on the same home while it ran."""

    before: set[str]  # the runs recorded before them
    ui_run: str
    ui_status: str  # as the client polled it at the end
    command: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def first_runs(server: Served) -> FirstRuns:
    before = run_ids(server.space)
    # The command must start while the UI's run runs: the launcher's imports done first.
    commands.ready()
    client, ui_run = launch(server.port)
    deadline = time.monotonic() + 120
    while client.get_run_status(ui_run) in (DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING):
        assert time.monotonic() < deadline, f"run {ui_run} did not start within 120 s"
        time.sleep(0.2)
    command = server.superstore("materialize")
    return FirstRuns(before, ui_run, finished(client, ui_run), command)


def made_in(instance, asset: str, run_id: str):
    """`asset`'s materialization in run `run_id`, if it has one among its latest ten."""
    records = instance.fetch_materializations(AssetKey(asset), limit=10).records
    return next((event for event in records if event.run_id == run_id), None)


def test_a_run_from_the_ui_and_superstore_materialize_at_once_finish_and_agree(server, first_runs):
    """A run launched through the web server, and `superstore materialize` started on the same
    home while it runs: both finish and are recorded, every asset is fresh afterwards, and every
    stored version's bytes hash to what the record says."""
    space, ui_run, command = server.space, first_runs.ui_run, first_runs.command
    assert command.returncode == 0, command.stdout + command.stderr
    assert "Stack Trace:" not in command.stdout + command.stderr
    assert first_runs.ui_status == "SUCCESS"
    with space.instance() as instance:
        record = instance.get_run_by_id(ui_run)
        ours = [
            run for run in instance.get_runs() if run.run_id not in first_runs.before | {ui_run}
        ]
        assert [run.status for run in ours] == [DagsterRunStatus.SUCCESS], command.stdout
        records = [instance.get_run_record_by_id(run.run_id) for run in (record, *ours)]
        assert max(r.start_time for r in records) < min(r.end_time for r in records), (
            "the two runs did not overlap"
        )
        assert made_in(instance, "report", ui_run) is not None, "the UI's run made a report"
        checked = 0
        for key in instance.get_asset_keys():
            for event in instance.fetch_materializations(key, limit=100).records:
                metadata = event.asset_materialization.metadata
                if "version_path" in metadata:
                    data = Path(metadata["version_path"].value).read_bytes()
                    assert sha256_bytes(data) == metadata["sha256"].value, key
                    checked += 1
    assert checked >= ASSETS
    status = server.superstore("status", "--recheck")
    lines = status.stdout.splitlines()[1:]
    assert len(lines) == ASSETS and all(line.split()[1] == "fresh" for line in lines), status.stdout


def test_graphql_client_launches_the_pipeline(server, first_runs):
    """dagster-graphql's client launches the job (the run of first_runs): the run succeeds,
    tagged with the dataset's name, and records the report and the forest's metrics."""
    assert first_runs.ui_status == "SUCCESS"
    with server.space.instance() as instance:
        tags = instance.get_run_by_id(first_runs.ui_run).tags
        report = made_in(instance, "report", first_runs.ui_run)
        metrics = made_in(instance, "random_forest_metrics", first_runs.ui_run)
    assert tags["superstore/dataset"] == "superstore.csv"
    assert report is not None and metrics is not None
    assert 0.85 < metrics.asset_materialization.metadata["test_roc_auc"].value <= 1
    assert (server.space.storage / "report" / "report.html").exists()


def test_materialize_all_from_the_asset_graph(server, browser):
    port, space = server.port, server.space
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"http://127.0.0.1:{port}/asset-groups", wait_until="load")
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
    page.goto(group, wait_until="load")
    for asset in ["train_val_test", "decision_tree", "random_forest", "logistic_regression"]:
        page.get_by_text(asset, exact=True).first.wait_for(timeout=30_000)
    page.get_by_text("Materialized").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "modeling-group.png"))
    page.goto(f"http://127.0.0.1:{port}/runs/{record.run_id}", wait_until="load")
    page.get_by_text("Success", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "run-succeeded.png"))
    # Test metrics are float metadata: the asset page plots them across runs.
    page.goto(f"http://127.0.0.1:{port}/assets/random_forest_metrics", wait_until="load")
    page.get_by_role("button", name="Plots").click()
    page.get_by_text("test_f1", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "metric-plots.png"))
    page.close()


ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""
METRICS_QUERY = """{ assetOrError(assetKey: {path: ["random_forest_metrics"]}) {
  ... on Asset { assetMaterializations(limit: 1) { runId metadataEntries { label } } } } }"""


def assert_serves_the_grouped_graph_with_checks_and_metadata(port: int) -> None:
    """The UI's graph: the stage groups, the blocking checks, a metric's metadata on record."""
    nodes = graphql(port, ASSETS_QUERY)["assetNodes"]
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert groups["random_forest"] == "modeling" and groups["target_balance"] == "eda"
    assert set(groups.values()) == set(GROUPS)
    checks = {
        "/".join(n["assetKey"]["path"]): {
            c["name"]: c["blocking"] for c in n["assetChecksOrError"]["checks"]
        }
        for n in nodes
    }
    assert checks["orders_raw"] == {
        "required_columns_present": True,
        "discount_in_range": True,
        "quantity_positive": True,
    }
    latest = graphql(port, METRICS_QUERY)["assetOrError"]["assetMaterializations"][0]
    labels = {entry["label"] for entry in latest["metadataEntries"]}
    assert {"test_f1", "test_roc_auc", "baseline_accuracy", "sha256", "path"} <= labels


STALE_QUERY = """{ assetNodes { assetKey { path } staleStatus } }"""
RUNS_QUERY = """{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"""


def dagster_stale(port: int) -> dict[str, str]:
    """Dagster's own stale status of every asset, as the UI shows it ("Materialize unsynced")."""
    nodes = graphql(port, STALE_QUERY)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n["staleStatus"] for n in nodes}


def stale_below_the_source(port: int) -> dict[str, str]:
    """dagster_stale without the dataset file itself, which is observed, not materialized."""
    return {k: v for k, v in dagster_stale(port).items() if k != "superstore_csv"}


@pytest.fixture
def synced(server: Served) -> Served:
    """The server with every asset materialized from its dataset file and in sync with it: by
    the runs of the tests above, or by a run launched here when a test runs without them."""
    if set(stale_below_the_source(server.port).values()) != {"FRESH"}:
        client, run_id = launch(server.port)
        assert finished(client, run_id) == "SUCCESS"
    return server


def test_swapping_the_file_under_a_running_ui_rematerializes_with_no_click(synced):
    port = synced.port
    assert_serves_the_grouped_graph_with_checks_and_metadata(port)
    # Dagster agrees that everything is in sync after our runs.
    stale = stale_below_the_source(port)
    assert set(stale.values()) == {"FRESH"}, stale
    # The swap, with the UI open: a customer renamed, which no model reads, so that the run it
    # starts is short (the modified file, through the CLI: scenarios/test_staleness).
    with_renamed_customer(BUNDLED, synced.dataset)
    deadline = time.monotonic() + 180
    triggered = []
    while time.monotonic() < deadline and not triggered:
        time.sleep(1)
        runs = graphql(port, RUNS_QUERY)["runsOrError"]["results"]
        triggered = [
            r
            for r in runs
            if any(t["key"] == "superstore/trigger" for t in r["tags"]) and r["status"] in FINISHED
        ]
    assert triggered and triggered[0]["status"] == "SUCCESS", triggered
    stale = stale_below_the_source(port)
    assert set(stale.values()) == {"FRESH"}, stale
    status = synced.superstore("status")
    lines = status.stdout.splitlines()
    assert "(unchanged)" in lines[0] and sha256_file(synced.dataset)[:12] in lines[0]
    assert all(line.split()[1] == "fresh" for line in lines[1:]), status.stdout


SENSOR = {
    "repositoryLocationName": "superstore_assets",
    "repositoryName": "__repository__",
    "sensorName": "dataset_changed",
}
SENSOR_QUERY = """query($sensor: SensorSelector!) { sensorOrError(sensorSelector: $sensor) {
  ... on Sensor { id sensorState { status ticks(limit: 1) { status } } } } }"""
STOP_SENSOR = """mutation($id: String!) { stopSensor(id: $id) {
  ... on StopSensorMutationResult { instigationState { status } } } }"""
START_SENSOR = """mutation($sensor: SensorSelector!) { startSensor(sensorSelector: $sensor) {
  ... on Sensor { sensorState { status } } } }"""


def stop_sensor(port: int) -> None:
    """The dataset sensor stopped, as its toggle in the UI stops it, and no tick of it under
    way: one that began before the stop could still see a file swapped after it."""
    sensor = graphql(port, SENSOR_QUERY, {"sensor": SENSOR})["sensorOrError"]
    stopped = graphql(port, STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]
    assert stopped["instigationState"]["status"] == "STOPPED", stopped
    time.sleep(2)  # the daemon lists the running sensors, then starts their ticks
    deadline = time.monotonic() + 120
    while True:
        state = graphql(port, SENSOR_QUERY, {"sensor": SENSOR})["sensorOrError"]["sensorState"]
        if not state["ticks"] or state["ticks"][0]["status"] != "STARTED":
            return
        assert time.monotonic() < deadline, state
        time.sleep(0.5)


def start_sensor(port: int) -> None:
    started = graphql(port, START_SENSOR, {"sensor": SENSOR})["startSensor"]
    assert started["sensorState"]["status"] == "RUNNING", started


def test_dagster_sees_a_new_file_as_unsynced_once_observed(synced):
    """With the sensor stopped (running, it would rematerialize the new file: the test above),
    the file swapped and observed: Dagster shows the first asset below it unsynced."""
    port, dataset = synced.port, synced.dataset
    recorded = sha256_file(dataset)  # the version every asset is in sync with
    stop_sensor(port)
    try:
        shutil.copyfile(BUNDLED_MODIFIED, dataset)
        observed = synced.superstore("observe")
        assert f"changed from {recorded[:12]}" in observed.stdout, observed.stdout
        stale = dagster_stale(port)
    finally:
        start_sensor(port)
    # One hop, as Dagster computes it: what "Materialize unsynced" would run first.
    assert stale["orders_raw"] == "STALE" and stale["orders_clean"] == "FRESH", stale


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
