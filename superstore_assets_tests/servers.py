"""`dagster dev` for tests, started and stopped on a free loopback port; a headless Chromium."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from superstore_assets_tests.conftest import ROOT

BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts"  # screenshots
CHROMIUM = os.environ.get("BROWSER_PATH") or shutil.which("chromium")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def launch(port: int):
    """The job launched through the web server's GraphQL API, as the UI's button does: the
    client and the run id."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "superstore_pipeline", repository_location_name="superstore_assets"
    )
    return client, run_id


def finished(client, run_id: str, timeout: float = 300) -> str:
    """A launched run's final status ("SUCCESS", "FAILURE" or "CANCELED"), polled."""
    deadline = time.monotonic() + timeout
    while (status := client.get_run_status(run_id).value) not in FINISHED:
        assert time.monotonic() < deadline, f"run {run_id} still {status} after {timeout} s"
        time.sleep(0.5)
    return status


def _default_signals() -> None:
    # A process started in the background may inherit SIGINT and SIGTERM as ignored; the
    # server must hear them to shut down.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def live_members(group: int) -> list[int]:
    """Processes of a process group that are still running (zombies do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    return "?"


def stop_group(process: subprocess.Popen, grace: float = 60) -> tuple[float, list[str]]:
    """End a process and all it started: SIGTERM to its group (and, once the process has
    ended, to what started in the group after that), SIGKILL to what lingers.

    Returns the seconds the group took to end on SIGTERM alone (inf if it needed SIGKILL), and
    the command lines of what was still running when the grace ran out.
    """
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    told_late_starters = False
    while time.monotonic() - started < grace:
        if process.poll() is not None:
            members = live_members(process.pid)
            if not members:
                return time.monotonic() - started, []
            if not told_late_starters:
                # Started after the SIGTERM, so never given it: `dagster dev`'s web server
                # restarts a code server that exits before the web server does, and that one
                # would wait 45 s for a heartbeat before it ends by itself (seen in a suite run).
                told_late_starters = True
                for pid in members:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
    lingering = [command_line(pid) for pid in live_members(process.pid)]
    for pid in live_members(process.pid):
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    return float("inf"), lingering


# `dagster dev` on SIGTERM asks its web server, then its daemon, to shut down, and waits up to
# 60 s for each before it kills it (dagster/_cli/dev.py); the daemon joins each of its threads
# for up to 30 s. So a group that heeds SIGTERM ends within about two minutes even when a
# loaded machine slows every part of it (a CI run once took longer than 60 s); one that ignores
# SIGTERM never does.
DEV_SHUTDOWN_SECONDS = 150


@contextlib.contextmanager
def dagster_dev(env: dict, log: Path, timeout: float = 120) -> Iterator[int]:
    """`dagster dev` in its own process group; yields its port once the graph is served.

    On exit the group gets SIGTERM; the exit fails if anything of it is still running after.
    """
    port = free_port()
    command = [str(BIN / "dagster"), "dev", "-m", "superstore_assets", "-h", "127.0.0.1"]
    with open(log, "w") as output:
        server = subprocess.Popen(
            [*command, "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its webserver, daemon and code server share the group
            preexec_fn=_default_signals,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                if graphql(port, "{ assetNodes { id } }")["assetNodes"]:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dagster dev did not serve the graph; see {log}")
            time.sleep(1)
        yield port
    finally:
        seconds, lingering = stop_group(server, grace=DEV_SHUTDOWN_SECONDS)
    assert seconds < DEV_SHUTDOWN_SECONDS, (
        f"dagster dev did not stop on SIGTERM to its process group; still running: {lingering}; "
        f"its log ends: {log.read_text()[-2000:]}"
    )
    assert live_members(server.pid) == []


@contextlib.contextmanager
def chromium():
    """Debian's Chromium driven by Playwright (no browser download), or a skip that says what
    to install: `.ci/run` installs it, `make test` never does."""
    if CHROMIUM is None:
        import pytest

        pytest.skip("no Chromium: install Debian's chromium package (or set BROWSER_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
