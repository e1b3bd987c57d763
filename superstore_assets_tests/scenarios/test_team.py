"""The team profile on real servers on loopback: PostgreSQL for the run record, moto's S3 server
for every output, a Dask LocalCluster of two worker processes for the steps; all started here
and ended here (the fixtures fail if one is left running).

The proof that the profile changes nothing but where things live: the data version of every
asset under the team profile equals the local profile's on the same bytes (the report's aside,
which shows the dataset's path), and swapping the dataset away and back restores every asset
without computing any.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus

from superstore_assets.engine.project import ProfileError
from superstore_assets_tests import commands
from superstore_assets_tests.conftest import ASSETS, BUNDLED, BUNDLED_MODIFIED, ROOT
from superstore_assets_tests.servers import (
    ARTIFACTS,
    CHROMIUM,
    chromium,
    dagster_dev,
    finished,
    free_port,
    graphql,
    launch,
)
from superstore_assets_tests.team_services import (
    background,
    dask_cluster,
    postgres_bin,
    postgres_database_url,
    postgres_server,
    s3_server,
)

BIN = Path(sys.executable).parent
BUCKET = "superstore"
RUNS_QUERY = """{ runsOrError { ... on Runs { results { runId status } } } }"""
# Every asset the pipeline materializes (the source, superstore_csv, is observed, not stored).


@dataclass
class Team:
    """The services' settings, as a team would export them, and a folder for the dataset."""

    env: dict[str, str]
    folder: Path
    dataset: Path
    postgres_url: str

    def environment(self, home: Path) -> dict[str, str]:
        """A fresh environment: the team's settings and this home."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERSTORE_")}
        env.update(self.env, DAGSTER_HOME=str(home))
        return env

    def run(self, *command: str, home: Path) -> subprocess.CompletedProcess:
        """`superstore ARGS` (`command` is "superstore", *ARGS) in a fresh environment (the
        team's settings and this home), forked from the test process's launcher with the
        package imported (commands.py): its output, not checked."""
        program, *args = command
        assert program == "superstore", command
        return commands.run(args, cwd=ROOT, env=self.environment(home))

    def start(self, *command: str, home: Path) -> subprocess.Popen:
        """A command of the venv (Dagster's own) started in a fresh environment (the team's
        settings and this home) and left running, its output piped."""
        return subprocess.Popen(
            [str(BIN / command[0]), *command[1:]],
            cwd=ROOT,
            env=self.environment(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_together(self, *lines: tuple[str, ...], home: Path) -> list:
        """`superstore` commands started at once, each as `run` runs one; their results, in
        order."""
        with ThreadPoolExecutor(len(lines)) as pool:
            return list(pool.map(lambda line: self.run(*line, home=home), lines))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the session (this process opens the instance too)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# Scoped to this module, not the session: idle, the two Dask workers and the scheduler's loop
# took about 130 s of CPU over the rest of a suite, on a machine of two cores.
@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Team]:
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip(
            "PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql; "
            ".ci/run does)"
        )
    folder = tmp_path_factory.mktemp("team")
    dataset = folder / "data" / "superstore.csv"
    dataset.parent.mkdir()
    shutil.copyfile(BUNDLED, dataset)
    with contextlib.ExitStack() as stack:
        # PostgreSQL starts (initdb, then the server) in a thread while the S3 server and the
        # Dask workers start here: what they need of it is its URL, known from its port.
        port = free_port()
        postgres = stack.enter_context(background(postgres_server(binaries, port)))
        postgres_url = postgres_database_url(port)
        endpoint = stack.enter_context(s3_server())
        credentials = {
            "AWS_ACCESS_KEY_ID": "superstore-test",
            "AWS_SECRET_ACCESS_KEY": "superstore-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "SUPERSTORE_POSTGRES_URL": postgres_url,
        }
        stack.enter_context(_environment(credentials))
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        env = {
            **credentials,
            "SUPERSTORE_PROFILE": "team",
            "SUPERSTORE_STORAGE": f"s3://{BUCKET}/team-{uuid.uuid4().hex[:8]}",
            "SUPERSTORE_DATASET": str(dataset),
            "SUPERSTORE_PREVIEWS": "0",
        }
        # The workers get the same settings as the code location, as on a real cluster.
        env["SUPERSTORE_DASK_ADDRESS"] = stack.enter_context(dask_cluster(env))
        assert postgres.result() == postgres_url
        yield Team(env=env, folder=folder, dataset=dataset, postgres_url=postgres_url)


def data_versions(home: Path) -> dict[str, str]:
    """The data version of every materialized asset, from the instance in `home`."""
    from superstore_assets.assets.definitions import all_assets

    versions = {}
    with DagsterInstance.from_config(str(home)) as instance:
        for definition in all_assets:
            for key in getattr(definition, "keys", []):  # the source is observed, not stored
                event = instance.get_latest_materialization_event(key)
                if event is not None and event.asset_materialization is not None:
                    tags = event.asset_materialization.tags or {}
                    versions[key.to_user_string()] = tags["dagster/data_version"]
    return versions


def where_steps_ran(home: Path) -> tuple[set[str], set[str]]:
    """The latest run's steps that ran in the run's own process, and those that ran elsewhere
    (a Dask worker): by the process that logged each step's start."""
    with DagsterInstance.from_config(str(home)) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        run_pid = instance.all_logs(run_id, of_type=DagsterEventType.RUN_START)[0].dagster_event.pid
        starts = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    here = {entry.step_key for entry in starts if entry.dagster_event.pid == run_pid}
    return here, {entry.step_key for entry in starts} - here


def _bucket_and_folder(prefix: str) -> tuple[str, str]:
    """s3://bucket/folder as (bucket, folder)."""
    bucket, _, folder = prefix.removeprefix("s3://").partition("/")
    return bucket, folder


def _stored_keys(prefix: str) -> set[str]:
    import boto3

    bucket, folder = _bucket_and_folder(prefix)
    pages = (
        boto3.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=folder + "/")
    )
    return {item["Key"][len(folder) + 1 :] for page in pages for item in page.get("Contents", [])}


