"""A failed step in one sentence, and a console that prints that sentence instead of the trace.

Dagster logs a failed step with its whole stack trace, then the run's failure with the trace
again. On the console, above DEBUG, `OneLineFailures` turns the first into one line that names
the step and says what went wrong (the description of a refusal, the check that stopped it, or
the error's first line), drops the trace from the second, and leaves the "Not executing" line of
every step below to the run's record, where the traces also stay (the UI's run page,
`superstore history`, and `--log-level DEBUG` on the console).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from dagster import DagsterEventType

from superstore_assets.engine.dagster_internals import record_event, record_message

# The step failure a check made: "1 blocking asset check failed with ERROR severity: …".
_CHECKS_FAILED = "DagsterAssetCheckFailedError"
# Errors that only wrap the one that says what happened.
_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}
# What a refusal of a dagster-pandas type starts its frame dump with.
_OFFENDING = re.compile(r"\s*The offending .*", re.DOTALL)


def one_line(text: str) -> str:
    """Lines joined into one, blank ones dropped."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _without_class(message: str, class_name: str) -> str:
    """`module.Error: what` → `what`."""
    head, _, rest = message.partition(": ")
    return rest if head.split(".")[-1] == class_name and rest else message


def sentence(failure: Any, check_descriptions: Mapping[str, str] | None = None) -> str:
    """The one sentence a failed step is reported by, from Dagster's StepFailureData: a
    refusal's own description; the blocking checks that stopped it, with what each found; a
    type the output did not pass, without the rows; else the error's class and first line."""
    user = getattr(failure, "user_failure_data", None)
    if user is not None and user.description:
        return one_line(user.description)
    error = failure.error
    if error is None:
        return "failed without saying why (see the run's record)"
    while error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    message = _without_class(error.message.strip(), error.cls_name)
    if error.cls_name == _CHECKS_FAILED:
        names = re.findall(r"^\S+: (\S+)$", message, re.MULTILINE)
        found = [f"{n}: {(check_descriptions or {}).get(n, 'failed')}" for n in names]
        return "stopped by its blocking check " + "; ".join(found or [one_line(message)])
    if error.cls_name == "DagsterTypeCheckDidNotPass":
        return one_line(_OFFENDING.sub("", message))
    if error.cls_name == "Failure":
        return one_line(message)
    return f"{error.cls_name}: {message.splitlines()[0] if message else ''}".strip()


class OneLineFailures(logging.Filter):
    """On a console logger that shows less than DEBUG: a step failure in one line, a run
    failure without its trace, and no "Not executing" line for the steps below a failure."""

    def __init__(self) -> None:
        super().__init__()
        self.check_descriptions: dict[str, str] = {}  # what each failed check found, by name

    def filter(self, record: logging.LogRecord) -> bool:
        event = record_event(record)
        message = record_message(record) or ""
        if event is None:
            return not (message.startswith("Dependencies for step") and "Not executing" in message)
        kind = event.event_type
        if kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.description:
                self.check_descriptions[evaluation.check_name] = evaluation.description
        elif kind == DagsterEventType.STEP_FAILURE:
            told = sentence(event.event_specific_data, self.check_descriptions)
            record.msg = _head(record.msg, message) + told
        elif kind == DagsterEventType.RUN_FAILURE:
            record.msg = _head(record.msg, message) + message
        return True


def _head(formatted: str, message: str) -> str:
    """The record's prefix (job, run, pid, step, event) without its message and trace."""
    first = str(formatted).split("\n\n", 1)[0]
    return first[: len(first) - len(message)] if message and first.endswith(message) else ""
