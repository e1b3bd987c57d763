"""How each column's distribution moved between two datasets: the population stability index.

PSI = sum over bins of (after share - before share) * ln(after share / before share). Numbers
(and dates, as days) are binned at the before side's deciles, or by value when both sides hold
at most 20 values between them (Discount, Quantity: deciles would hide a shift from 0 to 0.1);
text columns with at most MAX_CATEGORIES values are binned by value. The usual reading: below
0.1 no real change, 0.1 to 0.2 a moderate one, DRIFT_THRESHOLD (0.2) and above a shift worth
a look before trusting a model trained on the other side. Each column also says which model
inputs it feeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from superstore_assets.pipeline import config
from superstore_assets.pipeline.features import FEEDS

DRIFT_THRESHOLD = 0.2
MAX_CATEGORIES = 60
BINS = 10
_FLOOR = 1e-4  # a bin empty on one side counts as this share, so the logarithm stays finite


def psi(before: np.ndarray, after: np.ndarray) -> float:
    """The population stability index of two arrays of shares over the same bins."""
    b = np.maximum(before, _FLOOR)
    a = np.maximum(after, _FLOOR)
    return float(np.sum((a - b) * np.log(a / b)))


def _as_numbers(column: pd.Series) -> pd.Series | None:
    """A numeric column as floats, a date column as days; None for text."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.to_numeric(column, errors="coerce").astype("float64")
    if column.name in config.DATE_COLUMNS:
        dates = pd.to_datetime(column, format=config.DATE_FORMAT, errors="coerce")
        if dates.isna().mean() > 0.5:
            dates = pd.to_datetime(column, format="ISO8601", errors="coerce")
        days = dates.astype("int64").where(dates.notna()) / 86_400e9
        return days.astype("float64")
    return None


def numeric_drift(before: pd.Series, after: pd.Series, dates: bool = False) -> dict:
    """PSI over the before side's deciles, and the means and medians of both sides (as dates
    when the numbers are days)."""
    old, new = before.dropna().to_numpy(), after.dropna().to_numpy()
    edges = np.unique(np.quantile(old, np.linspace(0, 1, BINS + 1))) if len(old) else []
    if len(old) == 0 or len(new) == 0 or len(edges) < 2:
        return {"kind": "number", "psi": 0.0}
    inner = edges[1:-1]  # values below the first or above the last edge fall in the end bins
    old_bins = np.bincount(np.searchsorted(inner, old, side="right"), minlength=len(inner) + 1)
    new_bins = np.bincount(np.searchsorted(inner, new, side="right"), minlength=len(inner) + 1)

    def shown(value: float) -> float | str:
        if dates:
            return (pd.Timestamp(0) + pd.Timedelta(days=float(value))).date().isoformat()
        return round(float(value), 4)

    return {
        "kind": "number",
        "psi": round(psi(old_bins / len(old), new_bins / len(new)), 4),
        "mean": [shown(old.mean()), shown(new.mean())],
        "median": [shown(np.median(old)), shown(np.median(new))],
    }


def category_drift(before: pd.Series, after: pd.Series) -> dict:
    """PSI over the values, and the three values whose share moved most."""
    old = before.fillna("(missing)").value_counts(normalize=True)
    new = after.fillna("(missing)").value_counts(normalize=True)
    values = old.index.union(new.index)
    old, new = old.reindex(values, fill_value=0.0), new.reindex(values, fill_value=0.0)
    moved = (new - old).abs().sort_values(ascending=False).index[:3]
    return {
        "kind": "category",
        "psi": round(psi(old.to_numpy(), new.to_numpy()), 4),
        "shares": {str(v): [round(float(old[v]), 4), round(float(new[v]), 4)] for v in moved},
    }


def _few_values(before: pd.Series, after: pd.Series, most: int = 20) -> bool:
    return len(set(before.dropna()) | set(after.dropna())) <= most


def _labels(numbers: pd.Series) -> pd.Series:
    return numbers.map("{:g}".format, na_action="ignore")


def column_drift(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, dict]:
    """Per column present on both sides (identifiers and many-valued text left out): the PSI,
    whether it is past DRIFT_THRESHOLD, and the model inputs the column feeds."""
    found = {}
    for name in before.columns:
        if name not in after.columns or name in ("Row ID", config.GROUP_COLUMN):
            continue
        old, new = _as_numbers(before[name]), _as_numbers(after[name])
        if old is not None and new is not None and _few_values(old, new):
            result = category_drift(_labels(old), _labels(new))
        elif old is not None and new is not None:
            result = numeric_drift(old, new, dates=name in config.DATE_COLUMNS)
        elif before[name].nunique() <= MAX_CATEGORIES:
            result = category_drift(before[name].astype(object), after[name].astype(object))
        else:
            continue
        result["drifted"] = result["psi"] >= DRIFT_THRESHOLD
        result["feeds"] = list(FEEDS.get(name, ()))
        found[name] = result
    return dict(sorted(found.items(), key=lambda item: -item[1]["psi"]))


def format_drift(drift: dict[str, dict], shown: int = 8, least: float = 0.01) -> list[str]:
    """The columns that drifted, then the next largest moves (PSI at least `least`), as lines
    of text; one line when no column moved that much."""
    if not drift:
        return []
    largest, top = next(iter(drift.items()))
    if top["psi"] < least:
        return [f"distribution drift: no column moved by PSI {least} or more (largest: {largest})"]
    lines = [f"distribution drift (PSI; {DRIFT_THRESHOLD} or more is flagged):"]
    for rank, (name, result) in enumerate(drift.items()):
        if not result["drifted"] and (rank >= shown or result["psi"] < least):
            break
        flag = "DRIFTED" if result["drifted"] else "       "
        if result["kind"] == "number" and "mean" in result:
            (m0, m1), (d0, d1) = result["mean"], result["median"]
            detail = f"mean {m0} -> {m1}, median {d0} -> {d1}"
        elif result["kind"] == "category":
            detail = ", ".join(
                f"{value} {a:.1%} -> {b:.1%}" for value, (a, b) in result["shares"].items()
            )
        else:
            detail = ""
        feeds = f"; feeds {', '.join(result['feeds'])}" if result["feeds"] else ""
        lines.append(f"  {name:14} PSI {result['psi']:.3f} {flag} {detail}{feeds}")
    return lines
