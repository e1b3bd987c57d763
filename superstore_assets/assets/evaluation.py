"""Evaluation figures: the three models compared, one asset per figure."""

from collections.abc import Callable

import plotly.graph_objects as go
from dagster import AssetIn, AssetsDefinition

from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import config, evaluation

GROUP = "evaluation"
METRICS_INPUTS = {f"{spec.name}_metrics": AssetIn() for spec in config.MODEL_SPECS}


def by_model(inputs: dict[str, dict]) -> dict[str, dict]:
    """Metrics inputs keyed by model name, in the order of config.MODEL_SPECS."""
    return {spec.name: inputs[f"{spec.name}_metrics"] for spec in config.MODEL_SPECS}


def result_figure_asset(
    name: str, make: Callable[[dict[str, dict]], go.Figure]
) -> AssetsDefinition:
    """A figure asset drawn by `make` from every model's test evaluation."""

    @versioned_asset(
        kind="figure",
        name=name,
        group_name=GROUP,
        ins=METRICS_INPUTS,
        description=(make.__doc__ or "").strip().splitlines()[0],
    )
    def _figure(**metrics: dict) -> go.Figure:
        return make(by_model(metrics))

    return _figure


result_figures = [result_figure_asset(n, make) for n, make in evaluation.RESULT_FIGURES.items()]
