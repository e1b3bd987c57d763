"""Split: train / validation / test, stratified by the target and grouped by order."""

import pandas as pd
from dagster import Failure, MetadataValue, Output

from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import params as parameters
from superstore_assets.pipeline import split
from superstore_assets.pipeline.reading import DatasetError

GROUP = "modeling"


@versioned_asset(group_name=GROUP, params=("split",))
def train_val_test(model_features: pd.DataFrame, params: dict) -> Output[pd.DataFrame]:
    """The features with a `split` column: train, validation or test (60/20/20), seeded."""
    fractions, seed = parameters.split_settings(params["split"])
    try:
        labels = split.assign_split(model_features, fractions, seed)
    except DatasetError as error:
        raise Failure(description=f"Cannot split the orders three ways: {error}.") from error
    table = model_features.assign(**{split.SPLIT_COLUMN: labels})
    summary = split.split_summary(table)
    metadata = {
        f"{side}_{measure}": MetadataValue.float(value)
        if isinstance(value, float)
        else MetadataValue.int(value)
        for side, facts in summary.items()
        for measure, value in facts.items()
    }
    metadata["fractions"] = MetadataValue.json(fractions)
    metadata["seed"] = MetadataValue.int(seed)
    return Output(table, metadata=metadata)
