"""The record of runs, read back from the Dagster instance through its public APIs."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG
from superstore_assets.engine.freshness import COMPUTE_SECONDS, REUSED_FROM_RUN, newest_first
from superstore_assets.engine.hashing import short
from superstore_assets.engine.provenance import EXPERIMENT_TAG, PARAMS_TAG, TAG_PREFIX
from superstore_assets.pipeline import config

if TYPE_CHECKING:
    import pandas as pd

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
    params: dict[str, object] = field(default_factory=dict)  # the overrides (-S), if any
    experiment: str = ""

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
            params=json.loads(run.tags.get(PARAMS_TAG, "{}")),
            experiment=run.tags.get(EXPERIMENT_TAG, ""),
        )
        for materialization in by_run.get(run.run_id, []):
            event = materialization.asset_materialization
            name = event.asset_key.to_user_string()
            reused = REUSED_FROM_RUN in event.metadata
            (summary.reused if reused else summary.computed).append(name)
            if event.asset_key in metric_keys:
                summary.metrics[metric_keys[event.asset_key]] = recorded_test_metrics(
                    event.metadata, REPORTED_METRICS
                )
        summary.computed.sort()
        summary.reused.sort()
        summaries.append(summary)
    return summaries


def experiment_table(
    instance: DagsterInstance, limit: int = 200, every_run: bool = False
) -> list[dict]:
    """The successful runs, newest first, one per experiment, dataset and parameters (or every
    one): the parameters that differ from the defaults, computed and reused counts, and each
    model's test metrics as of the run. A model the run did not touch (it was fresh) has the
    metrics of its newest evaluation before the run: the one the run stood on."""
    from superstore_assets.pipeline.params import differing

    summaries = [s for s in run_history(instance, limit=limit) if s.status == "SUCCESS"]
    evaluations = {
        spec.name: [
            (record.timestamp, record.asset_materialization.metadata)
            for record in instance.fetch_materializations(
                AssetKey(f"{spec.name}_metrics"), limit=10_000
            ).records
        ]
        for spec in config.MODEL_SPECS
    }
    ends = {
        record.dagster_run.run_id: record.end_time or record.create_timestamp.timestamp()
        for record in instance.get_run_records(limit=limit)
    }
    rows, seen = [], set()
    for summary in summaries:
        params = differing(summary.params)
        identity = (summary.experiment, summary.dataset_sha256, json.dumps(params, sort_keys=True))
        if identity in seen and not every_run:
            continue
        seen.add(identity)
        metrics, stored = {}, {}
        for name, records in evaluations.items():
            before = [(t, m) for t, m in records if t <= ends.get(summary.run_id, 0)]
            if before:
                metadata = max(before, key=lambda r: r[0])[1]
                metrics[name] = recorded_test_metrics(metadata)
                if "version_path" in metadata and "sha256" in metadata:
                    stored[name] = {
                        "path": metadata["version_path"].value,
                        "sha256": metadata["sha256"].value,
                    }
        rows.append(
            {
                "run_id": summary.run_id,
                "started": summary.started,
                "experiment": summary.experiment,
                "dataset": summary.dataset,
                "dataset_sha256": summary.dataset_sha256,
                "params": params,
                "computed": len(summary.computed),
                "reused": len(summary.reused),
                "metrics": metrics,
                "evaluations": stored,  # where each model's evaluation (ROC curve...) is stored
            }
        )
    return rows


def stored_roc_curves(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """Run id -> model -> its test ROC curve, read from each evaluation's stored JSON when its
    bytes still have the recorded SHA-256 (a model whose output is gone is left out)."""
    from superstore_assets.engine.files import open_root
    from superstore_assets.engine.hashing import sha256_bytes

    curves: dict[str, dict[str, dict]] = {}
    for row in rows:
        for model, where in row["evaluations"].items():
            location = open_root(where["path"])
            if not location.exists():
                continue
            data = location.read_bytes()
            if sha256_bytes(data) == where["sha256"]:
                curves.setdefault(row["run_id"], {})[model] = json.loads(data)["roc_curve"]
    return curves


@dataclass
class EarlierRun:
    run_id: str
    dataset: str
    dataset_sha256: str
    metrics: dict[str, dict[str, float]]  # model -> test metric -> value


def recorded_test_metrics(
    metadata: dict, metrics: tuple[str, ...] | None = None
) -> dict[str, float]:
    """The test metrics a `<model>_metrics` materialization recorded (all six by default)."""
    return {m: metadata[f"test_{m}"].value for m in metrics or config.METRICS}


def metrics_by_run(instance: DagsterInstance, search: int = 200) -> dict[str, dict[str, dict]]:
    """Run id -> model -> every test metric, over each model's latest `search` evaluations."""
    found: dict[str, dict[str, dict]] = defaultdict(dict)
    for spec in config.MODEL_SPECS:
        records = instance.fetch_materializations(AssetKey(f"{spec.name}_metrics"), limit=search)
        for record in records.records:
            found[record.run_id][spec.name] = recorded_test_metrics(
                record.asset_materialization.metadata
            )
    return found


