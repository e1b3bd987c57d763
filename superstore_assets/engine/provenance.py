"""What a run is tagged with: the dataset it read and the code it ran."""

from __future__ import annotations

import subprocess
from pathlib import Path

TAG_PREFIX = "superstore/"
# The parameters a run overrode (JSON, section.key: value), and the experiment it belongs to.
PARAMS_TAG = f"{TAG_PREFIX}params"
EXPERIMENT_TAG = f"{TAG_PREFIX}experiment"


def git_state(root: Path) -> dict[str, str]:
    """The checkout's commit, and whether tracked files differ from it; "unknown" outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": commit, "git_dirty": "true" if changes.strip() else "false"}


def run_tags(path: str, sha256: str, size: int, rows: int, git: dict[str, str]) -> dict[str, str]:
    """Run tags for the Runs page: filter by `superstore/dataset_sha256`, for example."""
    facts = {
        "dataset": Path(path).name,
        "dataset_sha256": sha256,
        "dataset_bytes": str(size),
        "dataset_rows": str(rows),
        **git,
    }
    return {TAG_PREFIX + key: value for key, value in facts.items()}
