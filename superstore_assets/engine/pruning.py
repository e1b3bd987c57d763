"""Pruning stored versions: keep the newest N versions of each asset's output, delete the rest.

"Newest" follows the instance's record: the data versions of an asset's materializations,
newest first, counted once each. The current version (the latest materialization's) is
always among those kept, so nothing a load or a `--stale` run needs right now is deleted;
what goes is only what a swap back to an older dataset would otherwise have reused.
"""

from __future__ import annotations

from dagster import AssetRecordsFilter, DagsterInstance

from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG
from superstore_assets.engine.freshness import Node


def versions_to_keep(instance: DagsterInstance, node: Node, keep: int) -> list[str]:
    """The newest `keep` distinct data versions recorded for the asset."""
    kept: list[str] = []
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=node.key), limit=10_000
    ).records
    for record in records:  # newest first
        materialization = record.asset_materialization
        version = materialization.tags.get(DATA_VERSION_TAG) if materialization else None
        if version and version not in kept:
            kept.append(version)
        if len(kept) == keep:
            break
    return kept


def collect(
    instance: DagsterInstance, nodes: list[Node], keep: int, dry_run: bool = False
) -> list[tuple[str, int]]:
    """Delete every stored version beyond the newest `keep` of each asset; return what went
    (path and bytes), in graph order."""
    if keep < 1:
        raise ValueError("keep at least one version: the current one")
    removed = []
    for node in nodes:
        if node.store is None:
            continue
        name = node.key.path[-1]
        kept = set(versions_to_keep(instance, node, keep))
        folder = node.store.versions_folder(name)
        if not folder.exists():
            continue
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            version = path.name.split(".")[0]
            if version in kept:
                continue
            size = path.stat().st_size
            if not dry_run:
                path.unlink()
            removed.append((str(path), size))
    return removed
