"""Shared fixtures: the datasets, an isolated Dagster home and storage, and the pipeline runs
that many tests read: one on the bundled file, and one on the real file then its modified copy."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance, ExecuteInProcessResult

from superstore_assets.engine.project import PACKAGE_DIR, project_root
from superstore_assets_tests import commands

ROOT = project_root()
BUNDLED = ROOT / "data" / "superstore.csv"
BUNDLED_MODIFIED = ROOT / "data" / "superstore_modified.csv"
SHARED = ROOT.parent / "shared" / "data" / "superstore"
REAL = SHARED / "Sample - Superstore.csv"
REAL_MODIFIED = SHARED / "Sample - Superstore (modified).csv"
REAL_SHA256 = "55ed555a1f8c22109e192108248688be8b6a25e48e25c31405a706a4fb3a2872"
# Every asset the pipeline materializes (the sources, superstore_csv and orders_to_score, are
# observed, not stored);
# engine/test_manifest.py checks it against the graph.
ASSETS = 24


def require_real(path: Path = REAL) -> Path:
    """The real Tableau file, or a skip that says where it was looked for."""
    if not path.is_file():
        pytest.skip(f"the real Superstore file is not at {path} (see README: Data)")
    return path


def temporary_name_of_an_ended_process(name: str) -> str:
    """The temporary name a writer of `name` gives its file (engine/files.py), made by a
    process that has ended since: what a process killed mid-write leaves."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from superstore_assets.engine.files import temporary_name\n"
            f"print(temporary_name({name!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@dataclass
class Workspace:
    """A Dagster home and a storage folder of a test's own."""

    home: Path
    storage: Path

    @classmethod
    def under(cls, root: Path) -> Workspace:
        """The workspace whose home and storage are `root`/dagster_home and `root`/storage
        (made or not): where new_workspace and copied put them."""
        return cls(home=root / "dagster_home", storage=root / "storage")

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a subprocess that should use this workspace."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERSTORE_")}
        env.update(
            DAGSTER_HOME=str(self.home),
            SUPERSTORE_STORAGE=str(self.storage),
            SUPERSTORE_PREVIEWS="0",
            **extra,
        )
        return env

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(str(self.home))

    def superstore(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        """`superstore ARGS` in a process of its own on this workspace, its imports paid once
        a test process (commands.py): its output, not checked."""
        return commands.run(list(args), cwd=ROOT, env=self.env(**extra))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path)


def run_pipeline(
    workspace: Workspace, dataset: Path, instance: DagsterInstance | None = None, **kwargs
) -> ExecuteInProcessResult:
    """The superstore_pipeline job in-process on `dataset`, recorded in the workspace's home."""
    from superstore_assets.assets.definitions import make_definitions

    definitions = make_definitions(
        dataset=str(dataset), storage=str(workspace.storage), previews=False
    )
    job = definitions.resolve_job_def("superstore_pipeline")
    if instance is not None:
        return job.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    with workspace.instance() as own:
        return job.execute_in_process(instance=own, raise_on_error=False, **kwargs)


def storage_files(storage: Path) -> dict[str, bytes]:
    """Every stored file, by path relative to the storage root."""
    return {str(p.relative_to(storage)): p.read_bytes() for p in storage.rglob("*") if p.is_file()}


_opened_home: Path | None = None


