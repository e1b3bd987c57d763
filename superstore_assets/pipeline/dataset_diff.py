"""What differs between two datasets: rows added, removed and changed, columns, categories."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from superstore_assets.pipeline.drift import column_drift, format_drift

KEY = "Row ID"
EXAMPLES = 5
# Text columns whose set of values is worth watching: a new Region or Ship Mode is news.
CATEGORY_COLUMNS = ("Ship Mode", "Segment", "Region", "Category", "Sub-Category", "State")


@dataclass
class DatasetDiff:
    rows_before: int
    rows_after: int
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    changed_by_column: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)  # Row ID, column, before, after
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    categories: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # column -> +/-
    drift: dict[str, dict] = field(default_factory=dict)  # column -> PSI and more (drift.py)

    def to_json(self) -> dict:
        return asdict(self)


def _cell(value) -> object:
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def diff_datasets(before: pd.DataFrame, after: pd.DataFrame) -> DatasetDiff:
    """Compare two Superstore frames row by row, keyed by Row ID."""
    result = DatasetDiff(rows_before=len(before), rows_after=len(after))
    result.columns_added = [c for c in after.columns if c not in before.columns]
    result.columns_removed = [c for c in before.columns if c not in after.columns]
    a = before.drop_duplicates(KEY).set_index(KEY)
    b = after.drop_duplicates(KEY).set_index(KEY)
    result.added = sorted(int(k) for k in b.index.difference(a.index))
    result.removed = sorted(int(k) for k in a.index.difference(b.index))
    both = a.index.intersection(b.index)
    common = [c for c in a.columns if c in b.columns]
    left, right = a.loc[both, common], b.loc[both, common]
    same = (left == right) | (left.isna() & right.isna())
    different = ~same
    result.changed = sorted(int(k) for k in different.index[different.any(axis=1)])
    result.changed_by_column = {c: int(n) for c, n in different.sum().items() if n}
    for row_id in result.changed[:EXAMPLES]:
        for column in common:
            if different.at[row_id, column]:
                result.examples.append(
                    {
                        KEY: row_id,
                        "column": column,
                        "before": _cell(left.at[row_id, column]),
                        "after": _cell(right.at[row_id, column]),
                    }
                )
    for column in CATEGORY_COLUMNS:
        if column in before and column in after:
            old, new = set(before[column].dropna()), set(after[column].dropna())
            if old != new:
                result.categories[column] = {
                    "added": sorted(new - old),
                    "removed": sorted(old - new),
                }
    result.drift = column_drift(before, after)
    return result


def format_dataset_diff(d: DatasetDiff) -> list[str]:
    """The dataset part of a diff as lines of text."""
    lines = [
        f"rows: {d.rows_before} -> {d.rows_after}; {len(d.added)} added, "
        f"{len(d.removed)} removed, {len(d.changed)} changed (by {KEY})"
    ]
    if d.changed_by_column:
        columns = ", ".join(f"{c} {n}" for c, n in d.changed_by_column.items())
        lines.append(f"changed cells by column: {columns}")
    for example in d.examples:
        lines.append(
            f"  {KEY} {example[KEY]}: {example['column']} "
            f"{example['before']!r} -> {example['after']!r}"
        )
    if d.added:
        lines.append(f"added Row IDs: {_some(d.added)}")
    if d.removed:
        lines.append(f"removed Row IDs: {_some(d.removed)}")
    if d.columns_added or d.columns_removed:
        lines.append(f"columns added: {d.columns_added}; removed: {d.columns_removed}")
    for column, change in d.categories.items():
        lines.append(f"{column} values added: {change['added']}; removed: {change['removed']}")
    lines += format_drift(d.drift)
    return lines


def _some(values: list[int], n: int = 10) -> str:
    shown = ", ".join(map(str, values[:n]))
    return shown + (f" … ({len(values)} in all)" if len(values) > n else "")


def metric_changes(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Per model and metric, after minus before (models or metrics on one side only left out)."""
    return {
        model: {m: after[model][m] - before[model][m] for m in after[model] if m in before[model]}
        for model in after
        if model in before
    }
