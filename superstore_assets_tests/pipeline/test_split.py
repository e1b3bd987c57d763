"""The grouped, stratified split."""

import numpy as np
import pandas as pd
import pytest

from superstore_assets.pipeline import config, split
from superstore_assets.pipeline.reading import DatasetError


def features(orders: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lines = rng.integers(1, 5, orders)
    order_ids = np.repeat([f"O-{i}" for i in range(orders)], lines)
    return pd.DataFrame(
        {
            config.GROUP_COLUMN: order_ids,
            config.TARGET: rng.random(len(order_ids)) < 0.8,
        }
    )


def test_split_is_60_20_20_and_keeps_orders_whole():
    df = features()
    labels = split.assign_split(df)
    shares = labels.value_counts(normalize=True)
    for side, fraction in config.SPLIT_FRACTIONS.items():
        assert shares[side] == pytest.approx(fraction, abs=0.03)
    sides_per_order = df.assign(split=labels).groupby(config.GROUP_COLUMN)["split"].nunique()
    assert sides_per_order.max() == 1


def test_split_keeps_the_class_balance():
    df = features()
    table = df.assign(split=split.assign_split(df))
    summary = split.split_summary(table)
    overall = df[config.TARGET].mean()
    for side in ("train", "validation", "test"):
        assert summary[side]["profitable_share"] == pytest.approx(overall, abs=0.03)
    assert sum(s["rows"] for s in summary.values()) == len(df)


def test_split_is_the_same_for_the_same_seed_and_differs_for_another():
    df = features()
    assert split.assign_split(df, seed=1).equals(split.assign_split(df, seed=1))
    assert not split.assign_split(df, seed=1).equals(split.assign_split(df, seed=2))


def test_folds_per_side():
    assert split.folds_per_side({"train": 0.6, "validation": 0.2, "test": 0.2}) == (
        5,
        {"train": 3, "validation": 1, "test": 1},
    )
    with pytest.raises(ValueError, match="whole multiples"):
        split.folds_per_side({"train": 0.55, "validation": 0.25, "test": 0.2})


def test_split_refuses_one_class_and_too_few_orders():
    one_class = features().assign(**{config.TARGET: True})
    with pytest.raises(DatasetError, match="one class"):
        split.assign_split(one_class)
    with pytest.raises(DatasetError, match="only 3 orders"):
        split.assign_split(features(orders=3))


def test_split_labels_an_order_the_same_whatever_the_row_order():
    df = features(orders=2000)
    labels = split.assign_split(df)
    shuffled = df.sample(frac=1, random_state=3)
    assert split.assign_split(shuffled).reindex(df.index).equals(labels)


def test_split_of_many_orders_is_close_to_exact():
    df = features(orders=20_000, seed=5)
    summary = split.split_summary(df.assign(split=split.assign_split(df)))
    overall = df[config.TARGET].mean()
    for side, fraction in config.SPLIT_FRACTIONS.items():
        assert summary[side]["rows"] / len(df) == pytest.approx(fraction, abs=0.002)
        assert summary[side]["profitable_share"] == pytest.approx(overall, abs=0.002)


def test_stratified_sample_keeps_small_tables_whole_and_samples_large_ones_by_class():
    df = features(orders=2000)
    assert split.stratified_sample(df, len(df)) is df
    sample = split.stratified_sample(df, 1000, seed=1)
    assert len(sample) == pytest.approx(1000, abs=1)
    assert sample[config.TARGET].mean() == pytest.approx(df[config.TARGET].mean(), abs=0.002)
    assert sample.index.is_monotonic_increasing  # rows keep the file's order
    assert sample.equals(split.stratified_sample(df, 1000, seed=1))


@pytest.mark.parametrize(
    "order_ids",
    [
        ["CA-2016-2", "CA-2016-10", "US-2015-1", "CA-2016-2", "Ä-1", "a-1", "Z-1", "é", "e"],
        ["CA-1", None, "CA-0", None, "CA-1"],  # a missing id: pandas' own sort
        [3, 1, 2, 1],
        ["O-\udc80", "O-1"],  # not valid Unicode: pandas' own sort
        [],
    ],
)
def test_order_codes_rank_the_orders_as_pandas_sorts_them(order_ids):
    values = pd.Series(order_ids, dtype=object)
    codes, orders = split.order_codes(values)
    expected_codes, expected_orders = pd.factorize(values, sort=True, use_na_sentinel=False)
    assert codes.tolist() == expected_codes.tolist()
    assert pd.Index(orders, dtype=object).equals(pd.Index(expected_orders, dtype=object))
