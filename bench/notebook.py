"""Execute a notebook top to bottom in a fresh kernel, as `jupyter nbconvert --execute` would.

    python bench/notebook.py notebooks/superstore.ipynb [--cwd DIR] [--timings FILE.json]

The kernel inherits this process's environment (SUPERSTORE_DATASET, SUPERSTORE_NOTEBOOK_OUT)
and runs in the notebook's folder unless --cwd says otherwise. A cell that raises stops the
run with the error and exit status 1. --timings writes each code cell's seconds, as nbclient
recorded them, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(notebook: Path, cwd: Path | None = None, timeout: int = 3600) -> nbformat.NotebookNode:
    """Run every cell in a new kernel started in `cwd` (the notebook's folder by default)."""
    nb = nbformat.read(notebook, as_version=4)
    folder = cwd or notebook.resolve().parent
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return nb


def cell_seconds(nb: nbformat.NotebookNode) -> list[dict]:
    """Each executed code cell's first line and wall seconds, from nbclient's timestamps."""
    found = []
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell.cell_type != "code" or not (start and end):
            continue
        seconds = (_time(end) - _time(start)).total_seconds()
        found.append({"cell": cell.source.splitlines()[0], "seconds": round(seconds, 3)})
    return found


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--cwd", type=Path, help="the kernel's working folder")
    parser.add_argument("--timings", type=Path, help="write each cell's seconds here (JSON)")
    args = parser.parse_args(argv)
    try:
        nb = execute(args.notebook, args.cwd)
    except CellExecutionError as error:
        print(f"{args.notebook}: a cell failed:\n{error}", file=sys.stderr)
        return 1
    if args.timings:
        args.timings.write_text(json.dumps(cell_seconds(nb), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
