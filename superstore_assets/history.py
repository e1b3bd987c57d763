"""The record of runs, read back from the Dagster instance through its public APIs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from superstore_assets import config
from superstore_assets.provenance import TAG_PREFIX
from superstore_assets.versioning import short

# Metadata key of a materialization that reused a stored output instead of computing it.
REUSED_FROM_RUN = "reused_from_run"
REPORTED_METRICS = ("f1", "roc_auc")


@dataclass
class RunSummary:
    run_id: str
    started: str  # ISO 8601, UTC
    seconds: float | None
    status: str
    dataset: str
    dataset_sha256: str
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def run_history(instance: DagsterInstance, limit: int = 20) -> list[RunSummary]:
    """The newest `limit` runs, newest first, with what each computed and scored."""
    records = instance.get_run_records(limit=limit)
    if not records:
        return []
    oldest = min(r.start_time or r.create_timestamp.timestamp() for r in records)
    by_run: dict[str, list] = defaultdict(list)
    for key in instance.get_asset_keys():
        found = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, after_timestamp=oldest - 1), limit=10_000
        )
        for record in found.records:
            by_run[record.run_id].append(record)
    metric_keys = {AssetKey(f"{spec.name}_metrics"): spec.name for spec in config.MODEL_SPECS}
    summaries = []
    for record in records:
        run = record.dagster_run
        summary = RunSummary(
            run_id=run.run_id,
            started=dt.datetime.fromtimestamp(
                record.start_time or record.create_timestamp.timestamp(), dt.UTC
            ).isoformat(timespec="seconds"),
            seconds=(
                round(record.end_time - record.start_time, 1)
                if record.start_time and record.end_time
                else None
            ),
            status=run.status.value,
            dataset=run.tags.get(f"{TAG_PREFIX}dataset", ""),
            dataset_sha256=run.tags.get(f"{TAG_PREFIX}dataset_sha256", ""),
        )
        for materialization in by_run.get(run.run_id, []):
            event = materialization.asset_materialization
            name = event.asset_key.to_user_string()
            reused = REUSED_FROM_RUN in event.metadata
            (summary.reused if reused else summary.computed).append(name)
            if event.asset_key in metric_keys:
                summary.metrics[metric_keys[event.asset_key]] = {
                    metric: event.metadata[f"test_{metric}"].value for metric in REPORTED_METRICS
                }
        summary.computed.sort()
        summary.reused.sort()
        summaries.append(summary)
    return summaries


def format_history(summaries: list[RunSummary]) -> str:
    """A plain-text table, one line per run, newest first."""
    models = [spec.name for spec in config.MODEL_SPECS]
    header = ["run", "started (UTC)", "took", "status", "dataset", "computed", "reused"]
    header += [f"{name} F1/AUC" for name in models]
    rows = [header]
    for s in summaries:
        scores = [
            "{f1:.3f}/{roc_auc:.3f}".format(**s.metrics[name]) if name in s.metrics else "-"
            for name in models
        ]
        rows.append(
            [
                s.run_id[:8],
                s.started.replace("T", " ")[:19],
                f"{s.seconds:.1f}s" if s.seconds is not None else "-",
                s.status,
                f"{s.dataset} {short(s.dataset_sha256)}".strip() or "-",
                str(len(s.computed)),
                str(len(s.reused)),
                *scores,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@dataclass
class EarlierRun:
    run_id: str
    dataset: str
    dataset_sha256: str
    metrics: dict[str, dict[str, float]]  # model -> test metric -> value


def earlier_run_on_other_data(
    instance: DagsterInstance, dataset_sha256: str, search: int = 50
) -> EarlierRun | None:
    """The newest run on a dataset other than `dataset_sha256` that evaluated every model."""
    from superstore_assets.evaluation import METRICS

    metric_events: dict[str, dict[str, dict]] = defaultdict(dict)  # run -> model -> metadata
    for spec in config.MODEL_SPECS:
        found = instance.fetch_materializations(AssetKey(f"{spec.name}_metrics"), limit=search)
        for record in found.records:
            metric_events[record.run_id][spec.name] = record.asset_materialization.metadata
    for record in instance.get_run_records(limit=search):
        run = record.dagster_run
        sha = run.tags.get(f"{TAG_PREFIX}dataset_sha256")
        models = metric_events.get(run.run_id, {})
        if not sha or sha == dataset_sha256 or len(models) < len(config.MODEL_SPECS):
            continue
        return EarlierRun(
            run_id=run.run_id,
            dataset=run.tags.get(f"{TAG_PREFIX}dataset", ""),
            dataset_sha256=sha,
            metrics={
                model: {m: metadata[f"test_{m}"].value for m in METRICS}
                for model, metadata in models.items()
            },
        )
    return None
