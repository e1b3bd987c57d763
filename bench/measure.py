"""One timed process: wall seconds and peak memory of it and every process it starts.

Wall time runs from the start of the process to its exit. Memory is measured two ways:
- `peak_mb`: the largest sum of resident memory over the process and its descendants, sampled
  every `interval` seconds (psutil). A notebook is two processes at once (nbclient and the
  kernel), so this is the figure that compares.
- `max_process_mb`: the largest resident memory of any one process of the tree, exact
  (ru_maxrss from wait4, which covers the descendants it reaped).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass
class Sample:
    seconds: float
    peak_mb: float
    max_process_mb: float
    returncode: int
    log: str
    timed_out: bool = False
    over_memory: bool = False  # stopped when the tree passed `max_mb`

    def to_json(self) -> dict:
        return asdict(self)


class _TreePeak(threading.Thread):
    """Samples the resident memory of a process tree until stopped; keeps the largest sum."""

    def __init__(
        self, pid: int, interval: float, timeout: float | None, max_bytes: float | None = None
    ):
        super().__init__(daemon=True)
        self.pid, self.interval, self.timeout, self.max_bytes = pid, interval, timeout, max_bytes
        self.peak = 0
        self.timed_out = self.over_memory = False
        self._done = threading.Event()

    def run(self) -> None:
        started = time.perf_counter()
        while not self._done.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            if self.timeout is not None and time.perf_counter() - started > self.timeout:
                self.timed_out = True
                _kill_tree(self.pid)
                return
            if self.max_bytes is not None and self.peak > self.max_bytes:
                self.over_memory = True
                _kill_tree(self.pid)
                return
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def _tree(pid: int) -> list[psutil.Process]:
    """The process and every process it started, its descendants first ([] once it is gone).
    Followed by parentage, not by process group: a notebook's kernel has a session of its own."""
    try:
        root = psutil.Process(pid)
        return [*root.children(recursive=True), root]
    except psutil.Error:
        return []


def _tree_rss(pid: int) -> int:
    total = 0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):  # ended between the listing and the read
            total += process.memory_info().rss
    return total


def _kill_tree(pid: int) -> None:
    """End the process and every process it started, the descendants first."""
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            process.kill()


def measure(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log: Path,
    interval: float = 0.1,
    timeout: float | None = None,
    max_mb: float | None = None,
) -> Sample:
    """Run `command` to its end (or, after `timeout` seconds or past `max_mb` of memory, end it
    and every process it started), its output to `log`; time it and its memory."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        max_bytes = None if max_mb is None else max_mb * 1e6
        sampler = _TreePeak(process.pid, interval, timeout, max_bytes)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        peak = sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    max_process = usage.ru_maxrss * 1024  # kilobytes on Linux
    return Sample(
        seconds=round(seconds, 3),
        peak_mb=round(max(peak, max_process) / 1e6, 1),
        max_process_mb=round(max_process / 1e6, 1),
        returncode=process.returncode,
        log=str(log),
        timed_out=sampler.timed_out,
        over_memory=sampler.over_memory,
    )
