"""The train / validation / test split: stratified by the target, grouped by order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from superstore_assets.pipeline import config
from superstore_assets.pipeline.cleaning import keep_rows
from superstore_assets.pipeline.reading import DatasetError

SPLIT_COLUMN = "split"
# What the models, their evaluations and the champion read of the split table: the inputs, the
# target and the side, not the ids (the order ids, nearly all distinct, are the costliest column
# to read back at millions of lines).
MODEL_TABLE_COLUMNS: tuple[str, ...] = (*config.FEATURES, config.TARGET, SPLIT_COLUMN)


def folds_per_side(fractions: dict[str, float]) -> tuple[int, dict[str, int]]:
    """Express the fractions as whole folds: 60/20/20 is 3, 1 and 1 of 5 folds."""
    n_folds = round(1 / min(fractions.values()))
    counts = {side: round(fraction * n_folds) for side, fraction in fractions.items()}
    if sum(counts.values()) != n_folds or any(
        abs(counts[side] / n_folds - fraction) > 1e-9 for side, fraction in fractions.items()
    ):
        raise ValueError(f"split fractions {fractions} are not whole multiples of one fold")
    return n_folds, counts


def order_codes(order_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize(order_ids, sort=True, use_na_sentinel=False)`: each line's order as its
    rank among the distinct orders. Text ids are sorted by Arrow, whose order of UTF-8 bytes is
    Python's order of the strings, in a fraction of the time NumPy takes to compare them as
    Python objects (a second a million lines). A missing id, a number or text that is not valid
    Unicode leaves the sort to pandas."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, orders = pd.factorize(order_ids, sort=False, use_na_sentinel=False)
    orders = np.asarray(orders, dtype=object)
    try:
        ids = pa.array(orders, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError):
        ids = None
    if ids is None or ids.null_count:
        return pd.factorize(order_ids, sort=True, use_na_sentinel=False)
    by_id = pc.sort_indices(ids).to_numpy()
    rank = np.empty(len(orders), dtype=np.intp)
    rank[by_id] = np.arange(len(orders))
    return rank[codes], orders[by_id]


def assign_split(
    features: pd.DataFrame,
    fractions: dict[str, float] = config.SPLIT_FRACTIONS,
    seed: int = config.SEED,
) -> pd.Series:
    """Label each row train, validation or test, keeping every order's lines on one side.

    Orders are stratified by their number of lines and of profitable lines, shuffled within
    each stratum by a seeded permutation, and dealt to the folds in turn; so each side gets its
    share of every kind of order, hence of rows and of the class balance. Linear in rows (one
    factorize, counts and a sort of the orders), and the same on every machine.
    """
    n_folds, counts = folds_per_side(fractions)
    codes, orders = order_codes(features[config.GROUP_COLUMN])
    if len(orders) < n_folds:
        raise DatasetError(
            f"only {len(orders)} orders: a {n_folds}-fold split into "
            f"{'/'.join(fractions)} needs at least {n_folds}"
        )
    target = features[config.TARGET]
    if target.nunique() < 2:
        raise DatasetError(
            f"every row has {config.TARGET}={target.iloc[0]}: no model can learn from one class"
        )
    lines = np.bincount(codes, minlength=len(orders))
    profitable = np.bincount(codes, weights=target.to_numpy(dtype=bool), minlength=len(orders))
    shuffle = np.random.default_rng(seed).permutation(len(orders))
    dealt = np.lexsort((shuffle, profitable, lines))  # by lines, then profitable, then at random
    fold_of_order = np.empty(len(orders), dtype=np.int64)
    fold_of_order[dealt] = np.arange(len(orders)) % n_folds
    # Folds 0 .. n-1 are dealt to the sides in order: test first, then validation, then train.
    side_of_fold: list[str] = []
    for side in ("test", "validation", "train"):
        side_of_fold += [side] * counts[side]
    labels = np.asarray(side_of_fold, dtype=object)[fold_of_order[codes]]
    return pd.Series(labels, index=features.index, name=SPLIT_COLUMN)


def split_summary(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Rows, orders and share of profitable lines on each side."""
    summary = {}
    for side, part in table.groupby(SPLIT_COLUMN, sort=False):
        summary[str(side)] = {
            "rows": len(part),
            "orders": int(part[config.GROUP_COLUMN].nunique()),
            "profitable_share": round(float(part[config.TARGET].mean()), 4),
        }
    return {side: summary[side] for side in ("train", "validation", "test") if side in summary}


def stratified_sample(table: pd.DataFrame, max_rows: int, seed: int = config.SEED) -> pd.DataFrame:
    """At most `max_rows` rows, a seeded sample with each class in its share; the table itself
    when it is no larger. Rows keep their order."""
    if len(table) <= max_rows:
        return table
    by_class = table.groupby(config.TARGET, group_keys=False)
    return by_class.sample(frac=max_rows / len(table), random_state=seed).sort_index()


def side(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one side of the split (a column at a time, as cleaning drops rows)."""
    return keep_rows(table, table[SPLIT_COLUMN] == name)