def opened_home() -> Path:
    """A home with the project's dagster.yaml whose instance has been opened once, so that its
    databases exist: made once a test process. A new home makes its databases the first time it
    is opened (about a second here, several under load); a copy of this one opens in a third
    of a second."""
    global _opened_home
    if _opened_home is None:
        folder = Path(tempfile.mkdtemp(prefix="superstore-tests-home-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        home = folder / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text((PACKAGE_DIR / "dagster.yaml").read_text())
        with DagsterInstance.from_config(str(home)) as instance:
            assert instance.get_runs(limit=1) == []
        _opened_home = home
    return _opened_home


def new_workspace(root: Path) -> Workspace:
    """A home with the project's dagster.yaml and no runs (a copy of `opened_home`), and a
    storage folder, under `root`. (Tests of what a new home makes when first opened make their
    own: engine/test_eventlog.py, and every command run in a home of its own.)"""
    space = Workspace.under(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(opened_home(), space.home)
    return space


def copied(space: Workspace, root: Path) -> Workspace:
    """A home and storage of a test's own, holding a copy of `space`'s record and files.
    (Freshness finds stored files under the storage root, never by recorded path.)"""
    copy = Workspace.under(root)
    shutil.copytree(space.home, copy.home)
    shutil.copytree(space.storage, copy.storage)
    return copy


@dataclass(frozen=True)
class Ran:
    """A run as the tests that share it read it: its id and whether it succeeded. Its events
    are in the instance, where any test process can read them."""

    run_id: str
    success: bool


def record_ran(folder: Path, result: ExecuteInProcessResult) -> None:
    """Leave `result` as a Ran in `folder` (its done.json, which made_once looks for): the
    maker's last step."""
    (folder / "done.json").write_text(
        json.dumps({"run_id": result.run_id, "success": result.success})
    )


def recorded_ran(folder: Path) -> Ran:
    """The Ran that record_ran left in `folder`."""
    return Ran(**json.loads((folder / "done.json").read_text()))


@contextlib.contextmanager
def made_once(folder: Path) -> Iterator[bool]:
    """Whether this process is the first to make `folder`'s content: the first process of the
    session to ask makes it while the others wait, then each reads what it left (`done.json`,
    written by the maker last)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield not (folder / "done.json").exists()


def shared_temporary_folder(tmp_path_factory) -> Path:
    """A folder all of the session's test processes share: the parent of each xdist worker's
    own, or the session's own without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory) -> tuple[Workspace, Ran]:
    """One run of the whole pipeline on the bundled dataset, shared by the tests that read it:
    made once for the session, by the first worker that needs it, and only read after that
    (a test that changes a home copies it: `materialized`, `copied`)."""
    root = shared_temporary_folder(tmp_path_factory) / "bundled_run"
    space = Workspace.under(root)
    with made_once(root) as first:
        if first:
            record_ran(root, run_pipeline(new_workspace(root), BUNDLED))
    return space, recorded_ran(root)


@pytest.fixture
def materialized(bundled_run, tmp_path: Path) -> Workspace:
    """A copy of `bundled_run`'s home and storage: every asset materialized and fresh on the
    bundled dataset, without running the pipeline again."""
    space, result = bundled_run
    assert result.success
    return copied(space, tmp_path)


@dataclass
class RealRuns:
    """The whole pipeline on the real file (`real`, a snapshot of the home after that run),
    then on its modified copy in the same home (`both`, with the second run: `modified_run`)."""

    real: Workspace
    both: Workspace
    modified_run: Ran


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory) -> RealRuns:
    """Shared by the tests that need a run on the real file, or a real-then-modified pair: made
    once for the session, by the first worker that needs them, as `bundled_run` is, and only
    read after that (a test that changes a home copies it)."""
    real, modified = require_real(REAL), require_real(REAL_MODIFIED)
    root = shared_temporary_folder(tmp_path_factory) / "real_runs"
    runs, snapshot = Workspace.under(root / "runs"), Workspace.under(root / "after_real")
    with made_once(root) as first:
        if first:
            new_workspace(root / "runs")
            assert run_pipeline(runs, real).success
            copied(runs, root / "after_real")
            result = run_pipeline(runs, modified)
            assert result.success
            record_ran(root, result)
    return RealRuns(real=snapshot, both=runs, modified_run=recorded_ran(root))


# The order the suite's tests are handed out in: the longest kinds first, so that the last to
# finish are unit tests of a second or less and no worker waits on the other's long test at the
# end (the bundled story of test_staleness.py started last and kept one worker alone for 72 s).
# The team-profile tests lead: the longest (about 5 minutes here, its servers to itself).
FIRST = ("scenarios/test_team.py", "scenarios/", "cli/", "assets/", "engine/", "pipeline/")


# Modules whose tests run on one worker, so that their module fixtures (the team's services, the
# notebook's run, a web server and a browser) are made once for the session, not once a worker.
ONE_WORKER = ("scenarios/test_team.py", "scenarios/test_notebook.py", "scenarios/test_browser.py")


# Where the session's temporary folders go when none is given (--basetemp): a folder in memory
# (/dev/shm) where the machine has one with room, else pytest's own under /tmp. Every pipeline
# run records a few hundred events in SQLite, and a commit took 13.5 ms on this machine's disk
# against 0.4 ms in memory: seconds a run spent waiting on the disk, which no test is about.
MEMORY_FOLDER = Path("/dev/shm")
MEMORY_NEEDED = 4 << 30  # bytes free; a whole session writes about 0.5 GB


def pytest_configure(config: pytest.Config) -> None:
    """The session's base temporary folder in memory (see MEMORY_FOLDER), made by the main
    process and handed by xdist to each worker; removed when the session ends."""
    if config.option.basetemp or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if not (MEMORY_FOLDER.is_dir() and os.access(MEMORY_FOLDER, os.W_OK)):
        return
    if shutil.disk_usage(MEMORY_FOLDER).free < MEMORY_NEEDED:
        return
    folder = Path(tempfile.mkdtemp(prefix="superstore-tests-", dir=MEMORY_FOLDER))
    config.option.basetemp = str(folder / "base")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist load` with ONE_WORKER's modules kept together: every other test goes alone to
    whichever worker is free. (xdist's own `--dist loadgroup` finds no group under pytest 9.2,
    pytest-xdist issue 1386, so the modules are named here instead of marked.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.endswith(ONE_WORKER) else nodeid

    return Scheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests in the order of FIRST; within a kind, in collection order (stable), so that a
    module's tests stay together with its fixtures."""

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(Path(__file__).parent).as_posix()
        return next((i for i, prefix in enumerate(FIRST) if path.startswith(prefix)), len(FIRST))

    items.sort(key=rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The modules the tests import, and the tests themselves, live until the end of the
    session: frozen, the cycle collector no longer walks them (as `superstore` freezes its heap,
    engine/one_shot.py). Each full pass walked millions of objects: 1.2 s each at the session's
    end in every worker, and in every test that runs a pipeline, a pass now and then.

    Where slow tests are selected, the process's launcher of `superstore` commands starts now,
    beside the first tests (commands.py)."""
    gc.freeze()
    if any(item.get_closest_marker("slow") for item in session.items):
        commands.start()
