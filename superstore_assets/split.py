"""The train / validation / test split: stratified by the target, grouped by order."""

from __future__ import annotations

import pandas as pd

from superstore_assets import config
from superstore_assets.ingest import DatasetError

SPLIT_COLUMN = "split"


def folds_per_side(fractions: dict[str, float]) -> tuple[int, dict[str, int]]:
    """Express the fractions as whole folds: 60/20/20 is 3, 1 and 1 of 5 folds."""
    n_folds = round(1 / min(fractions.values()))
    counts = {side: round(fraction * n_folds) for side, fraction in fractions.items()}
    if sum(counts.values()) != n_folds or any(
        abs(counts[side] / n_folds - fraction) > 1e-9 for side, fraction in fractions.items()
    ):
        raise ValueError(f"split fractions {fractions} are not whole multiples of one fold")
    return n_folds, counts


def assign_split(
    features: pd.DataFrame,
    fractions: dict[str, float] = config.SPLIT_FRACTIONS,
    seed: int = config.SEED,
) -> pd.Series:
    """Label each row train, validation or test, keeping every order's lines on one side.

    Folds come from scikit-learn's StratifiedGroupKFold, so each side keeps the class balance.
    """
    # scikit-learn is imported where it is used, not at module level, where it would slow the
    # start-up of every CLI command by most of a second.
    from sklearn.model_selection import StratifiedGroupKFold

    n_folds, counts = folds_per_side(fractions)
    groups = features[config.GROUP_COLUMN]
    if groups.nunique() < n_folds:
        raise DatasetError(
            f"only {groups.nunique()} orders: a {n_folds}-fold split into "
            f"{'/'.join(fractions)} needs at least {n_folds}"
        )
    target = features[config.TARGET]
    if target.nunique() < 2:
        raise DatasetError(
            f"every row has {config.TARGET}={target.iloc[0]}: no model can learn from one class"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=features.index)
    for number, (_, held_out) in enumerate(splitter.split(features, target, groups)):
        fold.iloc[held_out] = number
    # Folds 0 .. n-1 are dealt to the sides in order: test first, then validation, then train.
    side_of_fold: list[str] = []
    for side in ("test", "validation", "train"):
        side_of_fold += [side] * counts[side]
    labels = fold.map(dict(enumerate(side_of_fold)))
    return labels.rename(SPLIT_COLUMN)


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


def side(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one side of the split."""
    return table[table[SPLIT_COLUMN] == name]
