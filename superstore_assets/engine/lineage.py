"""Which dataset an output descends from: the SHA-256 of the file its inputs were made from."""

from __future__ import annotations

from dagster import AssetKey, OutputContext

from superstore_assets.engine.observation import SOURCE, observed_version

DATASET_SHA256 = "dataset_sha256"


# The dataset hash of each output stored by this process, by run: the in-process executor
# stores an asset's inputs before the asset, so lineage rarely needs the instance.
_LINEAGE: dict[tuple[str, AssetKey], str] = {}


def dataset_lineage(context: OutputContext) -> dict[str, str]:
    """The dataset hash this output descends from: the one its inputs record.

    orders_raw records the hash of the file it read; every asset below takes it from the latest
    materializations of its inputs (which are what it loaded). Inputs that disagree are reported
    as "mixed: …", which means some of them are stale.
    """
    own = (context.output_metadata or {}).get(DATASET_SHA256)
    if own is not None:
        _LINEAGE[(context.run_id, context.asset_key)] = getattr(own, "value", own)
        return {}
    hashes = set()
    for dep in context.asset_spec.deps:
        value = _LINEAGE.get((context.run_id, dep.asset_key))
        if value is None:
            value = _recorded_lineage(context.step_context.instance, dep.asset_key)
        if value is not None:
            hashes.add(value)
    if not hashes:
        return {}
    lineage = hashes.pop() if len(hashes) == 1 else "mixed: " + ", ".join(sorted(hashes))
    _LINEAGE[(context.run_id, context.asset_key)] = lineage
    return {DATASET_SHA256: lineage}


def _recorded_lineage(instance, key: AssetKey) -> str | None:
    """The dataset hash recorded for `key`: on its latest materialization, or, for the
    dataset's source, its latest observation's version. (The orders to score are the other
    source: what `scored_orders` scored, which it records itself, not what it descends from.)"""
    event = instance.get_latest_materialization_event(key)
    if event is not None and event.asset_materialization is not None:
        value = event.asset_materialization.metadata.get(DATASET_SHA256)
        return None if value is None else value.value

    return observed_version(instance, key) if key == SOURCE else None
