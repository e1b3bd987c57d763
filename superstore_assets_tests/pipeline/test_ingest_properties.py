"""Properties of the loader: whatever the file or frame, read_orders and clean_orders either give
a table that keeps the clean table's promises or refuse with a DatasetError, never another error.

The examples are derandomized and no example database is kept, so every run, here or in CI,
tries the same cases.
"""

from __future__ import annotations

import csv
import io
import re
import string

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

from superstore_assets.pipeline import cleaning, config, reading
from superstore_assets_tests.parsers import arrow_reads, assert_read_alike

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)

# Cell text that Windows-1252 and UTF-8 both encode. Its non-ASCII letters are bytes from 0xC0
# up in Windows-1252, each of which would open a UTF-8 sequence only if bytes 0x80-0xBF followed;
# none do here, so Windows-1252 bytes never pass for UTF-8. (They can: é followed by two curly
# quotes is valid UTF-8 for another character, a limit of telling encodings apart by trying.)
ALPHABET = string.ascii_letters + string.digits + " ,;\t\"'-./&#()\n" + "éèàçöüÉ"
TEXT = st.text(ALPHABET, min_size=1, max_size=12)
INTEGER_COLUMNS = ("Row ID", "Quantity")

# Numbers as files and spreadsheets write them, and what else lands in a numeric column.
DECIMALS = st.decimals(-10_000, 10_000, places=4, allow_nan=False).map(str)
NUMBER_CELLS = st.one_of(
    DECIMALS,
    st.integers(-5, 20).map(str),
    st.floats().map(repr),  # inf, nan, 1e+300
    st.integers().map(str),  # beyond int64 too
    st.sampled_from(["", " 12 ", "n/a", "#DIV/0!", "$12.00", "1,234.50", "-"]),
    TEXT,
)
DATES = st.dates(pd.Timestamp("2000-01-01").date(), pd.Timestamp("2030-12-31").date())
DATE_CELLS = {
    "month first": DATES.map(lambda d: f"{d.month}/{d.day}/{d.year}"),
    "iso": DATES.map(lambda d: d.isoformat()),
    "day first": DATES.map(lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}"),
    "garbage": st.one_of(TEXT, st.sampled_from(["", "13/45/2016", "2016-02-30", "1/1/99999"])),
}


def now_and_then(draw) -> bool:
    """True about one time in four (st.integers favours its bounds, so 0 of 0..3 is not)."""
    return draw(st.booleans()) and draw(st.booleans())


@st.composite
def date_cells(draw) -> st.SearchStrategy[str]:
    """The dates of one file: mostly in one style (most often month first), now and then mixed."""
    style = draw(st.sampled_from(["month first", "month first", "iso", "day first", "garbage"]))
    return st.one_of(*DATE_CELLS.values()) if now_and_then(draw) else DATE_CELLS[style]


@st.composite
def order_cells(
    draw,
    numbers: st.SearchStrategy[str],
    counts: st.SearchStrategy[str],
    dates: st.SearchStrategy[str],
) -> dict:
    """One order line as the file's cells, all text: Sales, Discount and Profit drawn from
    `numbers`, Row ID and Quantity from `counts`."""
    cells = {c: draw(TEXT) for c in config.TEXT_COLUMNS}
    cells["Order ID"] = f"{draw(st.sampled_from(['CA', 'US']))}-{draw(st.integers(2014, 2017))}-"
    cells["Order ID"] += str(draw(st.integers(100000, 999999)))
    cells["Postal Code"] = draw(st.from_regex(r"[0-9]{1,5}", fullmatch=True))
    cells["Row ID"] = draw(counts)
    cells["Quantity"] = draw(counts)
    for column in ("Sales", "Discount", "Profit"):
        cells[column] = draw(numbers)
    for column in config.DATE_COLUMNS:
        cells[column] = draw(dates)
    return cells


