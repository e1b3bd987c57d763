"""What a finished pipeline run left behind: the CLI's account of it, and its run record."""

from __future__ import annotations

import re
import statistics
from pathlib import Path


def what_it_did(log: Path) -> str:
    """`computed 3, reused 19` from the superstore CLI's output ('' for other commands)."""
    text = log.read_text(errors="replace")
    if "Nothing is stale" in text:
        return "nothing run"
    if " observed " in text and "Computed" not in text:
        lines = text.splitlines()[1:]
        stale = sum(1 for line in lines if line.split()[1:2] != ["fresh"])
        return f"status of {len(lines)} assets" + (f", {stale} not fresh" if stale else "")
    computed = re.search(r"^Computed \((\d+)\)", text, flags=re.M)
    reused = re.search(r"^Reused \((\d+)\)", text, flags=re.M)
    if computed is None:
        return ""
    return f"computed {computed.group(1)}, reused {reused.group(1) if reused else 0}"


def run_breakdown(home: Path) -> dict:
    """From the newest run's record: its duration, the seconds each asset's step reported
    (compute_seconds), and how many assets it computed and reused."""
    from dagster import DagsterInstance

    from superstore_assets.engine.freshness import REUSED_FROM_RUN

    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            return {}
        record = records[0]
        steps, computed, reused = 0.0, 0, 0
        assets = {}
        for key in instance.get_asset_keys():
            event = instance.get_latest_materialization_event(key)
            if event is None or event.run_id != record.dagster_run.run_id:
                continue
            metadata = event.asset_materialization.metadata
            value = metadata.get("compute_seconds")
            steps += value.value if value is not None else 0.0
            assets[key.to_user_string()] = value.value if value is not None else None
            if REUSED_FROM_RUN in metadata:
                reused += 1
            else:
                computed += 1
        run_seconds = (record.end_time or 0) - (record.start_time or 0)
        return {
            "run_seconds": round(run_seconds, 3),
            "asset_compute_seconds": round(steps, 3),
            "computed": computed,
            "reused": reused,
            "assets": assets,
        }


def median_of(breakdowns: list[dict], key: str) -> float | None:
    """The median of one figure of several runs' breakdowns (None if none has it)."""
    values = [b[key] for b in breakdowns if key in b]
    return round(statistics.median(values), 2) if values else None
