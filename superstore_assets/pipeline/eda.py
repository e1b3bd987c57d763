"""Exploratory figures and the summary table, from the clean orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from superstore_assets.pipeline import config
from superstore_assets.pipeline.figures import PROFITABLE_COLORS, style

SCATTER_MAX_POINTS = 5000


def _label(profitable: pd.Series) -> pd.Series:
    return profitable.map({True: "profitable", False: "not profitable"})


def target_balance(orders: pd.DataFrame) -> go.Figure:
    """How many lines are profitable and how many are not."""
    counts = _label(orders[config.TARGET]).value_counts().reindex(list(PROFITABLE_COLORS))
    share = counts / counts.sum()
    fig = go.Figure(
        go.Bar(
            x=counts.index,
            y=counts.values,
            text=[f"{s:.1%}" for s in share.fillna(0)],
            marker_color=list(PROFITABLE_COLORS.values()),
        )
    )
    fig.update_yaxes(title="order lines")
    return style(fig, "Target balance: lines with Profit > 0")


def sales_vs_profit(orders: pd.DataFrame) -> go.Figure:
    """Sales against Profit, colored by Discount: deep discounts are where money is lost.

    At most SCATTER_MAX_POINTS lines are drawn, a seeded sample, so the page stays light.
    """
    # plotly.express is imported where it is used, not at module level, where it would slow the
    # start-up of every CLI command.
    import plotly.express as px

    sample = orders
    if len(orders) > SCATTER_MAX_POINTS:
        sample = orders.sample(SCATTER_MAX_POINTS, random_state=config.SEED)
    fig = px.scatter(
        sample,
        x="Sales",
        y="Profit",
        color="Discount",
        log_x=True,
        color_continuous_scale="RdYlGn_r",
        hover_data=["Sub-Category", "Order ID"],
    )
    fig.update_traces(marker={"size": 5, "opacity": 0.6})
    title = "Sales vs Profit by Discount"
    if sample is not orders:
        title += f" ({len(sample):,} of {len(orders):,} lines)"
    return style(fig, title)


def discount_bands(discount: pd.Series) -> pd.Series:
    """Discount as bands: "no discount", then "0–10%", "10–20%", … as configured."""
    edges = list(config.DISCOUNT_BANDS)
    labels = ["no discount"] + [f"{lo * 100:g}–{hi * 100:g}%" for lo, hi in pairwise(edges)]
    return pd.cut(discount, bins=[-np.inf, *edges], labels=labels)


def profit_rate_by_discount(orders: pd.DataFrame) -> go.Figure:
    """The share of profitable lines in each discount band, with the lines it rests on."""
    bands = discount_bands(orders["Discount"])
    # Grouped by the bands as a Series: `assign` would copy every column of the orders.
    table = (
        orders[config.TARGET]
        .groupby(bands.rename("band"), observed=False)
        .agg(["mean", "size"])
        .reset_index()
    )
    fig = go.Figure(
        go.Bar(
            x=table["band"].astype(str),
            y=table["mean"],
            text=[f"n={n:,}" for n in table["size"]],
            marker_color="#264653",
        )
    )
    fig.update_yaxes(title="share profitable", tickformat=".0%", range=[0, 1])
    fig.update_xaxes(title="discount")
    return style(fig, "Profit rate by discount band")


def profit_by_category(orders: pd.DataFrame) -> go.Figure:
    """Total Profit per Sub-Category, colored by Category, largest first."""
    import plotly.express as px

    table = (
        orders.groupby(["Category", "Sub-Category"])["Profit"]
        .sum()
        .reset_index()
        .sort_values("Profit", ascending=False)
    )
    fig = px.bar(table, x="Sub-Category", y="Profit", color="Category")
    fig.update_xaxes(categoryorder="total descending")
    return style(fig, "Profit by Category and Sub-Category")


def monthly_sales_profit(orders: pd.DataFrame) -> go.Figure:
    """Sales and Profit summed per calendar month of the order date."""
    import plotly.express as px

    monthly = (
        orders[["Order Date", "Sales", "Profit"]]  # before set_index, which copies what it keeps
        .set_index("Order Date")
        .resample("MS")
        .sum()
        .reset_index()
        .melt(id_vars="Order Date", var_name="measure", value_name="amount")
    )
    fig = px.line(monthly, x="Order Date", y="amount", color="measure", markers=True)
    fig.update_xaxes(title="order month")
    return style(fig, "Monthly Sales and Profit")


def region_by_category(orders: pd.DataFrame) -> go.Figure:
    """Profit margin (Profit / Sales) for each Region and Category."""
    sums = orders.groupby(["Region", "Category"])[["Sales", "Profit"]].sum()
    margin = (sums["Profit"] / sums["Sales"]).unstack("Category")
    fig = go.Figure(
        go.Heatmap(
            z=margin.values,
            x=list(margin.columns),
            y=list(margin.index),
            colorscale="RdYlGn",
            zmid=0,
            text=[[f"{v:.1%}" for v in row] for row in margin.values],
            texttemplate="%{text}",
            colorbar={"title": "margin", "tickformat": ".0%"},
        )
    )
    return style(fig, "Profit margin by Region and Category")


# What the summary reads of the orders: the Superstore's numbers (not Row ID) and the target.
SUMMARY_COLUMNS: tuple[str, ...] = (
    *(c for c in config.NUMERIC_COLUMNS if c != "Row ID"),
    config.TARGET,
)


def summary_statistics(orders: pd.DataFrame) -> pd.DataFrame:
    """count, mean, spread and quantiles of every numeric column, one row per column."""
    numeric = orders.select_dtypes("number").drop(columns=["Row ID"], errors="ignore")
    numeric = numeric.assign(**{config.TARGET: orders[config.TARGET].astype(float)})
    table = numeric.describe().T.reset_index(names="column")
    table.insert(2, "missing", numeric.isna().sum().values)
    return table


@dataclass(frozen=True)
class FigureSpec:
    name: str
    make: Callable[[pd.DataFrame], go.Figure]
    columns: tuple[str, ...]  # all the figure reads of the orders: only these are loaded

    @property
    def description(self) -> str:
        return (self.make.__doc__ or "").strip().splitlines()[0]


EDA_FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("target_balance", target_balance, (config.TARGET,)),
    FigureSpec(
        "sales_vs_profit",
        sales_vs_profit,
        ("Order ID", "Sub-Category", "Sales", "Discount", "Profit"),
    ),
    FigureSpec("profit_rate_by_discount", profit_rate_by_discount, ("Discount", config.TARGET)),
    FigureSpec("profit_by_category", profit_by_category, ("Category", "Sub-Category", "Profit")),
    FigureSpec("monthly_sales_profit", monthly_sales_profit, ("Order Date", "Sales", "Profit")),
    FigureSpec("region_by_category", region_by_category, ("Region", "Category", "Sales", "Profit")),
)
