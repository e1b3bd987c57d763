"""The console logger: Dagster's, with a failed step in one line (engine/failures.py).

At DEBUG it is Dagster's colored console logger as it is. Above DEBUG a failed step prints one
line with its sentence, and its stack trace stays in the run's record: the UI's run page,
`superstore history`, and `--log-level DEBUG`. Runs of the `superstore_pipeline` job (from
`superstore materialize`, the UI and the sensor) start it as the job's `console` logger, at
INFO. Runs whose config names no logger (Dagster's implicit asset job: `dagster asset
materialize`, `dg launch`, the UI's "Materialize") get it in place of Dagster's default console
logger (definitions.py), at INFO, or at the level of the instance's `python_logs:
python_log_level`.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import sys

from dagster import Field, InitLoggerContext, colored_console_logger, logger

from superstore_assets.engine.failures import OneLineFailures


@logger(
    {
        "log_level": Field(str, is_required=False, default_value="INFO"),
        "name": Field(str, is_required=False, default_value="dagster"),
    },
    description="Dagster's colored console logger; above DEBUG, a failed step in one line.",
)
def console_logger(init_context: InitLoggerContext) -> logging.Logger:
    shown = logging.getLevelName(init_context.logger_config["log_level"].upper())
    console = colored_console_logger.logger_fn(init_context)
    terminal = _terminal()
    for handler in list(console.handlers) if terminal is not None else []:
        if isinstance(handler, logging.StreamHandler):  # coloredlogs': sys.stderr, read late
            direct = logging.StreamHandler(terminal)
            direct.setFormatter(handler.formatter)
            direct.setLevel(handler.level)
            console.removeHandler(handler)
            console.addHandler(direct)
    if isinstance(shown, int) and shown > logging.DEBUG:
        # Every record reaches the filter (it learns what the failed checks found from their
        # DEBUG events); the handlers still show only what the level asks for.
        console.setLevel(logging.DEBUG)
        for handler in console.handlers:
            handler.setLevel(shown)
        console.addFilter(OneLineFailures())
    return console


@functools.cache
def _terminal() -> io.TextIOWrapper | None:
    """This process's standard error as it is when the first run's loggers start (see
    around_capture), open as long as the process, as standard error is."""
    return around_capture(sys.stderr)


def around_capture(stream) -> io.TextIOWrapper | None:
    """A stream to where `stream` (standard output or error) goes now: a copy of its file
    descriptor. Dagster captures a run's output while its steps run by sending the descriptor
    to a file and copying the file back to the terminal with another process, which it stops
    when the steps end: a line written just before could be lost, and one written during the
    steps reaches the terminal up to a second late. What is written to the copy goes around
    that capture. None where the stream has no descriptor (a test's capture of it)."""
    try:
        descriptor = os.dup(stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return open(descriptor, "w", buffering=1, encoding=stream.encoding, errors="backslashreplace")