def _timed(team: Team, *command: str, home: Path):
    started = time.perf_counter()
    result = team.run(*command, home=home)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"{' '.join(command)}: {seconds:.1f} s")
    return result


@pytest.mark.slow
def test_team_profile_reuses_and_matches_the_local_profile(
    team: Team, tmp_path: Path, request: pytest.FixtureRequest
):
    home = tmp_path / "team_home"

    cold = _timed(team, "superstore", "materialize", home=home)
    assert f"Computed ({ASSETS})" in cold.stdout
    assert f"Report: {team.env['SUPERSTORE_STORAGE']}/report/report.html\n" in cold.stdout
    here, away = where_steps_ran(home)
    assert len(away) == ASSETS and not here, "every step that computes runs on a worker"
    settings = (home / "dagster.yaml").read_text()
    assert "SUPERSTORE_POSTGRES_URL" in settings, "the CLI made the team profile's home"
    assert not (home / "runs.db").exists() and not list(home.glob("**/*.db")), "no SQLite"
    first = data_versions(home)
    assert len(first) == ASSETS
    stored = _stored_keys(team.env["SUPERSTORE_STORAGE"])
    assert "report/report.html" in stored
    assert f"tables/versions/orders_clean/{first['orders_clean']}.parquet" in stored
    assert f"models/versions/random_forest/{first['random_forest']}.pkl" in stored

    shutil.copyfile(BUNDLED_MODIFIED, team.dataset)
    swapped = _timed(team, "superstore", "materialize", "--stale", home=home)
    modified = data_versions(home)
    assert modified["orders_raw"] != first["orders_raw"]
    assert "Computed (0)" not in swapped.stdout

    shutil.copyfile(BUNDLED, team.dataset)
    back = _timed(team, "superstore", "materialize", "--stale", home=home)
    assert "Computed (0)" in back.stdout, back.stdout
    assert f"Reused ({ASSETS}) from run" in back.stdout, back.stdout
    assert data_versions(home) == first
    here, away = where_steps_ran(home)
    assert len(here) == ASSETS and not away, "a step that restores runs in the run's process"

    # `make ui` on the team's record starts now, while the commands below run: the dataset no
    # longer changes, so its sensor requests no run.
    env = team.environment(home)
    with background(dagster_dev(env, tmp_path / "dev.log")) as ui:
        # Three commands that only read the record and the bucket, at once.
        status, listed, compared = team.run_together(
            ("superstore", "status"),
            ("superstore", "history", "--json"),
            ("superstore", "diff", "previous", "latest", "--json"),
            home=home,
        )
        assert status.returncode == 0, status.stderr
        assert status.stdout.count(" fresh") == ASSETS, status.stdout  # checked against S3

        history = json.loads(listed.stdout)
        assert [run["status"] for run in history] == ["SUCCESS"] * 3
        newest, _, oldest = history
        assert (len(newest["computed"]), len(newest["reused"])) == (0, ASSETS)
        assert len(oldest["computed"]) == ASSETS
        assert compared.returncode == 0, compared.stderr
        difference = json.loads(compared.stdout)
        assert difference["dataset"]["changed"], "the modified file's edited rows"

        # `superstore gc` on S3: the modified file's versions go, the current ones stay fresh.
        prefix = team.env["SUPERSTORE_STORAGE"]
        before = _stored_keys(prefix)
        swept = team.run("superstore", "gc", "--keep", "1", home=home)
        assert swept.returncode == 0, swept.stdout + swept.stderr
        assert re.search(r"Removed [1-9]\d* stored versions", swept.stdout), swept.stdout
        gone = before - _stored_keys(prefix)
        assert f"tables/versions/orders_clean/{modified['orders_clean']}.parquet" in gone
        assert not any(first[name] in key for key in gone for name in first), gone
        status = team.run("superstore", "status", "--recheck", home=home)
        assert status.stdout.count(" fresh") == ASSETS, status.stdout + status.stderr

        # `make ui` on the team's record: the web server reads PostgreSQL and launches on Dask.
        port = ui.result()
        shown = graphql(port, RUNS_QUERY)["runsOrError"]["results"]
        assert [run["status"] for run in shown] == ["SUCCESS"] * 3
        client, launched = launch(port)
        # Meanwhile two runs at once on the same instance, cluster and bucket, through Dagster's
        # own CLI (not serialised by `superstore materialize`'s lock): all three finish, and
        # reuse every output. A path from the file to one model's metrics, six steps, stands
        # for the graph: the whole graph is the web server's run.
        command = ("dagster", "asset", "materialize", "-m", "superstore_assets")
        both = [
            team.start(*command, "--select", "*decision_tree_metrics", home=home) for _ in range(2)
        ]
        # The browser starts, and shows the asset groups, while the runs run.
        with chromium() if CHROMIUM else contextlib.nullcontext() as browser:
            if browser is not None:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/asset-groups", wait_until="networkidle")
                for group in ("ingest", "modeling", "report"):
                    page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
            outputs = [process.communicate(timeout=600) for process in both]
            assert [process.returncode for process in both] == [0, 0], outputs
            assert finished(client, launched) == "SUCCESS"
            with DagsterInstance.from_config(str(home)) as instance:
                runs = instance.get_runs()
                assert len(runs) == 6
                assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
                # Newest first: the three superstore runs are the oldest.
                clis = [run for run in runs[:3] if run.run_id != launched]
                records = [instance.get_run_record_by_id(run.run_id) for run in clis]
                assert len(records) == 2
                started = max(record.start_time for record in records)
                ended = min(record.end_time for record in records)
                assert started < ended, "the two runs overlapped in time"
            if browser is not None:
                page.goto(f"http://127.0.0.1:{port}/runs/{launched}", wait_until="networkidle")
                page.get_by_text("Success", exact=True).first.wait_for(timeout=30_000)
                page.get_by_text(team.env["SUPERSTORE_STORAGE"]).first.wait_for(timeout=30_000)
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "team-run.png"))
        ui.leave()  # `dagster dev` stops (checked as the block ends) while the checks below run
        assert data_versions(home) == first  # the three runs reused every output

        # The same bytes under the local profile (SQLite, the in-process executor, a folder):
        # the session's run of the bundled file, asked for only now so that this worker does
        # not wait for it at the start. Every data version is the team's; the report differs in
        # one line, the dataset's path, which it shows.
        local, _ = request.getfixturevalue("bundled_run")
        local_versions = data_versions(local.home)
        assert local_versions == {**first, "report": local_versions["report"]}
        import boto3

        bucket, folder = _bucket_and_folder(team.env["SUPERSTORE_STORAGE"])
        report = boto3.client("s3").get_object(Bucket=bucket, Key=f"{folder}/report/report.html")
        shown = (local.storage / "report" / "report.html").read_text()
        assert f"<dd>{BUNDLED}</dd>" in shown
        assert report["Body"].read().decode() == shown.replace(
            f"<dd>{BUNDLED}</dd>", f"<dd>{team.dataset}</dd>"
        )


