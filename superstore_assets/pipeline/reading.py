"""Reading the Superstore file: its encoding, delimiter and layout, into a typed frame.

Pure pandas: every function takes and returns data, so tests call them without Dagster.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from superstore_assets.pipeline import config

DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# An Order ID as the Superstore file writes it (CA-2016-152156). A first line that holds one and
# no column name is data, not a header.
ORDER_ID = re.compile(r"[A-Z]{2}-\d{4}-\d+")
# Every line of the Superstore file is in the United States; the older layout leaves it out.
COUNTRY = "United States"


class DatasetError(ValueError):
    """The dataset cannot be read or used; the message says which file, what and how to fix it."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


DECODE_CHUNK = 1 << 24  # bytes checked at a time: a large file is never held twice as text


def byte_chunks(source: bytes | Path, size: int = DECODE_CHUNK) -> Iterator[bytes]:
    """The bytes of a file, or of a file's bytes in memory, a slice at a time."""
    if isinstance(source, Path):
        with source.open("rb") as file:
            while chunk := file.read(size):
                yield chunk
    else:
        for start in range(0, len(source), size):
            yield source[start : start + size]


def head_bytes(source: bytes | Path, size: int) -> bytes:
    """The first `size` bytes."""
    if isinstance(source, Path):
        with source.open("rb") as file:
            return file.read(size)
    return bytes(source[:size])


def line_ends(source: bytes | Path) -> tuple[bool, bool]:
    """Whether the bytes hold a CR, and whether they hold an LF."""
    cr = lf = False
    for chunk in byte_chunks(source):
        cr, lf = cr or b"\r" in chunk, lf or b"\n" in chunk
    return cr, lf


# Files a person may take for the CSV, by their first bytes: what each is, and what to do.
NOT_CSV = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an Excel 97-2003 workbook (.xls, as Tableau ships the sample)",
        "save its Orders sheet as CSV",
    ),
    (
        b"PK\x03\x04",
        "a ZIP archive or an Excel workbook (.xlsx)",
        "save the Orders sheet as CSV, or unzip the CSV from it",
    ),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip)"),
    (
        codecs.BOM_UTF16_LE,
        'UTF-16 text (as Excel\'s "Unicode Text" saves it)',
        'save it as "CSV UTF-8"',
    ),
    (codecs.BOM_UTF16_BE, "UTF-16 text", "save it as UTF-8"),
)


# The five bytes Windows-1252 leaves undefined. Every other byte is a character, so a file
# decodes as Windows-1252 exactly when it holds none of them: five scans of the bytes answer
# that in a tenth of the time decoding them takes (1.3 s for a million lines here). Mac Roman
# defines all 256 bytes.
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


def decodes(source: bytes | Path, encoding: str) -> bool:
    """Whether the bytes (or the file) decode as `encoding`, a slice at a time."""
    if encoding == "mac_roman":
        return True
    if encoding == "cp1252":
        return not any(b in chunk for chunk in byte_chunks(source) for b in CP1252_UNDEFINED)
    # UTF-8 with a byte-order mark decodes where UTF-8 does (the mark is a UTF-8 character);
    # its own incremental decoder takes a file of the mark's first byte alone for empty text.
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf-8-sig" else encoding)()
    try:
        for chunk in byte_chunks(source):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(source: bytes | Path) -> tuple[str, str]:
    """The codec that reads the file's bytes (or the file), and its name for people.

    UTF-8 (a byte-order mark allowed) first; else Mac Roman for a file whose lines end in CR
    alone (classic Mac OS), else Windows-1252, the real file's encoding. The bytes are checked a
    slice at a time, and the text thrown away, so a file of gigabytes costs no copy of itself.
    """
    head = head_bytes(source, 65536)
    for magic, what, fix in NOT_CSV:
        if head.startswith(magic):
            raise DatasetError(f"the file is {what}, not CSV text; {fix}")
    if b"\x00" in head:
        raise DatasetError("the file is binary (it holds NUL bytes), not CSV text")
    cr, lf = line_ends(source)
    for encoding in config.ENCODINGS:
        if encoding == "cp1252" and cr and not lf:
            encoding = "mac_roman"
        if not decodes(source, encoding):
            continue
        label = encoding
        if encoding == "utf-8-sig":
            label = "utf-8 (BOM)" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
        return encoding, label
    raise DatasetError(
        "the file is neither UTF-8 nor Windows-1252 text; save it as CSV in one of those encodings"
    )


