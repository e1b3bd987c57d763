"""The team profile's services for tests, each on a free loopback port, started and ended here:
PostgreSQL (Debian's binaries, in a temporary folder), an S3 endpoint (moto's server) and a
Dask cluster of two worker processes."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from glob import glob
from pathlib import Path

from superstore_assets_tests.servers import free_port


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """Whether a process is running (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's initdb and pg_ctl: on the PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[4])
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres_user() -> tuple[list[str], int | None]:
    """The command prefix that runs PostgreSQL's tools as a user it accepts, and that user's uid.

    initdb and postgres refuse to run as root (CI runs as root): then they run as the `postgres`
    user Debian's package creates, or `nobody`, through runuser.
    """
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return ["runuser", "-u", name, "--"], pwd.getpwnam(name).pw_uid
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


def postgres_database_url(port: int) -> str:
    """The URL of the database `dagster` that postgres_server makes on `port`."""
    return f"postgresql+psycopg2://superstore@127.0.0.1:{port}/dagster"


@contextlib.contextmanager
def postgres_server(binaries: Path, port: int | None = None) -> Iterator[str]:
    """A PostgreSQL cluster in a temporary folder on loopback (on `port`, else a free one);
    yields the URL of an empty database `dagster`. On exit the server is stopped and its
    folder removed, and the exit fails if the server is still running or listening."""
    prefix, uid = _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="superstore-postgres-"))
    data = folder / "data"
    if uid is not None:
        os.chown(folder, uid, -1)
    port = port or free_port()
    run = {"check": True, "capture_output": True, "text": True}
    initdb = [binaries / "initdb", "-D", data, "-U", "superstore", "--auth=trust", "-E", "UTF8"]
    subprocess.run([*prefix, *initdb], **run)
    settings = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    server = [*prefix, binaries / "pg_ctl", "-D", data, "-l", folder / "server.log"]
    subprocess.run([*server, "-w", "-t", "60", "-o", settings, "start"], **run)
    pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        import psycopg2

        admin = psycopg2.connect(f"postgresql://superstore@127.0.0.1:{port}/postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE dagster")
        admin.close()
        yield postgres_database_url(port)
    finally:
        stopped = subprocess.run([*server, "-w", "-t", "60", "-m", "fast", "stop"], check=False)
        if stopped.returncode != 0 and alive(pid):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        still_running, still_listening = alive(pid), listening(port)
        shutil.rmtree(folder, ignore_errors=True)
        assert not still_running, f"PostgreSQL (pid {pid}) is still running"
        assert not still_listening, f"something still listens on PostgreSQL's port {port}"


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port, in a thread of this process; yields its URL.
    On exit it is stopped, and the exit fails if the port still accepts connections."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        assert not listening(port), f"moto's S3 server still listens on port {port}"


@contextlib.contextmanager
def dask_cluster(env: dict[str, str]) -> Iterator[str]:
    """A distributed.LocalCluster of two single-threaded worker processes with `env` set,
    scheduler on loopback; yields its address. On exit the cluster is closed, and the exit
    fails if a worker process is still running."""
    import dask
    from distributed import Client, LocalCluster

    # Dask's statistical profiler samples every thread of a worker every 10 ms, for its
    # dashboard, which no test opens: off, in the workers (which read the setting from their
    # environment) and here.
    env = {**env, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
    dask.config.set({"distributed.worker.profile.enabled": False})
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False},
        env=env,
    )
    with Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        workers = list(client.run(os.getpid).values())
    address = cluster.scheduler_address
    port = int(address.rsplit(":", 1)[1])
    try:
        yield address
    finally:
        cluster.close(timeout=60)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        running = [pid for pid in workers if alive(pid)]
        for pid in running:
            os.kill(pid, signal.SIGKILL)
        assert not running, f"Dask worker processes {running} were still running"
        assert not listening(port), f"the Dask scheduler still listens on port {port}"


class Background(Future):
    """What `background` yields: a future of what the manager yields, and `leave`."""

    def __init__(self) -> None:
        super().__init__()
        self.leaving = threading.Event()

    def leave(self) -> None:
        """Start exiting the manager (in its thread) without waiting for it to end."""
        self.leaving.set()


@contextlib.contextmanager
def background(manager: contextlib.AbstractContextManager) -> Iterator[Background]:
    """Enter `manager` in a thread of its own, so that this one goes on meanwhile; yields a
    future of what it yields. On exit (or from `leave()` on) the manager is exited in its
    thread; the exit waits for that, and raises whatever entering or exiting it raised."""
    entered = Background()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with manager as value:
                entered.set_result(value)
                entered.leaving.wait()
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)
            if not entered.done():
                entered.set_exception(error)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield entered
    finally:
        entered.leave()
        thread.join()
        if failure:
            raise failure[0]
