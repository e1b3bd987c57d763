"""The dataset file's observations in the instance: what one records, and the latest version.

The CLI records one before a run, `orders_raw` records one for the bytes it read when a run
did not observe the file first, and the status, the sensor and the lineage read the latest.
"""

from __future__ import annotations

from dagster import AssetKey, AssetObservation, DagsterInstance

from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG

SOURCE = AssetKey("superstore_csv")
# The second source: the file of new orders that `scored_orders` scores with the champion.
SCORING_SOURCE = AssetKey("orders_to_score")


def _latest_observation(instance: DagsterInstance, key: AssetKey) -> AssetObservation | None:
    found = instance.fetch_observations(key, limit=1).records
    return found[0].asset_observation if found else None


def observed_version(instance: DagsterInstance, key: AssetKey = SOURCE) -> str | None:
    """The data version of the latest observation of `key` (the file's SHA-256), if any."""
    observation = _latest_observation(instance, key)
    return None if observation is None else observation.tags.get(DATA_VERSION_TAG)


def observed_size(instance: DagsterInstance, key: AssetKey = SOURCE) -> int | None:
    """The file's size in bytes as its latest observation recorded it, if any."""
    observation = _latest_observation(instance, key)
    size = None if observation is None else observation.metadata.get("size_bytes")
    return None if size is None else int(size.value)


# How many of the latest observations are searched for the same content's row count.
_EARLIER = 100


def observed_rows(instance: DagsterInstance, version: str, key: AssetKey = SOURCE) -> int | None:
    """The rows an earlier observation of the same content (SHA-256 `version`) counted, if one
    of the latest is of it: a file swapped back is not counted again."""
    for record in instance.fetch_observations(key, limit=_EARLIER).records:
        observation = record.asset_observation
        rows = observation.metadata.get("rows")
        if observation.tags.get(DATA_VERSION_TAG) == version and rows is not None:
            return int(rows.value)
    return None


def source_observation(fingerprint: dict, key: AssetKey = SOURCE) -> AssetObservation:
    """An observation of the file with its path, size, hash and rows (resources.py), carrying
    the hash as its data version."""
    return AssetObservation(
        asset_key=key, metadata=fingerprint, tags={DATA_VERSION_TAG: fingerprint["sha256"]}
    )