@st.composite
def superstore_files(draw) -> tuple[bytes, pd.DataFrame, str, bool]:
    """A Superstore file's bytes, the cells written into it, its layout and whether it is well
    formed (numbers as numbers, no edit).

    Any encoding the loader reads, any delimiter, a header or either headerless layout; under a
    header, columns dropped, shuffled, added or written twice, names padded with spaces; and, for
    a malformed file, one edit to its text.
    """
    well_formed_numbers = draw(st.booleans())
    numbers = DECIMALS if well_formed_numbers else NUMBER_CELLS
    counts = st.integers(1, 10**6).map(str) if well_formed_numbers else NUMBER_CELLS
    dates = draw(date_cells())
    rows = draw(st.lists(order_cells(numbers, counts, dates), min_size=1, max_size=6))
    rows += draw(st.lists(st.sampled_from(rows), max_size=2))  # lines entered twice
    df = pd.DataFrame(rows, columns=list(config.SUPERSTORE_COLUMNS))
    layout = draw(st.sampled_from(["header", "headerless 21", "headerless 19"]))
    if layout == "headerless 19":
        df = df[list(config.LEGACY_COLUMNS)]
    elif layout == "header":
        dropped = draw(st.sets(st.sampled_from(config.SUPERSTORE_COLUMNS), max_size=2))
        df = df.drop(columns=sorted(dropped))
        df = df[draw(st.permutations(list(df.columns)))]
        if draw(st.booleans()):
            df = df.assign(Notes=draw(st.lists(TEXT, min_size=len(df), max_size=len(df))))
        if now_and_then(draw):  # a column written twice, as a spreadsheet's copy can
            df = df.iloc[:, [*range(df.shape[1]), draw(st.integers(0, df.shape[1] - 1))]]
        padded = draw(st.sets(st.integers(0, df.shape[1] - 1), max_size=3))
        df = df.set_axis([f" {c} " if i in padded else c for i, c in enumerate(df.columns)], axis=1)
    text = df.to_csv(
        index=False,
        header=layout == "header",
        sep=draw(st.sampled_from([",", ";", "\t"])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )
    edit = draw(st.sampled_from(["none", "none", "insert", "delete", "truncate"]))
    at = draw(st.integers(0, max(len(text) - 1, 0)))
    if edit == "insert":
        text = text[:at] + draw(st.sampled_from([",", ";", "\t", '"', "\n"])) + text[at:]
    elif edit == "delete":
        text = text[:at] + text[at + 1 :]
    elif edit == "truncate":
        text = text[:at]
    data = text.encode(draw(st.sampled_from(["utf-8", "cp1252"])))
    return data, df, layout, edit == "none" and well_formed_numbers


def first_line_is_a_header(df: pd.DataFrame) -> bool:
    """Whether a headerless file's first line would read as a header: a cell names a column."""
    return bool(set(df.iloc[0].astype(str).str.strip()) & set(config.SUPERSTORE_COLUMNS))


def refused(error: reading.DatasetError) -> None:
    """A refusal is one sentence; the kinds met show with --hypothesis-show-statistics."""
    assert str(error) and "\n" not in str(error)
    event(f"refused: {re.sub(r'[0-9]+', 'N', str(error))[:60]}")


def assert_read(df: pd.DataFrame, facts: dict) -> None:
    """What read_orders promises of any frame it returns."""
    assert isinstance(df.index, pd.RangeIndex) and facts["rows"] == len(df) > 0
    assert facts["columns"] == len(df.columns) and df.columns.is_unique
    for column in config.NUMERIC_COLUMNS:
        if column in df:
            expected = "Int64" if column in INTEGER_COLUMNS else "float64"
            assert str(df[column].dtype) == expected, column


def assert_clean(raw: pd.DataFrame, clean: pd.DataFrame, counts: dict) -> None:
    """The clean table's promises, from clean_orders' docstring and code: the input's columns and
    the target, profitable exactly when Profit > 0, no missing Profit, dates as datetimes, no
    line twice, no row that was not in the input."""
    assert list(clean.columns) == [*raw.columns, config.TARGET]
    assert isinstance(clean.index, pd.RangeIndex)
    assert len(clean) <= len(raw) and counts["rows"] == len(clean)
    assert is_numeric_dtype(clean["Profit"]) and clean["Profit"].notna().all()
    assert is_bool_dtype(clean[config.TARGET])
    assert (clean[config.TARGET] == (clean["Profit"] > 0)).all()
    for column in config.DATE_COLUMNS:
        assert is_datetime64_any_dtype(clean[column]), column
    content = [c for c in clean.columns if c != "Row ID"]
    assert not clean.duplicated(subset=content).any()
    assert set(clean["Row ID"].dropna()) <= set(raw["Row ID"].dropna())
    assert all(isinstance(n, int) for rule, n in counts.items() if rule != "date_format")


@pytest.mark.slow  # 200 files
@SETTINGS
@given(superstore_files())
def test_read_orders_reads_or_refuses_any_file(file):
    data, written, layout, well_formed = file
    readable = well_formed and (layout == "header" or not first_line_is_a_header(written))
    try:
        df, facts = reading.read_orders(data)
    except reading.DatasetError as error:
        refused(error)
        assert not readable, error
        return
    assert_read(df, facts)
    if readable:
        # Every cell read back as written, in the column it was written in, typed by its name.
        assert len(df) == len(written)
        read = df if layout == "header" else df[list(written.columns)]
        for (_, cells), (name, values) in zip(written.items(), read.items(), strict=True):
            if name in config.NUMERIC_COLUMNS:
                expected = pd.to_numeric(cells).tolist()
                assert values.astype("float64").tolist() == pytest.approx(expected), name
            elif name == "Postal Code":
                assert values.tolist() == cells.str.zfill(5).tolist()
            else:  # an empty cell is missing
                assert values.fillna("").tolist() == cells.tolist(), name
    if not cleaning.missing_columns(df):
        try:
            clean, counts = cleaning.clean_orders(df)
        except reading.DatasetError as error:
            refused(error)
            return
        assert_clean(df, clean, counts)
        event(f"read and cleaned ({facts['layout']})")


@pytest.mark.slow  # 200 files
@SETTINGS
@given(superstore_files())
def test_arrow_reads_any_file_as_pandas_does(file):
    """Arrow parses the common file; it must give the frame and facts pandas gives, or leave
    the file to pandas, whose refusal then stands."""
    data = file[0]
    if assert_read_alike(data):
        event("read by Arrow" if arrow_reads(data) else "left to pandas")


# A frame as clean_orders may be handed one: typed as read_orders types it, or not at all.
# Profit per line of the pool: gains and losses in turn, gains only, any float or NaN, text.
PROFIT_CELLS = {
    "gains and losses": lambda i: st.floats(0.01, 1000).map(lambda x: x if i % 2 else -x),
    "gains only": lambda i: st.floats(0.01, 1000),
    "any float": lambda i: st.one_of(st.floats(-1000, 1000), st.just(float("nan"))),
    "numeric text": lambda i: DECIMALS,
    "any text": lambda i: NUMBER_CELLS,
}


@st.composite
def raw_frames(draw) -> pd.DataFrame:
    """Orders with missing columns, Profit as text or missing, dates in mixed formats or
    garbage, no rows, one class only and lines entered twice (under another Row ID)."""
    dates = draw(date_cells())
    profits = PROFIT_CELLS[draw(st.sampled_from(sorted(PROFIT_CELLS)))]
    sales = draw(st.sampled_from([st.floats(0, 5000), st.just(float("nan")), NUMBER_CELLS]))
    counts = st.integers(1, 14).map(str)
    pool = [
        {
            **cells,
            "Quantity": int(cells["Quantity"]),
            "Discount": float(cells["Discount"]),
            "Sales": draw(sales),
            "Profit": draw(profits(i)),
        }
        for i, cells in enumerate(
            draw(st.lists(order_cells(DECIMALS, counts, dates), min_size=2, max_size=6))
        )
    ]
    lines = draw(st.permutations(pool + draw(st.lists(st.sampled_from(pool), max_size=3))))
    if now_and_then(draw):
        lines = []
    rows = [{**cells, "Row ID": row_id} for row_id, cells in enumerate(lines, start=1)]
    df = pd.DataFrame(rows, columns=list(config.SUPERSTORE_COLUMNS))
    df["Row ID"] = df["Row ID"].astype("Int64")
    df["Quantity"] = df["Quantity"].astype("Int64")
    if now_and_then(draw):
        dropped = draw(st.sets(st.sampled_from(config.SUPERSTORE_COLUMNS), min_size=1, max_size=3))
        df = df.drop(columns=sorted(dropped))
    return df


@pytest.mark.slow  # 200 frames
@SETTINGS
@given(raw_frames())
def test_clean_orders_cleans_or_refuses_any_frame(raw):
    before = raw.copy()
    try:
        clean, counts = cleaning.clean_orders(raw)
    except reading.DatasetError as error:
        refused(error)
        return
    finally:
        pd.testing.assert_frame_equal(raw, before)  # the input is left as it was
    assert_clean(raw, clean, counts)
    event("cleaned, both classes" if clean[config.TARGET].nunique() == 2 else "cleaned, one class")


# Bytes of CSV-like text: the characters that decide where a record ends, and others.
RECORD_TEXT = st.text(st.sampled_from(list('a,;"\n\r é')), max_size=40)


@SETTINGS
@given(RECORD_TEXT, st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "mac_roman"]))
def test_records_are_counted_as_the_csv_reader_reads_them(text, encoding):
    data = text.encode(encoding)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    assert reading.count_records(data) == sum(1 for _ in csv.reader(stream)), data
