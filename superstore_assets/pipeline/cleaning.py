"""Clean orders from the raw ones: numbers, dates, the target `Profit > 0`, duplicates dropped.

Pure pandas: every function takes and returns data, so tests call them without Dagster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from superstore_assets.pipeline import config
from superstore_assets.pipeline.reading import DatasetError, parse_numbers


def missing_columns(df: pd.DataFrame) -> list[str]:
    """The columns the pipeline needs that the frame lacks, in file order."""
    return [c for c in config.REQUIRED_COLUMNS if c not in df.columns]


def parse_dates(values: pd.Series, date_format: str = config.DATE_FORMAT) -> pd.Series:
    """Parse dates in the given format; a cell that does not match becomes NaT.

    Each distinct cell is parsed once: a file of millions of lines holds a few thousand dates.
    """
    codes, cells = pd.factorize(values)
    parsed = pd.to_datetime(pd.Series(cells, dtype=object), format=date_format, errors="coerce")
    dates = parsed.array.take(codes, allow_fill=True)  # -1, a missing cell: NaT
    return pd.Series(dates, index=values.index, name=values.name)


def detect_date_format(values: pd.Series, configured: str = "auto") -> str:
    """The date format of these cells: the configured one, else month first or ISO.

    Day-first dates are refused unless configured: 03/04/2016 would be read as 4 March, so a
    column in which some first number exceeds 12 (13/04/2016) is named, not guessed.
    """
    if configured != "auto":
        return configured
    # Each distinct cell once, in order of first appearance, weighted by how often it appears.
    codes, distinct = pd.factorize(values)
    if len(distinct) == 0:
        return config.DATE_FORMAT
    counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
    cells = pd.Series(distinct, dtype=object).astype(str).str.strip()
    parsed = {
        fmt: counts[parse_dates(cells, fmt).notna().to_numpy()].sum() / counts.sum()
        for fmt in config.DATE_FORMATS
    }
    best = max(parsed, key=parsed.get)
    if parsed[best] == 1.0:
        return best
    for day_first in config.DAY_FIRST_FORMATS:
        if parse_dates(cells, day_first).notna().all():
            separator = day_first[2]  # %d/%m/%Y, %d.%m.%Y, %d-%m-%Y
            month_first = f"%m{separator}%d{separator}%Y"
            cannot = cells[parse_dates(cells, month_first).isna()]
            if cannot.empty:  # every day is 12 or less: either way round reads them all
                raise DatasetError(
                    f"the dates may be day or month first ({cells.iloc[0]!r}); set "
                    f"SUPERSTORE_DATE_FORMAT={day_first} or {month_first} to say which"
                )
            raise DatasetError(
                f"the dates are day first ({cannot.iloc[0]!r} cannot be month first); to read "
                f"them so, set SUPERSTORE_DATE_FORMAT={day_first}"
            )
    if parsed[best] < 0.5:
        raise DatasetError(
            f"most dates match no known format (for example {cells.iloc[0]!r}); expected month "
            "first like 11/8/2016 (a time of day may follow), ISO like 2016-11-08, or a month by "
            "name like 8-Nov-2016; or set SUPERSTORE_DATE_FORMAT"
        )
    return best  # the cells that do not match become missing, and are counted


def duplicated_rows(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """`df.duplicated(subset=columns)` (each repeat after the first), in the memory of a few
    columns: rows are hashed, and only rows whose hash repeats are compared cell by cell.

    Numbers and dates are hashed first, which is cheap; text, which is hashed by factorizing
    it, only on the rows that still may repeat. Two equal rows hash alike on every column, so
    no repeat is missed."""
    cheap = [c for c in columns if df[c].dtype != object]
    text = [c for c in columns if df[c].dtype == object]
    candidates = np.arange(len(df))
    for group in (cheap, text):
        if not group or not len(candidates):
            continue
        hashes = np.zeros(len(candidates), dtype=np.uint64)
        for column in group:  # one column at a time: no copy of the frame
            values = df[column]
            if len(candidates) < len(df):
                values = values.iloc[candidates]
            column_hashes = pd.util.hash_pandas_object(values, index=False).to_numpy()
            hashes = (hashes ^ column_hashes) * np.uint64(0x100000001B3)  # FNV-style, wrapping
        candidates = candidates[pd.Series(hashes).duplicated(keep=False).to_numpy()]
    duplicated = np.zeros(len(df), dtype=bool)
    if len(candidates):
        rows = df.iloc[candidates][columns]
        duplicated[candidates] = rows.duplicated(keep="first").to_numpy()
    return pd.Series(duplicated, index=df.index)


def keep_rows(df: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """`df[keep]`, built a column at a time: pandas would gather the kept rows into one block
    per dtype, which at millions of lines holds the table's text twice over at its peak.

    Each column keeps its dtype as given: a frame built from bare object arrays would have
    pandas scan every cell of each for dates."""
    rows = np.asarray(keep, dtype=bool)
    index = df.index[rows]
    columns = {
        column: pd.Series(df[column].array[rows], index=index, dtype=df[column].dtype, copy=False)
        for column in df.columns
    }
    return pd.DataFrame(columns, index=index, copy=False)


def add_target(df: pd.DataFrame) -> pd.DataFrame:
    """Add the target in place: a line is profitable when its Profit is above zero."""
    df[config.TARGET] = df["Profit"] > 0
    return df


def ensure_numeric(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with its numeric columns as numbers, as `read_orders` gives them.

    A frame built elsewhere may hold them as text or Python objects: numbers written as text
    are converted and blank cells become missing, as in a file; other text is refused, since
    it is not known what it meant.
    """
    for column in config.NUMERIC_COLUMNS:
        if pd.api.types.is_numeric_dtype(df[column]):
            continue
        blank = df[column].map(lambda cell: isinstance(cell, str) and not cell.strip())
        cells = df[column].mask(blank.astype(bool))
        text = cells[pd.to_numeric(cells, errors="coerce").isna() & cells.notna()]
        if not text.empty:
            raise DatasetError(
                f"the {column} column holds text, not numbers (for example {text.iloc[0]!r}); "
                "read the file with read_orders, which counts such cells and leaves them empty"
            )
        df[column] = parse_numbers(column, cells)
    return df