def decode(data: bytes) -> Decoded:
    """Decode a CSV file's bytes, with line ends made LF (the encoding as `detect_encoding`)."""
    encoding, label = detect_encoding(data)
    return Decoded(text=as_lf(data.decode(encoding)), encoding=label)


def as_lf(text: str) -> str:
    """The text with CR LF and CR line ends made LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_stream(data: bytes, encoding: str) -> io.TextIOWrapper:
    """The bytes read as text a piece at a time, line ends left to the CSV reader."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def head_text(source: bytes | Path, encoding: str, size: int = 1 << 20) -> str:
    """The first `size` bytes as text (a character cut in two at the end is left out)."""
    return codecs.getincrementaldecoder(encoding)().decode(head_bytes(source, size))


@dataclass(frozen=True)
class Layout:
    """How a file lays out its columns: its delimiter, and whether its first line names them."""

    delimiter: str
    header: bool
    fields: int  # in the first line
    repeats_a_name: bool = False  # the header names a column twice


def header_fields(text: str, delimiter: str) -> list[str]:
    """The first record's fields as they are written, spaces kept (a quoted line break stays
    inside its field)."""
    try:
        return next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        return []


def split_first_record(text: str, delimiter: str) -> list[str]:
    """The first record's fields, stripped."""
    return [field.strip() for field in header_fields(text, delimiter)]


def detect_layout(text: str) -> Layout:
    """The delimiter, and whether the first line is a header or already a line of orders.

    It is an order when none of its fields is a Superstore column name and one is an Order ID.
    The sniffer reads a header line well, but on a line of data it can take the comma inside a
    product name for the delimiter; there the delimiter that cuts the line into the most fields
    wins.
    """
    try:
        sniffed = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    fields = split_first_record(text, sniffed)
    if not {column_key(f) for f in fields} & set(COLUMN_KEYS):
        splits = {d: split_first_record(text, d) for d in DELIMITERS}
        data = [d for d, split in splits.items() if any(ORDER_ID.fullmatch(f) for f in split)]
        if data:
            delimiter = max(data, key=lambda d: (len(splits[d]), d == sniffed))
            return Layout(delimiter=delimiter, header=False, fields=len(splits[delimiter]))
    return Layout(
        delimiter=sniffed,
        header=True,
        fields=len(fields),
        repeats_a_name=len(set(fields)) < len(fields),
    )


def headerless_columns(fields: int) -> tuple[str, ...]:
    """The column names of a file without a header line, known from its number of fields."""
    if fields == len(config.SUPERSTORE_COLUMNS):
        return config.SUPERSTORE_COLUMNS
    if fields == len(config.LEGACY_COLUMNS):
        return config.LEGACY_COLUMNS
    raise DatasetError(
        f"the file has no header line and its first line has {fields} fields; without a header "
        f"it must hold the {len(config.SUPERSTORE_COLUMNS)} Superstore columns in their usual "
        f"order, or the older layout's {len(config.LEGACY_COLUMNS)} (the same without Row ID "
        "and Country)"
    )


def describe_extra_fields(line: int, fields: int, expected: int, layout: Layout) -> str:
    """The sentence for a row with more fields than the first line, which pandas cannot place."""
    first = "header line" if layout.header else "first line"
    return (
        f"line {line} has {fields} fields where the {first} has {expected}; a cell that holds "
        f"a {DELIMITER_NAMES[layout.delimiter]} must be in quotes"
    )


