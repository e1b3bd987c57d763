"""The measured rounds of each story summed up: medians and ranges of both sides, the ratio
against the story's target, and where the time went."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from bench.measure import Sample
from bench.provenance import describe_dataset, now
from bench.readings import median_of
from bench.rounds import Round
from bench.stories import SCENARIOS
from bench.workbench import Workbench


def summarize(rounds: list[Round], pick: Callable[[Round], Sample | None]) -> dict | None:
    if pick(rounds[0]) is None:
        return None
    seconds = [pick(r).seconds for r in rounds]
    return {
        "median": round(statistics.median(seconds), 2),
        "min": min(seconds),
        "max": max(seconds),
        "peak_mb": round(statistics.median(pick(r).peak_mb for r in rounds)),
        "max_process_mb": round(statistics.median(pick(r).max_process_mb for r in rounds)),
    }


def median_cells(rounds: list[Round]) -> list[dict]:
    """The notebook's code cells with their median seconds over the rounds."""
    if not rounds or not rounds[0].notebook_cells:
        return []
    cells = []
    for index, cell in enumerate(rounds[0].notebook_cells):
        seconds = [r.notebook_cells[index]["seconds"] for r in rounds if r.notebook_cells]
        cells.append({"cell": cell["cell"], "seconds": round(statistics.median(seconds), 2)})
    return cells


def session_results(
    args, bench: Workbench, measured: dict[str, list[Round]], note: str, where: dict
) -> dict:
    scenarios = []
    for name, rounds in measured.items():
        scenario = SCENARIOS[name]
        pipeline = summarize(rounds, lambda r: r.pipeline)
        notebook = summarize(rounds, lambda r: r.notebook)
        ratio = round(pipeline["median"] / notebook["median"], 2) if notebook else None
        # Each round's own ratio: the two sides ran back to back, under the same load.
        paired = [r.pipeline.seconds / r.notebook.seconds for r in rounds if r.notebook] or [0.0]
        passed = (scenario.target is None or (ratio is not None and ratio <= scenario.target)) and (
            scenario.seconds is None or pipeline["median"] < scenario.seconds
        )
        did = sorted({r.pipeline_did for r in rounds if r.pipeline_did})
        breakdown = {
            key: median_of([r.breakdown for r in rounds], key)
            for key in ("run_seconds", "asset_compute_seconds")
            if key in (rounds[0].breakdown or {})
        }
        scenarios.append(
            {
                "name": name,
                "title": scenario.title,
                "pipeline_command": scenario.pipeline,
                "pipeline": pipeline,
                "notebook": notebook,
                "ratio": ratio,
                "paired_ratio": {
                    "median": round(statistics.median(paired), 2),
                    "min": round(min(paired), 2),
                    "max": round(max(paired), 2),
                },
                "target": scenario.target,
                "seconds_target": scenario.seconds,
                "passed": passed,
                "pipeline_did": "; ".join(did),
                "pipeline_breakdown": breakdown,
                "notebook_cells": median_cells(rounds),
                "load_1min": [round(r.load, 2) for r in rounds],
                "samples": [
                    {
                        "pipeline": r.pipeline.to_json(),
                        "notebook": r.notebook.to_json() if r.notebook else None,
                    }
                    for r in rounds
                ],
            }
        )
    return {
        "date": now(),
        "runs": args.runs,
        "warmup": args.warmup,
        "machine": where,
        "datasets": {
            "original": describe_dataset(bench.original),
            "modified": describe_dataset(bench.modified),
        },
        "dataset_note": note,
        "previews": previews_by_default(),
        "scenarios": scenarios,
    }


def previews_by_default() -> str:
    """Whether a pipeline run with previews on can make them on this machine."""
    from superstore_assets.engine.previews import find_browser

    browser = find_browser()
    return f"made by the Chromium at {browser}" if browser else "none here: no Chromium found"
