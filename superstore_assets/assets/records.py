"""What an asset reads of other assets' records: their latest materialization's metadata."""

from dagster import AssetExecutionContext, AssetKey


def latest_metadata(context: AssetExecutionContext, key: str) -> dict:
    """The latest materialization's metadata of asset `key`, as plain values ({} if none)."""
    event = context.instance.get_latest_materialization_event(AssetKey(key))
    if event is None or event.asset_materialization is None:
        return {}
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}