def describe_parser_error(error: pd.errors.ParserError, layout: Layout) -> str:
    """The sentence for a file pandas cannot tokenize, from the reason pandas gives."""
    reason = str(error).removeprefix("Error tokenizing data. C error: ").strip() or "no reason"
    if found := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", reason):
        expected, line, fields = map(int, found.groups())
        return describe_extra_fields(line, fields, expected, layout)
    if found := re.search(r"EOF inside string starting at row (\d+)", reason):
        line = int(found.group(1)) + 1
        return f"a quote opened on line {line} is never closed, so the rest of the file is one cell"
    return f"the file cannot be read as CSV ({reason.splitlines()[0]})"


# A quoted field as Python's csv reader (its default dialect) reads one: a quote where a field
# starts (at the start, after a comma or a line end) opens it, a doubled quote stays inside, and
# the next single quote, or the end of the file, closes it. Elsewhere a quote is a character.
QUOTED_FIELD = re.compile(rb'"(?<![^,\r\n]")[^"]*(?:""[^"]*)*(?:(")|\Z)')


def line_end_count(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Line ends (CR LF, LF or CR alone) in `data[start:end]`, counted without a copy."""
    end = len(data) if end is None else end
    lf = data.count(b"\n", start, end)
    if data.find(b"\r", start, end) < 0:
        return lf
    return lf + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)


def count_records(data: bytes) -> int:
    """The records Python's csv reader (its default dialect) gives for a file's bytes, counted
    without parsing them: the line ends outside quoted fields, and a last record without one.

    Every encoding the loader reads (UTF-8, Windows-1252, Mac Roman) writes quotes, commas and
    line ends as their ASCII bytes, and no other character holds those bytes, so the bytes say
    where they are. A million lines take about half a second; the csv reader took eight times
    as long, building every field as a string.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # decoded, the mark is not there: a field starts
    records = line_end_count(data)
    open_at_end = False
    for quoted in QUOTED_FIELD.finditer(data):
        start, end = quoted.span()
        if data.find(b"\n", start, end) >= 0 or data.find(b"\r", start, end) >= 0:
            records -= line_end_count(data, start, end)
        open_at_end = quoted.group(1) is None  # a quote never closed: its field ends the file
    if open_at_end or (data and data[-1:] not in (b"\n", b"\r")):
        records += 1  # the last record, without a line end of its own
    return records


def count_rows(data: bytes) -> int:
    """Data rows in a CSV file's bytes (a quoted line break does not start a row; a header line
    is not a row); 0 when the bytes are not text."""
    try:
        encoding, _ = detect_encoding(data)
    except DatasetError:
        return 0
    header = detect_layout(as_lf(head_text(data, encoding))).header
    return max(count_records(data) - (1 if header else 0), 0)


def first_row_holding_lines(df: pd.DataFrame, delimiter: str) -> int | None:
    """The position of the first row with a cell that holds whole lines of the file, or None:
    a line break and at least as many delimiters as a line has. Only a quote left open past
    the end of its line puts lines in a cell (a quoted cell may hold a line break, as CSV
    allows, but not a row's worth of fields). Columns read as categories are searched through
    their distinct values."""
    enough = len(df.columns) - 1

    def holds_lines(cell: object) -> bool:
        return isinstance(cell, str) and "\n" in cell and cell.count(delimiter) >= enough

    first = None
    for column in df.columns:
        values = df[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = values.cat.categories
            if categories.dtype != object:
                continue
            swallowed = [c for c in categories if holds_lines(c)]
            if not swallowed:
                continue
            broken = values.isin(swallowed).to_numpy()
        elif values.dtype == object:
            # A plain loop: pandas' `str.contains` costs ten times as much a cell.
            cells = values.to_numpy()
            broken = np.fromiter(
                (isinstance(cell, str) and "\n" in cell for cell in cells),
                dtype=bool,
                count=len(cells),
            )
            if broken.any():  # the rare cells with a line break, looked at one by one
                broken[broken] = [holds_lines(cell) for cell in cells[broken]]
        else:
            continue
        if broken.any():
            position = int(broken.argmax())
            first = position if first is None else min(first, position)
    return first


def pad_postal_codes(cells: pd.Series) -> tuple[pd.Series, int]:
    """The codes stripped, those of one to four digits padded to five, and how many were:
    US ZIP codes have five digits, and spreadsheets drop the leading zero (5408 for 05408).

    Worked out once per distinct code (a few thousand in millions of lines), then spread back
    to the lines."""
    lines, distinct = pd.factorize(cells)
    codes = pd.Series(np.asarray(distinct, dtype=object), dtype=object).str.strip()
    short = codes.str.fullmatch(r"\d{1,4}", na=False).to_numpy(dtype=bool)
    codes = codes.where(~short, codes.str.zfill(5)).to_numpy(dtype=object)
    padded = np.take(codes, lines) if len(codes) else np.full(len(cells), None, dtype=object)
    missing = lines < 0
    padded[missing] = cells.to_numpy(dtype=object)[missing]  # a missing code stays missing
    count = int(short[lines[~missing]].sum())
    return pd.Series(padded, index=cells.index, name=cells.name), count


def column_key(name: str) -> str:
    """A column name as a person means it: case, spaces and punctuation left out, so that
    `ORDER DATE`, `order_date` and `Order Date` are one name."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


COLUMN_KEYS = {column_key(column): column for column in config.SUPERSTORE_COLUMNS}


def canonical_names(columns: list[str]) -> tuple[list[str], dict[str, str]]:
    """The names with each Superstore column written as the Orders sheet writes it (`ORDER
    DATE` becomes `Order Date`), and what was renamed. A name is renamed only where one column
    alone means it and the sheet's own spelling is not there already."""
    present = set(columns)
    meaning = [COLUMN_KEYS.get(column_key(c)) for c in columns]
    renamed: dict[str, str] = {}
    for column, meant in zip(columns, meaning, strict=True):
        if (
            meant is not None
            and meant != column
            and meant not in present
            and meaning.count(meant) == 1
        ):
            renamed[column] = meant
    return [renamed.get(c, c) for c in columns], renamed


def strip_column_names(columns: pd.Index) -> list[str]:
    """The names without surrounding spaces; a name that repeats once stripped ("Sales" and
    "Sales ") gets .1, .2, … as pandas numbers a name repeated exactly, so that each is unique."""
    names: list[str] = []
    for column in columns:
        name = base = str(column).strip()
        repeat = 0
        while name in names:
            repeat += 1
            name = f"{base}.{repeat}"
        names.append(name)
    return names


# Text is parsed as categories, then turned back into str cells: the parser then keeps one
# string per distinct value instead of one per line, which at 10M lines halves the peak memory of
# reading, and the frame is the one `dtype=str` gives. Order IDs, nearly all distinct, are read
# as text: as categories they would cost time and save nothing.
TEXT_AS_READ = "category"
DISTINCT_TEXT = {config.GROUP_COLUMN: str}
# The columns parsed as the file is read, when every cell is a number: the floats. Row ID and
# Quantity stay text until `parse_numbers`, which refuses what an Int64 cannot hold (the
# parser would wrap 9223372036854775808 round to a negative number).
NUMBER_DTYPES = {
    column: "float64" for column in config.NUMERIC_COLUMNS if column not in ("Row ID", "Quantity")
}


# A number as a spreadsheet formats it: a currency sign, thousands separators, a minus or an
# accountant's parentheses for a negative, a percent sign (`$1,234.56`, `-$3.20`, `(12.50)`,
# `20%`). Anything looser (`1,2,3`, `12 apples`) is not a number.
FORMATTED_NUMBER = (
    r"^(?P<minus>-)?\s*(?P<open>\()?\s*(?P<minus_in>-)?\s*[$€£]?\s*(?P<minus_after>-)?\s*"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"\s*(?P<close>\))?\s*(?P<percent>%)?$"
)


# A comma before other than three digits (`12,5`, `9,6705`): a decimal comma, as European
# spreadsheets write numbers. A column that holds one is read the European way: `22,368` is
# 22.368, and `1.234,50` is 1234.5.
DECIMAL_COMMA = r"\d,(?:\d{1,2}|\d{4,})(?!\d)"


def european_to_plain(cells: pd.Series) -> pd.Series:
    """Numbers written with a decimal comma and dots between thousands, written with a decimal
    point and no separator (`1.234,50` becomes `1234.50`)."""
    without_thousands = cells.str.replace(r"(?<=\d)\.(?=\d{3}(?!\d))", "", regex=True)
    return without_thousands.str.replace(",", ".", regex=False)


def formatted_numbers(cells: pd.Series) -> pd.Series:
    """The cells that hold a number as a spreadsheet formats it, as floats (`20%` is 0.2);
    missing where a cell holds none."""
    parts = cells.astype("string").str.extract(FORMATTED_NUMBER)
    minus = parts[["minus", "minus_in", "minus_after"]].notna().sum(axis=1)
    parentheses = parts["open"].notna()
    well_formed = (parentheses == parts["close"].notna()) & (minus + parentheses <= 1)
    digits = parts["digits"].str.replace(",", "", regex=False)
    values = pd.to_numeric(digits, errors="coerce").astype("float64")
    values = values.where(minus + parentheses == 0, -values)
    values = values.where(parts["percent"].isna(), values / 100)
    return values.where(well_formed).astype("float64")


def parse_numbers(column: str, cells: pd.Series) -> pd.Series:
    """The cells as read_orders types the column: whole numbers an Int64 holds for Row ID and
    Quantity (2.5, inf and 1e20 are not counts), floats for the others; anything else missing.
    A number a spreadsheet formatted (`$1,234.56`, `20%`: `formatted_numbers`) is read too."""
    return numbers_and_formatted(column, cells)[0]


def numbers_and_formatted(column: str, cells: pd.Series) -> tuple[pd.Series, int]:
    """`parse_numbers`, and how many of the numbers were read from a spreadsheet's format."""
    written = cells
    if cells.dtype == object and cells.str.contains(DECIMAL_COMMA, na=False).any():
        cells = european_to_plain(cells)
    values = pd.to_numeric(cells, errors="coerce")
    rewritten = written.notna() & (cells != written)
    unread = (values.isna() & cells.notna()) | rewritten
    formatted = unread.any()
    if formatted:
        values = values.astype("float64").mask(unread, formatted_numbers(cells[unread]))
    if column in ("Row ID", "Quantity"):
        whole = (values == values.round()) & (values.abs() < 2**63)
        values = values.where(whole).astype("Int64")
    else:
        values = values.astype("float64")
    return values, int((values.notna() & unread).sum()) if formatted else 0


# The numbers the pipeline learns from (the features, and Profit for the target).
NEEDED_NUMBERS = ("Sales", "Quantity", "Discount", "Profit")


def refuse_without_numbers(column: str, values: pd.Series, cells: pd.Series) -> None:
    """Refuse a column the models need when not one of its cells is a number: missing cells
    are filled in or dropped one by one, but a column of none has nothing to learn from."""
    if column not in NEEDED_NUMBERS or values.notna().any():
        return
    text = cells.dropna()
    if text.empty:
        raise DatasetError(f"every {column} cell is empty; the models need {column} as numbers")
    raise DatasetError(
        f"no {column} cell is a number (for example {text.iloc[0]!r}); the models need "
        f"{column} as numbers such as 12.5, $1,234.50 or 20%"
    )


# Arrow's name for the codecs the loader detects (a UTF-8 byte-order mark Arrow skips itself).
ARROW_ENCODINGS = {"utf-8-sig": "utf8", "cp1252": "cp1252"}


def parse_with_arrow(
    data: bytes | Path, encoding: str, layout: Layout, names: tuple[str, ...] | None
) -> pd.DataFrame | None:
    """The file parsed by Arrow's multi-threaded CSV reader into the frame the pandas parse
    gives, for the common file: LF line ends, a header that names each column once (or the
    known headerless layouts), an encoding Arrow reads, and every cell of the number columns
    a plain number or empty. None for any other file, or any cell Arrow will not take as
    pandas would: the caller then parses with pandas, which reads or refuses it as before.

    Text is read dictionary-encoded, one string per distinct value as the pandas parse's
    categories give; Row ID and Quantity as 64-bit integers (Arrow refuses what overflows);
    Sales, Discount and Profit as floats, which Arrow parses to the same bits."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as arrow_csv

    if encoding not in ARROW_ENCODINGS or layout.repeats_a_name or line_ends(data)[0]:
        return None
    written = (
        list(names)
        if names is not None
        else header_fields(head_text(data, encoding), layout.delimiter)
    )
    text, integer = pa.dictionary(pa.int32(), pa.string()), pa.int64()
    types = {name: text for name in written}
    types.update({name: pa.string() for name in DISTINCT_TEXT if name in types})
    types.update({name: pa.float64() for name in NUMBER_DTYPES if name in types})
    types.update({name: integer for name in ("Row ID", "Quantity") if name in types})
    try:
        table = arrow_csv.read_csv(
            data if isinstance(data, Path) else pa.BufferReader(data),
            read_options=arrow_csv.ReadOptions(
                encoding=ARROW_ENCODINGS[encoding],
                column_names=list(names) if names is not None else None,
            ),
            parse_options=arrow_csv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=True
            ),
            convert_options=arrow_csv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, LookupError):
        return None
    if table.column_names != written or any(
        table.schema.field(name).type != kind for name, kind in types.items()
    ):
        return None
    # Arrow reads `nan` as a number; pandas counts it a cell that is not one.
    floats = [name for name, kind in types.items() if kind == pa.float64()]
    if any(pc.any(pc.is_nan(table.column(name))).as_py() for name in floats):
        return None
    df = table.to_pandas(types_mapper={integer: pd.Int64Dtype()}.get)
    del table
    return df


def read_orders(data: bytes | Path, arrow: bool = True) -> tuple[pd.DataFrame, dict]:
    """Parse the file's bytes (or the file, read as it is parsed) into a frame of the
    Superstore columns.

    Text and date columns stay text (dates are parsed in `clean_orders`); Row ID and Quantity
    become nullable integers, Sales, Discount and Profit floats. A cell that is not a number
    becomes missing and is counted in the returned facts. Postal codes are five-digit text: a
    code that lost its leading zero (5408) gets it back (05408).

    A file without a header line is read by its number of fields: 21 are the usual columns in
    order, 19 the older layout without Row ID and Country, which get 1, 2, … in file order and
    "United States".

    The common file is parsed by Arrow (`parse_with_arrow`), any other by pandas; `arrow=False`
    parses every file with pandas (the tests compare the two).
    """
    encoding, encoding_label = detect_encoding(data)
    head = as_lf(head_text(data, encoding))
    whole = data.read_bytes if isinstance(data, Path) else lambda: data
    if not head.strip() and not decode(whole()).text.strip():
        raise DatasetError("the file is empty; expected a header line and rows of orders")
    layout = detect_layout(head)
    names = None if layout.header else headerless_columns(layout.fields)

    def parse(dtype) -> pd.DataFrame:
        # Bytes with LF line ends are parsed as they are, decoded a piece at a time; others
        # (CR line ends) as text with LF line ends, as `decode` gives them.
        if line_ends(data)[0]:
            source, source_encoding = io.StringIO(decode(whole()).text), None
        else:
            source = data if isinstance(data, Path) else io.BytesIO(data)
            source_encoding = encoding
        return pd.read_csv(
            source,
            encoding=source_encoding,
            sep=layout.delimiter,
            header=0 if layout.header else None,
            names=names,
            dtype=dtype,
            keep_default_na=False,
            na_values=[""],
        )

    as_text = defaultdict(lambda: TEXT_AS_READ, DISTINCT_TEXT)
    # pandas gives a repeated name's type to its copies too ("Sales" and "Sales.1"): an extra
    # column must stay text as it was read, so a header that repeats a name is read as text.
    numbers = defaultdict(lambda: TEXT_AS_READ, {**DISTINCT_TEXT, **NUMBER_DTYPES})
    # The common file is read by Arrow, on every core; any other by pandas, as below.
    df = parse_with_arrow(data, encoding, layout, names) if arrow else None
    try:
        try:
            # The numbers parsed as the file is read, never held as text: at millions of lines
            # this is most of the memory. A cell that is not a number makes it refuse...
            if df is None:
                df = parse(as_text if layout.repeats_a_name else numbers)
        except pd.errors.ParserError:
            raise
        except (ValueError, TypeError, OverflowError):
            # ...and then every column is read as text and such cells counted, below.
            df = parse(as_text)
    except pd.errors.ParserError as error:
        raise DatasetError(describe_parser_error(error, layout)) from error
    if (row := first_row_holding_lines(df, layout.delimiter)) is not None:
        line = row + (2 if layout.header else 1)
        raise DatasetError(
            f"a quote opened on line {line} is closed only on a later line, so the lines "
            "between are read as one cell; a quote must close on the line it opens"
        )
    for column in df.columns:
        if isinstance(df[column].dtype, pd.CategoricalDtype):
            df[column] = df[column].astype(object)  # str cells, each distinct one held once
    if not isinstance(df.index, pd.RangeIndex):
        # pandas takes a first row longer than the header for row labels and the rest shifted.
        fields = df.index.nlevels + len(df.columns)
        line = 2 if layout.header else 1
        raise DatasetError(describe_extra_fields(line, fields, len(df.columns), layout))
    df.columns, renamed = canonical_names(strip_column_names(df.columns))
    if df.empty:
        raise DatasetError("the file has a header line but no rows of orders")
    if names is None:
        described = "header"
    elif names == config.LEGACY_COLUMNS:
        row_ids = [str(i) for i in range(1, len(df) + 1)]
        df = df.assign(**{"Row ID": row_ids, "Country": COUNTRY})[list(config.SUPERSTORE_COLUMNS)]
        described = f"headerless {len(names)} columns (Row ID and Country added)"
    else:
        described = f"headerless {len(names)} columns"
    not_numeric, formatted = {}, {}
    for column in config.NUMERIC_COLUMNS:
        if column not in df:
            continue
        if pd.api.types.is_numeric_dtype(df[column]):
            not_numeric[column] = 0  # parsed as it was read: every cell a number or empty
            refuse_without_numbers(column, df[column], df[column])
            continue
        raw = df[column].str.strip()
        values, reformatted = numbers_and_formatted(column, raw)
        not_numeric[column] = int((values.isna() & raw.notna()).sum())
        if reformatted:
            formatted[column] = reformatted
        refuse_without_numbers(column, values, raw)
        df[column] = values
    padded = 0
    if "Postal Code" in df:
        df["Postal Code"], padded = pad_postal_codes(df["Postal Code"])
    facts = {
        "layout": described,
        "encoding": encoding_label,
        "delimiter": layout.delimiter,
        "rows": len(df),
        "columns": len(df.columns),
        "not_numeric_cells": not_numeric,
        "formatted_numbers": formatted,
        "renamed_columns": renamed,
        "postal_codes_padded": padded,
        "extra_columns": [c for c in df.columns if c not in config.SUPERSTORE_COLUMNS],
    }
    return df, facts
