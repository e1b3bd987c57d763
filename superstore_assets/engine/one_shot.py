"""A process that runs one command, one run, and ends: three things it can skip.

- **The cycle collector's passes while the modules load.** Importing Dagster, pandas,
  scikit-learn and plotly makes about half a million objects that live until the end, and the
  collector walked them about 500 times while they were made: 0.5-0.6 s of the 2.3 s that
  `superstore materialize` took to import its modules here. The `superstore` process turns the
  collector off when it starts (`collector_off`) and on again once its heap is frozen, before a
  run; a command that runs nothing ends before the collector would have found much to free.
  Loading the definitions (`superstore_assets.defs`, as `dagster … -m superstore_assets` does)
  turns it off for the imports only, in any process (`imports_uncollected`).
- **The cycle collector's walks over what lives until the end.** Once the modules, the
  definitions and the instance are loaded, they live as long as the process: frozen
  (`gc.freeze`), they are no longer walked by every pass of the collector during the run. The
  passes took 0.5 s of a cold run on the real file before, 0.24 s after.
- **The interpreter's teardown.** Once the command has finished and its output is flushed,
  freeing the objects of the 2,700 modules that Dagster, pandas and scikit-learn import took
  0.7 to 1 s on this machine. The process ends instead with its exit handlers run (logging's
  flush, weakref finalizers, multiprocessing's clean-up), its output flushed, and os._exit.
  The run's record and outputs are written before the command returns.

`superstore` does all three (cli/__init__.py, cli/materialize.py). Dagster's own one-shot
commands (`dagster asset materialize`, `dagster job execute`, `dg launch`) do the last two when
they load the project, with the exit status Dagster passes to sys.exit: see
settle_dagster_command. Any other process that imports the project (the tests, the web server,
a notebook) keeps the interpreter's own ways, but for the collector being off while the
definitions load.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from pathlib import Path

# Dagster's command words of a process that ends when its run ends. (The run worker that the
# UI's runs start, `dagster api execute_run`, is left out: it runs inside `dagster dev`'s
# process group, whose shutdown a test watches, and a team-profile suite run once saw that group
# outlive its SIGTERM with it in; not reproduced alone, so not worth the risk for 0.7 s a run.)
ONE_SHOT = {
    "dagster": (("asset", "materialize"), ("job", "execute")),
    "dg": (("launch",),),
}
_settled = False


def collector_off() -> None:
    """The start of a `superstore` process: no collector passes until freeze_heap."""
    gc.disable()


@contextlib.contextmanager
def imports_uncollected():
    """Modules imported inside, with the collector as it was before restored after."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def freeze_heap() -> None:
    """What is alive now lives as long as the process: keep the cycle collector off it, and
    let it run on what is made from now on."""
    gc.freeze()
    gc.enable()


def exit_now(code: int) -> None:
    """Run the exit handlers, flush the output and end the process with `code`, unless another
    thread is still at work (then return, and let the interpreter wait for it)."""
    if threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written anyway
        pass
    os._exit(code)


def one_shot_command(argv: list[str]) -> bool:
    """Whether `argv` is one of Dagster's commands that end with their run (see ONE_SHOT)."""
    if not argv:
        return False
    program = Path(argv[0])
    name = "dagster" if program.parts[-2:] == ("dagster", "__main__.py") else program.name
    words = [word for word in argv[1:] if not word.startswith("-")]
    return any(tuple(words[: len(command)]) == command for command in ONE_SHOT.get(name, ()))


def settle_dagster_command() -> None:
    """In a process that is one of Dagster's one-shot commands, loading the project's
    definitions: freeze the heap, and end the process as `superstore` ends, with the exit
    status Dagster passes to sys.exit.

    sys.exit is wrapped to note the status and to register, at that moment, the newest exit
    handler: run first, it runs every other handler once, in their order, then ends the
    process. An uncaught exception (its trace printed), a status that is not a number, a signal
    or a thread still running take the interpreter's own way out."""
    global _settled
    if _settled or not one_shot_command(sys.argv):
        return
    _settled = True
    system_exit = sys.exit
    requested: list[object] = []

    def at_exit() -> None:
        (status,) = requested
        if getattr(sys, "last_value", None) is not None or threading.active_count() > 1:
            return
        if status is None:
            status = 0
        if isinstance(status, int):
            atexit.unregister(at_exit)
            exit_now(int(status))  # the other handlers, then os._exit

    def recording_exit(status: object = None) -> None:
        if threading.current_thread() is threading.main_thread():
            requested[:] = [status]
            atexit.unregister(at_exit)
            atexit.register(at_exit)  # the newest, so the first to run
        system_exit(status)

    sys.exit = recording_exit
    freeze_heap()