@pytest.mark.slow
def test_one_superstore_materialize_at_a_time_per_postgres_database(team: Team):
    from superstore_assets.engine.locking import exclusive_in_postgres

    waited: list[str] = []
    acquired = threading.Event()

    def second() -> None:
        with exclusive_in_postgres(team.postgres_url, wait_message=waited.append):
            acquired.set()

    with exclusive_in_postgres(team.postgres_url):
        contender = threading.Thread(target=second)
        contender.start()
        time.sleep(1)
        assert not acquired.is_set(), "the second got the lock while the first held it"
    contender.join(timeout=30)
    assert acquired.is_set()
    assert waited == [f"superstore materialize pid {os.getpid()} on {os.uname().nodename}"]


def test_unknown_profile_is_refused(monkeypatch):
    from superstore_assets.assets.definitions import make_definitions

    monkeypatch.setenv("SUPERSTORE_PROFILE", "cloud")
    with pytest.raises(ProfileError, match="use one of local, team"):
        make_definitions(dataset=str(BUNDLED), storage="/tmp/x")


def test_the_cli_names_the_setting_to_fix(monkeypatch, tmp_path, capsys):
    from superstore_assets.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SUPERSTORE_PROFILE", "team")
    monkeypatch.delenv("SUPERSTORE_POSTGRES_URL", raising=False)
    assert main(["status"]) == 2
    message = capsys.readouterr().err
    assert "set SUPERSTORE_POSTGRES_URL=postgresql+psycopg2://" in message
    assert not (tmp_path / "home").exists(), "no home made for a profile that cannot run"
    monkeypatch.setenv("SUPERSTORE_POSTGRES_URL", "postgresql://u@db/dagster")
    assert main(["status"]) == 2
    assert "must start with postgresql+psycopg2://" in capsys.readouterr().err