def earlier_run_on_other_data(
    instance: DagsterInstance, dataset_sha256: str, search: int = 50
) -> EarlierRun | None:
    """The newest run on a dataset other than `dataset_sha256` that evaluated every model."""
    evaluated = metrics_by_run(instance, search)
    for record in instance.get_run_records(limit=search):
        run = record.dagster_run
        sha = run.tags.get(f"{TAG_PREFIX}dataset_sha256")
        models = evaluated.get(run.run_id, {})
        if not sha or sha == dataset_sha256 or len(models) < len(config.MODEL_SPECS):
            continue
        return EarlierRun(
            run_id=run.run_id,
            dataset=run.tags.get(f"{TAG_PREFIX}dataset", ""),
            dataset_sha256=sha,
            metrics=models,
        )
    return None


def earlier_compute_seconds(
    instance: DagsterInstance, keys: list[AssetKey], depth: int = 40
) -> dict[AssetKey, float]:
    """The seconds each asset's newest materialization that computed it took (a restore takes
    milliseconds and says nothing of computing); an asset not computed in its newest `depth`
    materializations is left out."""
    found = {}
    for key in keys:
        for record in newest_first(instance, key, depth):
            metadata = record.asset_materialization.metadata
            if REUSED_FROM_RUN in metadata:
                continue
            if COMPUTE_SECONDS in metadata:
                found[key] = float(metadata[COMPUTE_SECONDS].value)
            break
    return found


def resolve_run(summaries: list[RunSummary], ref: str) -> RunSummary:
    """A run named by id (or its first characters), dataset hash prefix, latest or previous,
    among `summaries` (newest first)."""
    if ref in ("latest", "previous"):
        position = 0 if ref == "latest" else 1
        if len(summaries) <= position:
            raise LookupError(f"there is no {ref} run: {len(summaries)} run(s) on record")
        return summaries[position]
    for summary in summaries:
        if summary.run_id.startswith(ref):
            return summary
    for summary in summaries:  # newest first, so the newest run on that dataset
        if ref and summary.dataset_sha256.startswith(ref):
            return summary
    raise LookupError(f"no run id or dataset hash on record starts with {ref!r}")


