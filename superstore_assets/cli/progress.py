"""What `superstore materialize` shows while its run goes: the steps running, the steps done of
the steps planned, how many computed and restored, the time gone, and an estimate of the time
left.

Steps run in forked children (engine/executor.py) or on Dask workers (the team profile), where
no logger or listener of this process sees them; every step writes its events to the run's
record, so a thread of this process follows the run there, reading the run's new step and
materialization records a few times a second. On a terminal: a bar (rich), with a line above it
for each step that computed or failed. Elsewhere (CI, a pipe, a test): those lines alone. A
step that restored its output prints nothing of its own; it is counted on the next line and in
the summary that `superstore materialize` prints after the run.

The estimate of the time left is the sum, over the steps not finished, of the seconds each took
to compute the last time it computed (engine/history.py), less the time a running step has had
so far; a step that restores takes milliseconds and counts as nothing once it has. Where a step
never computed before, what is known is a lower bound ("at least"), and with nothing known the
time left is unknown. Two steps at once (the models) make it an overestimate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# How often the run's record is read.
POLL_SECONDS = 0.25


def shown_at(log_level: str) -> bool:
    """Whether the progress display is shown: above DEBUG. Dagster logs a run's events (step
    started, output stored, step succeeded…) at DEBUG, so at DEBUG its log of every step is the
    display; at INFO and WARNING (the default) the console has only the assets' own messages
    and a failed step's line."""
    level = logging.getLevelName(log_level.upper())
    return not isinstance(level, int) or level > logging.DEBUG


@dataclass
class Tally:
    """Where a run is: what was planned, what runs, what finished and how."""

    planned: Mapping[str, float | None]  # step -> seconds its last computing took (None: never)
    started: float  # when the run began, in seconds since the epoch
    running: dict[str, float] = field(default_factory=dict)  # step -> when it started
    computed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    took: dict[str, float] = field(default_factory=dict)  # step -> seconds, in this run
    restoring: set[str] = field(default_factory=set)  # materialized by a restore, not finished

    @property
    def finished(self) -> set[str]:
        return {*self.computed, *self.restored, *self.failed}

    @property
    def done(self) -> int:
        return len(self.computed) + len(self.restored) + len(self.failed)

    def start(self, step: str, at: float) -> None:
        self.running[step] = at

    def materialized(self, step: str, seconds: float | None, restored: bool) -> None:
        if restored:
            self.restoring.add(step)
        if seconds is not None:
            self.took[step] = seconds

    def finish(self, step: str, at: float, failed: bool = False) -> None:
        began = self.running.pop(step, at)
        if failed:
            self.failed.append(step)
            self.took[step] = at - began
        elif step in self.restoring:
            self.restored.append(step)
        else:
            self.computed.append(step)
            self.took.setdefault(step, at - began)


def time_left(tally: Tally, now: float) -> tuple[float, bool]:
    """Seconds left by the earlier computing times of the steps not finished (a running one's
    time so far taken off), and whether every one of them had an earlier time."""
    seconds, complete = 0.0, True
    for step, earlier in tally.planned.items():
        if step in tally.finished:
            continue
        if earlier is None:
            complete = False
            continue
        seconds += max(0.0, earlier - (now - tally.running.get(step, now)))
    return seconds, complete


def duration(seconds: float) -> str:
    """`0.2 s` under ten seconds, `14 s` under a minute, `2 min 05 s` beyond."""
    if round(seconds, 1) < 10:
        return f"{seconds:.1f} s"
    if round(seconds) < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def left_words(tally: Tally, now: float) -> str:
    """`about 7 s left`; `at least 7 s left` where a step was never timed; `time left
    unknown` where none was; "" when every planned step has finished."""
    if tally.done >= len(tally.planned):
        return ""
    seconds, complete = time_left(tally, now)
    if all(tally.planned[s] is None for s in tally.planned if s not in tally.finished):
        return "time left unknown"
    shown = f"{max(1, round(seconds))} s" if round(seconds) < 60 else duration(seconds)
    return f"{'about' if complete else 'at least'} {shown} left"


def status(tally: Tally, now: float) -> str:
    """`5 done (4 computed, 1 restored) · 3.1 s elapsed · about 7 s left`."""
    counts = f"{len(tally.computed)} computed, {len(tally.restored)} restored"
    if tally.failed:
        counts += f", {len(tally.failed)} failed"
    parts = [f"{tally.done} done ({counts})", f"{duration(now - tally.started)} elapsed"]
    left = left_words(tally, now)
    return " · ".join([*parts, left] if left else parts)


def step_line(tally: Tally, step: str, now: float) -> str:
    """`[ 5/24] orders_clean computed in 0.2 s · ` and the status, as the step finished."""
    total = len(tally.planned)
    verb = "failed after" if step in tally.failed else "computed in"
    seconds = tally.took.get(step)
    what = f"{step} {verb} {duration(seconds)}" if seconds is not None else f"{step} {verb} ?"
    return f"[{tally.done:>{len(str(total))}}/{total}] {what} · {status(tally, now)}"


# Held while this process reads the record: a fork waits until the read is done, so that no
# child starts with a lock or connection that this thread held mid-read (engine/executor.py
# forks the model steps from the run's thread).
_READING = threading.Lock()
_FORKS_WAIT = False


