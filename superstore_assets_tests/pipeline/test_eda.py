"""The exploratory figures and the summary table, on the bundled dataset's clean orders."""

import pandas as pd
import pytest

from superstore_assets.pipeline import cleaning, config, eda, reading
from superstore_assets.pipeline import features as feature_building
from superstore_assets_tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    raw, _ = reading.read_orders(BUNDLED.read_bytes())
    return cleaning.clean_orders(raw)[0]


def test_target_balance_counts_every_line(orders):
    bar = eda.target_balance(orders).data[0]
    assert list(bar.x) == ["profitable", "not profitable"]
    assert sum(bar.y) == len(orders)
    assert bar.y[0] == orders[config.TARGET].sum()


def test_discount_bands():
    bands = eda.discount_bands(pd.Series([0.0, 0.05, 0.1, 0.2, 0.45, 0.8]))
    assert bands.astype(str).tolist() == [
        "no discount",
        "0–10%",
        "0–10%",
        "10–20%",
        "30–50%",
        "50–100%",
    ]


def test_deep_discounts_are_less_often_profitable(orders):
    bar = eda.profit_rate_by_discount(orders).data[0]
    rates = dict(zip(bar.x, bar.y, strict=True))
    assert rates["no discount"] > 0.9 > 0.2 > rates["50–100%"]


def test_profit_by_category_sums_to_the_total(orders):
    fig = eda.profit_by_category(orders)
    assert sum(sum(trace.y) for trace in fig.data) == pytest.approx(orders["Profit"].sum())
    assert {trace.name for trace in fig.data} == {"Furniture", "Office Supplies", "Technology"}


def test_monthly_sales_profit_covers_every_month(orders):
    fig = eda.monthly_sales_profit(orders)
    assert {trace.name for trace in fig.data} == {"Sales", "Profit"}
    assert len(fig.data[0].x) == 48  # 2014 to 2017
    assert sum(fig.data[0].y) == pytest.approx(orders["Sales"].sum())


def test_region_by_category_is_a_margin_grid(orders):
    heatmap = eda.region_by_category(orders).data[0]
    assert sorted(heatmap.y) == ["Central", "East", "South", "West"]
    assert all(-1 < v < 1 for row in heatmap.z for v in row)


def test_sales_vs_profit_draws_a_bounded_sample(orders):
    fig = eda.sales_vs_profit(orders)
    assert len(fig.data[0].x) == eda.SCATTER_MAX_POINTS
    assert f"of {len(orders):,} lines" in fig.layout.title.text


def test_summary_statistics_has_a_row_per_numeric_column(orders):
    table = eda.summary_statistics(orders)
    assert table["column"].tolist() == ["Sales", "Quantity", "Discount", "Profit", config.TARGET]
    assert table.set_index("column").loc["Sales", "count"] == len(orders)


def test_every_figure_spec_has_a_description():
    assert all(spec.description for spec in eda.EDA_FIGURES)
    assert len({spec.name for spec in eda.EDA_FIGURES}) == 6


@pytest.mark.parametrize("spec", eda.EDA_FIGURES, ids=lambda spec: spec.name)
def test_a_figure_needs_only_the_columns_its_spec_loads(orders, spec):
    # The figure asset loads only spec.columns of the orders: the figure must be the same.
    assert spec.make(orders[list(spec.columns)]).to_json() == spec.make(orders).to_json()


def test_the_summary_and_the_features_need_only_the_columns_they_load(orders):
    summary = eda.summary_statistics(orders[list(eda.SUMMARY_COLUMNS)])
    pd.testing.assert_frame_equal(summary, eda.summary_statistics(orders))
    features = feature_building.build_features(
        orders[list(feature_building.FEATURE_SOURCE_COLUMNS)]
    )
    pd.testing.assert_frame_equal(features, feature_building.build_features(orders))
