"""The model inputs from the clean orders: identifiers, numeric and categorical features, target.

Pure pandas: every function takes and returns data, so tests call them without Dagster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from superstore_assets.pipeline import config


def order_months(dates: pd.Series) -> pd.Series:
    """The month of each date as two digits ("01" … "12"), missing where the date is; each
    distinct date formatted once."""
    codes, distinct = pd.factorize(dates)
    months = pd.Series(pd.DatetimeIndex(distinct).strftime("%m"), dtype=object)
    return pd.Series(months.to_numpy()[codes], index=dates.index).where(codes >= 0)


# What `build_features` reads of the clean orders.
FEATURE_SOURCE_COLUMNS: tuple[str, ...] = (
    "Row ID",
    config.GROUP_COLUMN,
    *config.DATE_COLUMNS,
    "Sales",
    "Quantity",
    "Discount",
    *(c for c in config.CATEGORICAL_FEATURES if c != "order_month"),
    config.TARGET,
)


# The model inputs (and the target) made from each Superstore column: what a change in the
# column's distribution can move (drift.py).
FEEDS: dict[str, tuple[str, ...]] = {
    "Sales": ("Sales",),
    "Quantity": ("Quantity",),
    "Discount": ("Discount",),
    "Order Date": ("shipping_days", "order_month"),
    "Ship Date": ("shipping_days",),
    **{c: (c,) for c in config.CATEGORICAL_FEATURES if c != "order_month"},
    "Profit": (f"{config.TARGET} (the target)",),
}


def build_features(orders: pd.DataFrame) -> pd.DataFrame:
    """The model inputs: identifiers, numeric and categorical features, and the target.

    Profit is never a feature: the target is made from it. Missing categories become
    "(missing)"; missing numbers stay NaN for the models' imputers.
    """
    features = pd.DataFrame(
        {
            "Row ID": orders["Row ID"],
            config.GROUP_COLUMN: orders[config.GROUP_COLUMN],
            "Sales": orders["Sales"].astype("float64"),
            "Quantity": orders["Quantity"].astype("float64"),
            "Discount": orders["Discount"].astype("float64"),
            "shipping_days": (orders["Ship Date"] - orders["Order Date"]).dt.days.astype("float64"),
            "Category": orders["Category"],
            "Sub-Category": orders["Sub-Category"],
            "Segment": orders["Segment"],
            "Region": orders["Region"],
            "Ship Mode": orders["Ship Mode"],
            "order_month": order_months(orders["Order Date"]),
        }
    )
    for column in config.CATEGORICAL_FEATURES:
        values = features[column].astype(object)
        missing = values.isna()  # one pass over the cells: at millions of lines each costs
        if missing.any():
            values = values.where(~missing, "(missing)")
        features[column] = values.astype(str)
    features[config.TARGET] = orders[config.TARGET].astype(bool)
    numbers = list(config.NUMERIC_FEATURES)  # only numbers can be infinite
    features[numbers] = features[numbers].replace([np.inf, -np.inf], np.nan)
    return features