def dataset_rows(instance: DagsterInstance, sha256: str) -> tuple[pd.DataFrame | None, str]:
    """The rows of the dataset with this hash, and where they came from.

    First the dataset file where it was observed, if its bytes still have this hash (read by
    today's loader, so both sides of a diff are read alike); else the stored orders_raw table,
    stored by a run that read this dataset, if that version is still intact (in the folder or
    object store it was written to).
    Neither means the rows are gone (None, and why).
    """
    from superstore_assets.engine.files import open_root
    from superstore_assets.engine.hashing import sha256_bytes, sha256_file
    from superstore_assets.pipeline.reading import read_orders

    for record in instance.fetch_observations(AssetKey("superstore_csv"), limit=200).records:
        observation = record.asset_observation
        if observation.tags.get(DATA_VERSION_TAG) != sha256:
            continue
        path = Path(observation.metadata["path"].value)
        if path.is_file() and sha256_file(path) == sha256:
            return read_orders(path.read_bytes())[0], f"dataset file {path}"
    for record in instance.fetch_materializations(AssetKey("orders_raw"), limit=200).records:
        metadata = record.asset_materialization.metadata
        lineage, stored = metadata.get("dataset_sha256"), metadata.get("version_path")
        if lineage is None or lineage.value != sha256 or stored is None:
            continue
        # The stored version (a local file or an object store URL), if its bytes are intact.
        location = open_root(stored.value)
        if location.exists():
            data = location.read_bytes()
            if sha256_bytes(data) == metadata["sha256"].value:
                import pandas as pd  # here, not at the top: `history` and `exp show` need none

                return pd.read_parquet(io.BytesIO(data)), f"stored table {stored.value}"
    return None, (
        f"no file or stored table with SHA-256 {short(sha256)}… is left to compare rows with"
    )


def compare_runs(instance: DagsterInstance, before_ref: str, after_ref: str) -> dict:
    """Everything that differed between two runs, from the record and the stored outputs."""
    from superstore_assets.pipeline.dataset_diff import diff_datasets, metric_changes

    summaries = run_history(instance, limit=200)
    before, after = resolve_run(summaries, before_ref), resolve_run(summaries, after_ref)
    comparison: dict = {
        "before": before.to_json(),
        "after": after.to_json(),
        "same_dataset": before.dataset_sha256 == after.dataset_sha256,
        "dataset": None,
        "dataset_unavailable": None,
        "metric_changes": {},
        "recomputed": after.computed,
    }
    if not comparison["same_dataset"]:
        old, old_source = dataset_rows(instance, before.dataset_sha256)
        new, new_source = dataset_rows(instance, after.dataset_sha256)
        if old is None or new is None:
            comparison["dataset_unavailable"] = old_source if old is None else new_source
        else:
            comparison["dataset"] = diff_datasets(old, new).to_json()
            comparison["dataset_sources"] = [old_source, new_source]
    evaluated = metrics_by_run(instance)
    before_metrics = evaluated.get(before.run_id, {})
    after_metrics = evaluated.get(after.run_id, {})
    comparison["metric_changes"] = metric_changes(before_metrics, after_metrics)
    comparison["metrics_before"], comparison["metrics_after"] = before_metrics, after_metrics
    return comparison


@dataclass
class Champion:
    model: object
    card: dict
    version: str  # the SHA-256 of its stored bytes
    run_id: str  # the run that materialized it (it may have kept an earlier one)


def current_champion(instance: DagsterInstance, storage_root: str) -> Champion | None:
    """The champion in place, read from its folder under the storage root (champion_in)."""
    from superstore_assets.engine.files import confined
    from superstore_assets.engine.version_store import STORAGE_FOLDERS, VersionStore

    kind, folder = STORAGE_FOLDERS["champion_io_manager"]
    return champion_in(instance, VersionStore(confined(storage_root, folder), kind))


def champion_in(instance: DagsterInstance, store) -> Champion | None:
    """The champion in place: its latest materialization, its stored skops file in `store`
    checked against the recorded SHA-256 before it is read (StoredFileError if it does not),
    and then loaded with skops' trusted types only (engine/codecs.py). None if no champion was
    ever made."""
    from superstore_assets.engine.codecs import decode

    event = instance.get_latest_materialization_event(AssetKey("champion"))
    if event is None or event.asset_materialization is None:
        return None
    metadata = event.asset_materialization.metadata
    version = metadata["sha256"].value
    model = decode(store.kind, store.verified("champion", version))
    return Champion(model, metadata["card"].value, version, event.run_id)