def _let_forks_wait() -> None:
    global _FORKS_WAIT
    if not _FORKS_WAIT and hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_READING.acquire,
            after_in_parent=_READING.release,
            after_in_child=_READING.release,
        )
        _FORKS_WAIT = True


@contextlib.contextmanager
def following(instance, keys: list, tag: tuple[str, str]) -> Iterator[None]:
    """Show the progress of the run that starts inside this block, found by its run tag
    `tag` (name, value); its final state is drawn before the block is left."""
    follower = _Follower(instance, keys, tag)
    follower.start()
    try:
        yield
    finally:
        follower.stop()


class _Follower(threading.Thread):
    """Reads the run's new records a few times a second and draws them."""

    def __init__(self, instance, keys: list, tag: tuple[str, str]):
        super().__init__(name="superstore-progress", daemon=True)
        from dagster import RunsFilter

        from superstore_assets.assets.loggers import around_capture

        _let_forks_wait()
        self.instance = instance
        self.keys = keys
        self.runs = RunsFilter(tags=dict([tag]))
        with _READING:  # the run is not created yet: any run found with this tag now is older
            self.older = {run.run_id for run in instance.get_runs(self.runs)}
        self.run_id: str | None = None
        self.cursor: str | None = None
        self.tally = Tally({key.to_python_identifier(): None for key in keys}, time.time())
        self.ended = threading.Event()
        sys.stdout.flush()  # what was printed before the run comes before what is drawn here
        self.out = around_capture(sys.stdout) or sys.stdout
        self.bar = _Bar(self.out, len(keys)) if self.out.isatty() else None

    def run(self) -> None:
        self._read_earlier_times()
        while not self.ended.wait(POLL_SECONDS):
            self._step()
        self._step(final=True)

    def stop(self) -> None:
        self.ended.set()
        self.join()
        self.out.flush()
        if self.out is not sys.stdout:
            self.out.close()

    def _read_earlier_times(self) -> None:
        from superstore_assets.engine.history import earlier_compute_seconds

        try:
            with _READING:
                earlier = earlier_compute_seconds(self.instance, self.keys)
        except Exception:  # no estimate ("time left unknown"), and the run goes on
            return
        self.tally.planned = {key.to_python_identifier(): earlier.get(key) for key in self.keys}

    def _step(self, final: bool = False) -> None:
        try:
            with _READING:
                records = self._new_records()
        except Exception:  # a display that cannot read this time tries again; the run goes on
            records = []
        lines = self._apply(records)
        if self.bar is not None:
            self.bar.draw(self.tally, time.time(), lines, final)
        else:
            self.out.writelines(line + "\n" for line in lines)

    def _new_records(self) -> list:
        from dagster import DagsterEventType

        if self.run_id is None:
            found = self.instance.get_runs(self.runs, limit=1)
            if not found or found[0].run_id in self.older:
                return []
            self.run_id = found[0].run_id
        kinds = {
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.ASSET_MATERIALIZATION,
        }
        records, more = [], True
        while more:
            page = self.instance.get_records_for_run(self.run_id, self.cursor, of_type=kinds)
            records.extend(page.records)
            self.cursor, more = page.cursor, page.has_more
        return records

    def _apply(self, records: list) -> list[str]:
        """The records applied to the tally, in order; the line of each step that computed or
        failed, as of the moment it finished."""
        from dagster import DagsterEventType

        from superstore_assets.engine.freshness import COMPUTE_SECONDS, REUSED_FROM_RUN

        lines = []
        for record in records:
            entry = record.event_log_entry
            event = entry.dagster_event
            step, kind = event.step_key, event.event_type
            if kind == DagsterEventType.STEP_START:
                self.tally.start(step, entry.timestamp)
            elif kind == DagsterEventType.ASSET_MATERIALIZATION:
                metadata = entry.asset_materialization.metadata
                seconds = metadata.get(COMPUTE_SECONDS)
                self.tally.materialized(
                    step, seconds.value if seconds else None, REUSED_FROM_RUN in metadata
                )
            else:
                failed = kind == DagsterEventType.STEP_FAILURE
                self.tally.finish(step, entry.timestamp, failed=failed)
                if failed or step in self.tally.computed:
                    lines.append(step_line(self.tally, step, entry.timestamp))
        return lines


class _Bar:
    """rich's progress bar on the terminal: the steps running, done of planned, the status."""

    def __init__(self, out, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            console=Console(file=out, highlight=False),
            auto_refresh=False,  # drawn by the follower's thread: no thread of rich's own
            redirect_stdout=False,  # Dagster captures the run's output through the descriptors
            redirect_stderr=False,
        )
        self.task = self.progress.add_task("starting", total=total, status="")
        self.progress.start()

    def draw(self, tally: Tally, now: float, lines: list[str], final: bool) -> None:
        """The bar as of `now`, with `lines` printed above it; left on the screen if final."""
        if tally.running:
            doing = ", ".join(tally.running)
        elif final:
            doing = "failed" if tally.failed else "done"
        else:
            doing = "between steps" if tally.done else "starting"
        self.progress.update(
            self.task, completed=tally.done, description=doing, status=status(tally, now)
        )
        for line in lines:  # each print draws the bar again below it
            self.progress.console.print(line, markup=False, highlight=False)
        self.progress.refresh()
        if final:
            self.progress.stop()
