"""How the `superstore` command's process ends: quickly, and with nothing lost."""

import subprocess
import sys

from superstore_assets_tests.conftest import ROOT


def _command(body: str) -> subprocess.CompletedProcess:
    """`superstore_assets.cli.run()` in a new interpreter, with main() replaced by `body`."""
    script = (
        "import atexit, sys, threading, time\n"
        "import superstore_assets.cli as cli\n"
        "def main():\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
        + "cli.main = main\n"
        "cli.run()\n"
        "print('run() returned')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_exit_status_is_main_s_and_output_and_exit_handlers_are_not_lost():
    done = _command(
        "atexit.register(lambda: print('exit handler ran', flush=False))\n"
        "sys.stdout.write('x' * 100_000 + '\\n')  # buffered, not yet written to the pipe\n"
        "print('to stderr', file=sys.stderr)\n"
        "return 3"
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 100_000 + "\nexit handler ran\n"
    assert done.stderr == "to stderr\n"


def test_a_thread_still_running_is_waited_for():
    done = _command(
        "def late():\n"
        "    time.sleep(0.5)\n"
        "    print('thread finished')\n"
        "threading.Thread(target=late).start()\n"
        "return 0"
    )
    assert done.returncode == 0
    assert done.stdout == "thread finished\n"


def test_the_command_freezes_the_heap_only_in_its_own_process():
    import superstore_assets.cli as cli

    assert cli.common.ONE_COMMAND_PROCESS is False  # imported, or main() called: a caller's heap
    done = _command("print(cli.common.ONE_COMMAND_PROCESS)\nreturn 0")
    assert done.stdout == "True\n"
