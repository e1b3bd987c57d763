"""Where each side of a measurement runs: scratch folders, environments and the two commands.

The pipeline runs in a Dagster home and storage folder of its own, new or copied from one
prepared beforehand (untimed); the notebook runs from a new kernel with its outputs in a
folder of its own. Both sides run with SUPERSTORE_* settings cleared: the defaults a user gets
(figure previews off); a story may turn previews on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT
from bench.measure import Sample, measure

NOTEBOOK = ROOT / "notebooks" / "superstore.ipynb"


@dataclass
class Side:
    """One timed command, where it runs, and the scratch folder that is its own."""

    command: list[str]
    cwd: Path
    env: dict[str, str]
    folder: Path

    @property
    def home(self) -> Path:
        """The Dagster home a pipeline side records its runs in."""
        return Path(self.env["DAGSTER_HOME"])

    def timed(self, log: Path, **limits: float | None) -> Sample:
        """Run the command to its end, its output to `log` (bench/measure.py)."""
        return measure(self.command, self.cwd, self.env, log, **limits)


def in_turn(number: int, sides: list[str]) -> list[str]:
    """The order of the sides in round `number`: swapped every round, so that a busy machine
    slows both alike."""
    return sides if number % 2 == 0 else sides[::-1]


def base_env(**extra: str) -> dict[str, str]:
    """This environment without SUPERSTORE_* settings (the defaults), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERSTORE_")}
    env.pop("DAGSTER_HOME", None)
    env.update(extra)
    return env


def superstore(*args: str, dataset: Path | None = None) -> list[str]:
    """The superstore CLI's command line, as this interpreter runs it. `-m` puts the working
    folder first on sys.path, so a side run from a copy of the package imports that copy."""
    command = [sys.executable, "-m", "superstore_assets.cli", *args]
    return command + (["--dataset", str(dataset)] if dataset is not None else [])


class Workbench:
    """Scratch folders, datasets and prepared homes for one session of measurements."""

    def __init__(self, work: Path, original: Path, modified: Path):
        self.work, self.original, self.modified = work, original, modified
        self._prepared: dict[str, Path] = {}
        self._count = 0

    def fresh(self, label: str) -> Path:
        self._count += 1
        folder = self.work / f"{self._count:03d}-{label}"
        folder.mkdir(parents=True)
        return folder

    def workspace(self, folder: Path, dataset: Path) -> dict[str, str]:
        """The environment for a pipeline run with its home and storage in `folder`."""
        home = folder / "dagster_home"
        home.mkdir(exist_ok=True)
        settings = home / "dagster.yaml"
        if not settings.exists():
            shutil.copyfile(ROOT / "superstore_assets" / "dagster.yaml", settings)
        return base_env(
            DAGSTER_HOME=str(home),
            SUPERSTORE_STORAGE=str(folder / "storage"),
            SUPERSTORE_DATASET=str(dataset),
        )

    def pipeline(
        self, command: list[str], folder: Path, dataset: Path, cwd: Path = ROOT, **extra: str
    ) -> Side:
        """`command` run from `cwd` with its home and storage in `folder` (and `extra` settings)."""
        return Side(command, cwd, {**self.workspace(folder, dataset), **extra}, folder)

    def cold(self, label: str, dataset: Path, **extra: str) -> Side:
        """`superstore materialize --all` on `dataset` in a new, empty home and storage."""
        command = superstore("materialize", "--all", dataset=dataset)
        return self.pipeline(command, self.fresh(label), dataset, **extra)

    def untimed(self, command: list[str], folder: Path, dataset: Path) -> None:
        """A preparation step in `folder`'s home; its failure stops the session with its output."""
        done = subprocess.run(
            command, cwd=ROOT, env=self.workspace(folder, dataset), capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def prepared(self, name: str, datasets: list[Path]) -> Path:
        """A folder with a home and storage after `superstore materialize` on each dataset in
        turn; made once, untimed, and copied for each sample."""
        if name not in self._prepared:
            folder = self.fresh(f"prepared-{name}")
            for dataset in datasets:
                self.untimed(superstore("materialize", dataset=dataset), folder, dataset)
            self._prepared[name] = folder
        return self._prepared[name]

    def copy_of(self, prepared: Path, label: str) -> Path:
        folder = self.fresh(label)
        for part in ("dagster_home", "storage"):
            shutil.copytree(prepared / part, folder / part)
        return folder

    def notebook(self, dataset: Path, cwd: Path | None = None) -> Side:
        """The notebook run from a new kernel on `dataset` (bench/notebook.py), importing the
        package from `cwd` if given."""
        folder = self.fresh("notebook")
        command = [sys.executable, str(ROOT / "bench" / "notebook.py"), str(NOTEBOOK)]
        command += ["--timings", str(folder / "cells.json")]
        if cwd is not None:
            command += ["--cwd", str(cwd)]
        env = base_env(SUPERSTORE_DATASET=str(dataset), SUPERSTORE_NOTEBOOK_OUT=str(folder / "out"))
        return Side(command, ROOT, env, folder)


def cell_timings(notebook: Side) -> list[dict]:
    """Each code cell's seconds from a notebook side's run ([] if it wrote none)."""
    timings = notebook.folder / "cells.json"
    return json.loads(timings.read_text()) if timings.exists() else []
