"""Small feature tables for unit tests, with a signal a model can find."""

import numpy as np
import pandas as pd

from superstore_assets.pipeline import config, split


def feature_table(rows: int = 900, seed: int = 0) -> pd.DataFrame:
    """Features where deep discounts lose money, already split train / validation / test."""
    rng = np.random.default_rng(seed)
    discount = rng.choice([0.0, 0.2, 0.5, 0.8], rows, p=[0.5, 0.3, 0.1, 0.1])
    df = pd.DataFrame(
        {
            "Row ID": np.arange(1, rows + 1),
            config.GROUP_COLUMN: [f"O-{i // 2}" for i in range(rows)],
            "Sales": rng.lognormal(4, 1, rows),
            "Quantity": rng.integers(1, 10, rows).astype(float),
            "Discount": discount,
            "shipping_days": rng.integers(0, 8, rows).astype(float),
            "Category": rng.choice(["Furniture", "Technology", "Office Supplies"], rows),
            "Sub-Category": rng.choice(["Tables", "Phones", "Paper"], rows),
            "Segment": rng.choice(["Consumer", "Corporate"], rows),
            "Region": rng.choice(["West", "East", "Central"], rows),
            "Ship Mode": rng.choice(["Standard Class", "First Class"], rows),
            "order_month": rng.choice([f"{m:02d}" for m in range(1, 13)], rows),
        }
    )
    df[config.TARGET] = (0.35 - discount + rng.normal(0, 0.1, rows)) > 0
    df.loc[rng.choice(rows, 10, replace=False), "Sales"] = np.nan  # for the imputer
    return df.assign(**{split.SPLIT_COLUMN: split.assign_split(df)})