def clean_orders(
    raw: pd.DataFrame, date_format: str = "auto"
) -> tuple[pd.DataFrame, dict[str, int | str]]:
    """Dates parsed, target added, rows without a target and duplicate lines dropped.

    A duplicate is the same line under another Row ID, its dates compared once parsed: 1/4/2016
    and 01/04/2016 are one day. Returns the clean frame and, per rule, how many rows it touched
    (and the date format).
    """
    missing = missing_columns(raw)
    if missing:
        raise DatasetError(f"the orders lack columns the pipeline needs: {', '.join(missing)}")
    # A shallow copy: columns are replaced, never written into, so `raw` stays as it was.
    df = ensure_numeric(raw.copy(deep=False))
    has_profit = df["Profit"].notna()
    if not has_profit.all():
        df = keep_rows(df, has_profit)
    fmt = detect_date_format(pd.concat([df[c] for c in config.DATE_COLUMNS]), date_format)
    unparsed = {}
    for column in config.DATE_COLUMNS:
        parsed = parse_dates(df[column], fmt)
        unparsed[column] = parsed.isna() & df[column].notna()
        df[column] = parsed
    content = [c for c in df.columns if c != "Row ID"]
    duplicated = duplicated_rows(df, content)
    if duplicated.any():
        df = keep_rows(df, ~duplicated)
    counts: dict[str, int | str] = {
        "dropped_missing_profit": int((~has_profit).sum()),
        "dropped_duplicates": int(duplicated.sum()),
        "date_format": fmt,
    }
    for column in config.DATE_COLUMNS:
        rule = f"unparsed_{column.lower().replace(' ', '_')}"
        counts[rule] = int(unparsed[column][~duplicated].sum())
    for column in ("Sales", "Quantity", "Discount"):
        counts[f"missing_{column.lower()}"] = int(df[column].isna().sum())
    add_target(df)
    df.index = pd.RangeIndex(len(df))
    counts["rows"] = len(df)
    return df, counts
