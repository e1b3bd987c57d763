"""`superstore` in a process of its own, without paying for its imports each time.

A `superstore` process spends most of a short command importing Dagster, pandas, scikit-learn
and plotly: about 2.5 s of CPU here (several under the suite's load), against milliseconds for
`superstore status` itself. The suite starts about a hundred of them. So each test process keeps
one launcher: a Python that has imported the package and what its commands import, and does
nothing else. A command is a child forked from it, which takes the test's working folder,
environment and arguments, writes to files of its own for stdout and stderr, and runs what the
`superstore` script runs (`superstore_assets.cli.run`), exit status and all. The test gets a
`subprocess.CompletedProcess`, as from `subprocess.run`.

What a launched command does not show is its own start: the imports, and what the package does
as it is imported. The tests of those start `superstore` itself (cli/test_cli.py's missing
file, cli/test_cli_exit.py, scenarios/test_make.py, engine/test_manifest.py,
engine/test_one_shot.py, and every command run from an edited copy of the package, asserted not
to import Dagster, or killed). Where fork() is missing, `run` starts the command itself.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# What the launcher imports before it forks: what the commands import, and the libraries that
# the steps fitting, evaluating and storing the models import when they first run (the
# definitions and scikit-learn as the multiprocess executor's forkserver preloads them).
PRELOADED = (
    "superstore_assets.cli",
    "superstore_assets.assets.forkserver",
    "plotly.express",
    "skops.io",
)

# The launcher: import, listen, and for each request fork a child that forks the command and
# reports its exit status, so that commands run side by side and each status is its own.
LAUNCHER = r"""
import importlib, json, os, signal, socket, sys, threading, atexit
for name in sys.argv[2].split(","):
    importlib.import_module(name)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(64)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the reporters are reaped by the kernel
parent = os.getppid()
print("ready", flush=True)
server.settimeout(1.0)


def command(request):
    # In the command's child: the test's folder, environment, arguments and output files.
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    sys.argv = [request["program"], *request["args"]]
    code = 0
    try:
        from superstore_assets.cli import run

        run()
    except SystemExit as done:
        if done.code is None:
            code = 0
        elif isinstance(done.code, int):
            code = done.code
        else:
            print(done.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    threading._shutdown()  # as the interpreter does at exit: wait for the other threads
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def report(connection):
    # In the reporter's child: read the request, fork the command, report its pid and status.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    request = json.loads(connection.makefile("r").readline())
    pid = os.fork()
    if pid == 0:
        connection.close()
        command(request)
    connection.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)


while True:
    try:
        connection, _ = server.accept()
    except socket.timeout:
        if os.getppid() != parent:  # the test process has ended
            break
        continue
    if os.fork() == 0:
        server.close()
        connection.settimeout(None)
        report(connection)
    connection.close()
"""

_launcher: tuple[subprocess.Popen, Path] | None = None
_ready = False
_starting = threading.Lock()  # commands may be run from several threads at once


def start() -> None:
    """Start this test process's launcher, if it is not started yet, and return at once: its
    imports take several seconds under the suite's load, which the first command then waits
    for only as long as they have left."""
    global _launcher
    if _launcher is not None or not hasattr(os, "fork"):
        return
    folder = Path(tempfile.mkdtemp(prefix="superstore-launcher-"))
    # Its environment is the test process's: each command replaces it with the test's.
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(folder / "socket"), ",".join(PRELOADED)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        cwd=folder,
    )

    def stop() -> None:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    _launcher = process, folder / "socket"


def ready() -> tuple[subprocess.Popen, Path] | None:
    """This test process's launcher, started if need be, once it has imported what it
    preloads; None where there is no fork()."""
    global _ready
    with _starting:
        start()
        if _launcher is not None and not _ready:
            process = _launcher[0]
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the launcher did not start (exit {process.wait()})")
            _ready = True
    return _launcher


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess:
    """`superstore ARGS` in `cwd` with environment `env`: its exit status and output, as
    `subprocess.run(..., capture_output=True, text=True)` gives them (not checked)."""
    program = str(Path(sys.executable).with_name("superstore"))
    launcher = ready()
    if launcher is None:
        return subprocess.run(
            [program, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    with tempfile.TemporaryDirectory(prefix="superstore-command-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        request = {
            "program": program,
            "args": list(args),
            "cwd": str(cwd),
            "env": dict(env),
            "stdout": str(out),
            "stderr": str(err),
        }
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(launcher[1]))
            connection.sendall((json.dumps(request) + "\n").encode())
            replies = connection.makefile("r")
            pid = int(replies.readline())
            try:
                code = int(replies.readline())
            except TimeoutError:
                os.kill(pid, 9)
                raise subprocess.TimeoutExpired([program, *args], timeout) from None
        return subprocess.CompletedProcess([program, *args], code, out.read_text(), err.read_text())
