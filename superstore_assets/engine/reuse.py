"""Reuse: find an earlier output made by the same code from the same inputs.

Dagster records, with every materialization, the asset's code version and the data versions of
its inputs (as tags). That record is the memo table: before computing, an asset looks for an
earlier materialization with its current code version and input versions whose stored output
is still intact, and restores it instead. This gives early cutoff (an input recomputed to the
same content does not rerun what lies below it) and swap-back (a dataset seen before restores
every output computed from it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG, recorded_provenance

# Metadata key of a materialization that reused a stored output instead of computing it.
REUSED_FROM_RUN = "reused_from_run"
# Metadata key of the run-time settings an output was made with (see assets/base.py).
SETTINGS = "settings"
# Run tag that turns reuse off for one run (`superstore materialize --all`).
RECOMPUTE_TAG = "superstore/recompute"
# How far back to look for a reusable output: this many materializations of the asset, read
# a page at a time (the match is usually among the newest few).
HISTORY_DEPTH = 500
PAGE = 8


@dataclass(frozen=True)
class Prior:
    """An earlier materialization that can stand in for computing."""

    run_id: str
    version: str
    metadata: Mapping


def find_prior(
    instance: DagsterInstance,
    key: AssetKey,
    code_version: str,
    input_versions: Mapping[AssetKey, str],
    intact: Callable[[str], bool],
    settings: Mapping[str, Any] | None = None,
) -> Prior | None:
    """The newest materialization of `key` with this code version, these input versions and
    these run-time settings whose stored output (checked by `intact`) can still be loaded."""
    for record in _newest_first(instance, key):
        materialization = record.asset_materialization
        if materialization is None:
            continue
        tags = materialization.tags or {}
        recorded = recorded_provenance(tags)
        if recorded is None or recorded[0] != code_version or recorded[1] != dict(input_versions):
            continue
        recorded_settings = materialization.metadata.get(SETTINGS)
        if (recorded_settings.value if recorded_settings else {}) != dict(settings or {}):
            continue
        version = tags.get(DATA_VERSION_TAG)
        if version and intact(version):
            return Prior(record.run_id, version, materialization.metadata)
    return None


def _newest_first(instance: DagsterInstance, key: AssetKey) -> Iterator:
    """The asset's materialization records, newest first, up to HISTORY_DEPTH."""
    cursor, seen = None, 0
    while seen < HISTORY_DEPTH:
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key), limit=PAGE, cursor=cursor
        )
        yield from page.records
        seen += len(page.records)
        if not page.has_more:
            return
        cursor = page.cursor
