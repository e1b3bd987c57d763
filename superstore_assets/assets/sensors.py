"""The sensor: a run when the dataset file's content changes."""

from __future__ import annotations

import json

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    sensor,
)

from superstore_assets.assets.resources import DatasetResource
from superstore_assets.engine.hashing import sha256_file
from superstore_assets.engine.observation import observed_version

# The whole graph, observing the dataset first so that the run records the version it used.
superstore_pipeline = define_asset_job(
    "superstore_pipeline",
    selection=AssetSelection.all(include_sources=True),
    description="Observe the dataset file, then materialize every asset down to the report.",
    # Dagster starts a job's own loggers only when the run's config names them: this default
    # gives runs of this job from the UI and the sensor the one-line failures (loggers.py).
    config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
)


@sensor(
    job=superstore_pipeline,
    minimum_interval_seconds=10,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Watches the dataset file. When its SHA-256 differs from the version last recorded, "
        "requests a run that observes it and materializes every asset below it, reusing "
        "whatever the change did not reach."
    ),
)
def dataset_changed(context: SensorEvaluationContext, dataset: DatasetResource):
    path = dataset.resolved_path()
    if not path.is_file():
        return SensorResult(skip_reason=f"{path} is not there", cursor=context.cursor)
    seen = json.loads(context.cursor) if context.cursor else {}
    stat = [path.stat().st_mtime_ns, path.stat().st_size]
    if seen.get("stat") == stat:
        return SensorResult(skip_reason="the file has not changed", cursor=context.cursor)
    version = sha256_file(path)
    cursor = json.dumps({"stat": stat, "sha256": version})
    recorded = observed_version(context.instance)
    if recorded is None:
        return SensorResult(
            skip_reason="nothing materialized yet: the first run is yours", cursor=cursor
        )
    if recorded == version:
        return SensorResult(skip_reason=f"still version {version[:12]}…", cursor=cursor)
    # A new source version makes every asset below it stale; the run recomputes only what the
    # change reaches and restores the rest (see engine/freshness.py).
    return SensorResult(
        run_requests=[
            RunRequest(tags={"superstore/trigger": f"dataset changed to {version[:12]}"})
        ],
        cursor=cursor,
    )
