"""Scoring: the file of new orders as a second observable source, and `scored_orders`, the
champion's scores for every line of it (pipeline/scoring.py, as `superstore predict` does).

`scored_orders` reruns when the champion's bytes or the file's content change, and only then: a
champion kept in place by its gate is the same bytes, so nothing is scored again.
"""

import dagster as dg
import pandas as pd

from superstore_assets.assets.resources import ScoreDatasetResource, dataset_fingerprint
from superstore_assets.engine.dagster_internals import refresh_input_version
from superstore_assets.engine.observation import (
    SCORING_SOURCE,
    observed_version,
    source_observation,
)
from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import scoring
from superstore_assets.pipeline.reading import DatasetError

GROUP = "champion"


@dg.observable_source_asset(
    name=SCORING_SOURCE.path[-1],
    group_name=GROUP,
    description="New orders to score (SUPERSTORE_SCORE_DATASET), versioned by SHA-256.",
)
def orders_to_score(score_dataset: ScoreDatasetResource) -> dg.ObserveResult:
    fingerprint = dataset_fingerprint(
        score_dataset, score_dataset.read_bytes(), sha256=score_dataset.sha256()
    )
    return dg.ObserveResult(
        data_version=dg.DataVersion(fingerprint["sha256"]), metadata=fingerprint
    )


def observe_orders_to_score(context: dg.AssetExecutionContext, score_dataset: ScoreDatasetResource):
    """Record the file about to be scored as the source's version, unless it is already (its
    lines are counted only for a new observation)."""
    data, sha256 = score_dataset.read_bytes(), score_dataset.sha256()
    if observed_version(context.instance, SCORING_SOURCE) != sha256:
        context.log_event(
            source_observation(
                dataset_fingerprint(score_dataset, data, sha256=sha256), SCORING_SOURCE
            )
        )
        refresh_input_version(context, SCORING_SOURCE)
    path = dg.MetadataValue.path(str(score_dataset.resolved_path()))
    return {"scored_file": path, "scored_file_sha256": sha256}


@versioned_asset(
    group_name=GROUP,
    deps=[orders_to_score],
    ins={"champion": dg.AssetIn()},
    prepare=observe_orders_to_score,
    description="The champion's probability of profit for every line of the orders to score.",
)
def scored_orders(score_dataset: ScoreDatasetResource, champion) -> dg.Output[pd.DataFrame]:
    try:
        scored = scoring.read_and_score(
            champion, score_dataset.read_bytes(), score_dataset.date_format
        )
    except DatasetError as error:
        raise dg.Failure(
            description=f"Cannot score {score_dataset.resolved_path()}: {error}."
        ) from error
    return dg.Output(
        scored,
        metadata={
            "rows": dg.MetadataValue.int(len(scored)),
            "predicted_profitable": dg.MetadataValue.float(
                float(scored[scoring.PREDICTED].mean()) if len(scored) else 0.0
            ),
        },
    )
