"""What the results say about where and when they were measured: the machine, the versions,
the commit, the datasets, the date."""

from __future__ import annotations

import hashlib
import os
import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import ROOT


def now() -> str:
    """The time of measuring, as the results print it."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict:
    cpu = platform.processor() or "?"
    memory = "?"
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", info).group(1).strip()
        total = re.search(r"MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text()).group(1)
        memory = f"{int(total) / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    from superstore_assets.engine.provenance import git_state

    git = git_state(ROOT)
    commit = git["git_commit"][:7]
    dirty = git["git_dirty"] == "true"
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("dagster", "pandas", "scikit-learn")},
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
    }


def describe_dataset(path: Path) -> dict:
    data = path.read_bytes()
    return {
        "path": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "lines": data.count(b"\n"),
    }