def test_team_profile_refuses_a_local_folder(monkeypatch, tmp_path):
    from superstore_assets.assets.definitions import make_definitions

    monkeypatch.setenv("SUPERSTORE_PROFILE", "team")
    with pytest.raises(ProfileError, match="SUPERSTORE_STORAGE=s3://bucket/prefix"):
        make_definitions(dataset=str(BUNDLED), storage=str(tmp_path))


def test_team_profile_runs_on_dask_with_resources_in_run_config(monkeypatch):
    from superstore_assets.assets.definitions import make_definitions, resource_run_config

    monkeypatch.setenv("SUPERSTORE_PROFILE", "team")
    monkeypatch.setenv("SUPERSTORE_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    definitions = make_definitions(dataset=str(BUNDLED), storage="s3://bucket/prefix")
    job = definitions.resolve_job_def("superstore_pipeline")
    assert job.executor_def.name == "dask"
    config = resource_run_config(str(BUNDLED), "s3://bucket/prefix", False)["resources"]
    assert config["dataset"]["config"]["path"] == str(BUNDLED)
    assert config["score_dataset"]["config"]["path"].endswith("new_orders.csv")
    assert {c["config"]["root"] for k, c in config.items() if "dataset" not in k} == {
        "s3://bucket/prefix"
    }
    assert AssetKey("report") in job.asset_layer.asset_graph.get_all_asset_keys()


def test_team_executor_reads_a_steps_dask_resources_as_dagster_dask_does():
    from dagster_dask.executor import get_dask_resource_requirements

    from superstore_assets.engine.executor import DASK_RESOURCES_TAG, dask_resources

    for tags in ({}, {DASK_RESOURCES_TAG: '{"GPU": 1, "MEMORY": 10e9}'}, {"other": "x"}):
        assert dask_resources(tags) == get_dask_resource_requirements(tags)
    assert dask_resources({DASK_RESOURCES_TAG: '{"GPU": 1}'}) == {"GPU": 1}
