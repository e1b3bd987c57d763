"""How Dagster's own one-shot commands end when they load the project: with Dagster's exit
status, every exit handler run once and in order, the output whole, and no teardown. And when
the cycle collector is off: while the modules load, never during a run."""

import gc
import subprocess
import sys

import pytest

from superstore_assets.engine.one_shot import imports_uncollected, one_shot_command
from superstore_assets_tests.conftest import ROOT


@pytest.mark.parametrize(
    "argv",
    [
        ["/venv/bin/dagster", "asset", "materialize", "-m", "superstore_assets", "--select", "*"],
        ["/venv/lib/python3.11/site-packages/dagster/__main__.py", "asset", "materialize"],
        ["/venv/bin/dagster", "job", "execute", "-m", "superstore_assets", "-j", "x"],
        ["dg", "launch", "--assets", "*"],
    ],
)
def test_dagsters_one_shot_commands_are_recognised(argv):
    assert one_shot_command(argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["/venv/bin/dagster", "dev", "-m", "superstore_assets"],
        ["/venv/bin/dagster-webserver", "-m", "superstore_assets"],
        ["/venv/bin/dagster", "api", "grpc", "--module-name", "superstore_assets"],
        ["/venv/bin/dagster", "api", "execute_run", "{}"],
        ["/venv/bin/dg", "list", "defs"],
        ["/venv/bin/pytest", "asset", "materialize"],
        ["-c"],
    ],
)
def test_other_processes_are_left_alone(argv):
    assert not one_shot_command(argv)


def _process(argv0: str, body: str) -> subprocess.CompletedProcess:
    """A new interpreter whose argv is Dagster's `argv0 asset materialize`: exit handlers
    registered before and after settle_dagster_command(), an object that says when it is torn
    down, then `body`."""
    script = (
        "import atexit, sys\n"
        f"sys.argv = [{argv0!r}, 'asset', 'materialize', '-m', 'superstore_assets']\n"
        "atexit.register(lambda: print('earlier handler', flush=False))\n"
        "class Loud:\n"
        "    def __del__(self):\n"
        "        print('torn down')\n"
        "kept = Loud()\n"
        "from superstore_assets.engine.one_shot import settle_dagster_command\n"
        "settle_dagster_command()\n"
        "atexit.register(lambda: print('later handler', flush=False))\n"
        "sys.stdout.write('x' * 100_000 + '\\n')  # buffered, not yet written to the pipe\n" + body
    )
    return _python(script)


def _python(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_exit_status_is_dagsters_and_every_handler_runs_once_in_order():
    done = _process("/venv/bin/dagster", "sys.exit(3)\n")
    assert done.returncode == 3
    # The handlers last in, first out, as ever; the module-level object is never torn down.
    assert done.stdout == "x" * 100_000 + "\nlater handler\nearlier handler\n"
    assert done.stderr == ""


def test_a_successful_command_exits_0_without_teardown():
    done = _process("/venv/bin/dagster", "sys.exit()\n")
    assert (done.returncode, done.stdout.splitlines()[1:]) == (
        0,
        ["later handler", "earlier handler"],
    )


def test_an_uncaught_exception_takes_the_interpreters_way_out():
    done = _process(
        "/venv/bin/dagster",
        "try:\n    sys.exit(0)\nexcept SystemExit:\n    pass\nraise RuntimeError('boom')\n",
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback") and "RuntimeError: boom" in done.stderr
    assert done.stdout.splitlines()[1:3] == ["later handler", "earlier handler"]


def test_elsewhere_the_interpreter_tears_down_as_ever():
    done = _process("/venv/bin/dagster-webserver", "sys.exit(3)\n")
    assert done.returncode == 3
    assert done.stdout.splitlines()[1:] == ["later handler", "earlier handler", "torn down"]


@pytest.mark.parametrize("was_on", [True, False])
def test_imports_run_with_the_collector_off_and_leave_it_as_it_was(was_on):
    before = gc.isenabled()
    try:
        (gc.enable if was_on else gc.disable)()
        with imports_uncollected():
            assert not gc.isenabled()
        assert gc.isenabled() is was_on
    finally:
        (gc.enable if before else gc.disable)()


@pytest.mark.slow  # a Python that imports the whole project
def test_loading_the_definitions_takes_no_collector_passes_and_leaves_the_collector_on():
    # Without imports_uncollected: about 500 passes, 4 of them over every object.
    script = (
        "import gc\n"
        "import superstore_assets.engine.one_shot\n"
        "passes = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and passes.append(1))\n"
        "superstore_assets.defs\n"
        "print(len(passes), gc.isenabled())\n"
    )
    done = _python(script)
    passes, enabled = done.stdout.split()
    assert int(passes) <= 2 and enabled == "True", done.stdout + done.stderr


def test_the_superstore_command_turns_the_collector_on_once_its_heap_is_frozen():
    # main() replaced by one that reports the collector's state where a run freezes the heap.
    script = (
        "import gc\n"
        "import superstore_assets.cli as cli\n"
        "from superstore_assets.engine.one_shot import freeze_heap\n"
        "def main(argv=None):\n"
        "    print('before', gc.isenabled())\n"
        "    freeze_heap()\n"
        "    print('run', gc.isenabled(), gc.get_freeze_count() > 0)\n"
        "    return 0\n"
        "cli.main = main\n"
        "cli.run()\n"
    )
    done = _python(script)
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        ["before False", "run True True"],
    ), done.stderr
