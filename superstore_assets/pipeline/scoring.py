"""Scoring new orders with the champion: the same loader and features as training, one row out
per line in, Profit not needed.

Pure pandas and scikit-learn: `superstore predict` and the `scored_orders` asset call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from superstore_assets.pipeline import config, features, reading
from superstore_assets.pipeline.cleaning import detect_date_format, parse_dates
from superstore_assets.pipeline.reading import DatasetError

# What a file to score must hold: Row ID to name each line, and what the features are made of.
SCORING_COLUMNS: tuple[str, ...] = (
    "Row ID",
    *config.DATE_COLUMNS,
    "Sales",
    "Quantity",
    "Discount",
    *(c for c in config.CATEGORICAL_FEATURES if c != "order_month"),
)
PROBABILITY = "probability_profitable"
PREDICTED = "predicted_profitable"


def scoring_features(orders: pd.DataFrame, date_format: str = "auto") -> pd.DataFrame:
    """The model inputs of every line, as training makes them (features.build_features), or a
    DatasetError naming the columns the file lacks. No line is dropped: a missing number is
    imputed by the model, a missing category is "(missing)"."""
    missing = [c for c in SCORING_COLUMNS if c not in orders.columns]
    if missing:
        raise DatasetError(
            f"it has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}, which "
            f"scoring needs (it reads {', '.join(SCORING_COLUMNS)})"
        )
    dated = orders.copy()
    for column in config.DATE_COLUMNS:
        cells = dated[column].astype(str).str.strip()
        dated[column] = parse_dates(cells, detect_date_format(cells, date_format))
    dated[config.GROUP_COLUMN] = dated.get(config.GROUP_COLUMN, pd.Series("", index=dated.index))
    dated[config.TARGET] = False  # not known: build_features carries it, scoring ignores it
    return features.build_features(dated)


def score(model: Any, orders: pd.DataFrame, date_format: str = "auto") -> pd.DataFrame:
    """One row per line: its Row ID, the probability that it is profitable, and the class."""
    inputs = scoring_features(orders, date_format)
    probability = model.predict_proba(inputs[list(config.FEATURES)])[:, 1]
    return pd.DataFrame(
        {
            "Row ID": inputs["Row ID"].to_numpy(),
            PROBABILITY: probability,
            PREDICTED: probability > 0.5,  # as predict() chooses: a tie goes to the first class
        }
    )


def read_and_score(model: Any, path: Path | bytes, date_format: str = "auto") -> pd.DataFrame:
    """The file read with the training loader (encodings, delimiters, layouts), then scored."""
    orders, _ = reading.read_orders(path)
    return score(model, orders, date_format)
