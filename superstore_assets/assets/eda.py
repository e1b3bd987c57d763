"""EDA: one figure asset per exploratory plot, and the summary-statistics table."""

import pandas as pd
import plotly.graph_objects as go
from dagster import AssetsDefinition, MetadataValue, Output

from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import eda

GROUP = "eda"


def eda_figure_asset(spec: eda.FigureSpec) -> AssetsDefinition:
    """A figure asset drawn by `spec.make` from the clean orders."""

    @versioned_asset(
        kind="figure",
        name=spec.name,
        group_name=GROUP,
        description=spec.description,
        columns={"orders_clean": spec.columns},
    )
    def _figure(orders_clean: pd.DataFrame) -> Output[go.Figure]:
        return Output(
            spec.make(orders_clean), metadata={"rows": MetadataValue.int(len(orders_clean))}
        )

    return _figure


eda_figures = [eda_figure_asset(spec) for spec in eda.EDA_FIGURES]


@versioned_asset(group_name=GROUP, columns={"orders_clean": eda.SUMMARY_COLUMNS})
def summary_statistics(orders_clean: pd.DataFrame) -> Output[pd.DataFrame]:
    """count, missing, mean, spread and quantiles of Sales, Quantity, Discount, Profit and the
    target."""
    table = eda.summary_statistics(orders_clean)
    return Output(
        table, metadata={"table": MetadataValue.md(table.round(3).to_markdown(index=False))}
    )
