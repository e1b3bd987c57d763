"""One round of a story: its pipeline and its notebook timed in turn, and what the pipeline did."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Sample
from bench.readings import run_breakdown, what_it_did
from bench.stories import setup
from bench.workbench import Workbench, cell_timings, in_turn


@dataclass
class Round:
    pipeline: Sample
    notebook: Sample | None
    pipeline_did: str = ""
    breakdown: dict = field(default_factory=dict)
    notebook_cells: list = field(default_factory=list)
    load: float = 0.0


def run_round(scenario: str, bench: Workbench, number: int) -> Round:
    """Round `number` of `scenario`, its sides prepared afresh; a side that fails stops it."""
    pipeline, notebook = setup(scenario, bench)
    load = os.getloadavg()[0]
    sides = {"pipeline": pipeline, "notebook": notebook}
    samples: dict[str, Sample | None] = {"notebook": None}
    for name in in_turn(number, [name for name, side in sides.items() if side is not None]):
        side = sides[name]
        log = pipeline.folder / f"{name}.log"
        samples[name] = side.timed(log)
        if samples[name].returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{scenario}: the {name} failed ({' '.join(side.command)}):\n{tail}")
    result = Round(samples["pipeline"], samples["notebook"], load=load)
    result.pipeline_did = what_it_did(Path(samples["pipeline"].log))
    if scenario.startswith("cold"):
        result.breakdown = run_breakdown(pipeline.home)
        counts = result.breakdown
        result.pipeline_did = f"computed {counts['computed']}, reused {counts['reused']}"
    if notebook is not None:
        result.notebook_cells = cell_timings(notebook)
    return result
