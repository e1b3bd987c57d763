"""The reading, cleaning and feature functions, on small frames and files built here."""

import gzip
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from superstore_assets.cli import generate as generator
from superstore_assets.pipeline import cleaning, config, reading
from superstore_assets.pipeline import features as feature_building
from superstore_assets_tests.conftest import BUNDLED, REAL, REAL_MODIFIED, require_real
from superstore_assets_tests.parsers import arrow_reads, assert_read_alike

HEADER = ",".join(config.SUPERSTORE_COLUMNS)


def line(
    row_id=1,
    order="CA-2016-1",
    order_date="3/4/2016",
    ship_date="3/9/2016",
    columns=config.SUPERSTORE_COLUMNS,
    **over,
):
    values = {
        "Row ID": str(row_id),
        "Order ID": order,
        "Order Date": order_date,
        "Ship Date": ship_date,
        "Ship Mode": "Standard Class",
        "Customer ID": "CG-12520",
        "Customer Name": "Claire Gute",
        "Segment": "Consumer",
        "Country": "United States",
        "City": "Burlington",
        "State": "Vermont",
        "Postal Code": "05408",
        "Region": "East",
        "Product ID": "FUR-BO-10001798",
        "Category": "Furniture",
        "Sub-Category": "Bookcases",
        "Product Name": '"Bush Somerset Collection Bookcase, Black"',
        "Sales": "261.96",
        "Quantity": "2",
        "Discount": "0",
        "Profit": "41.9136",
    }
    values.update(over)
    return ",".join(values[c] for c in columns)


def csv_bytes(*lines: str, encoding: str = "cp1252") -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


def headerless_bytes(*lines: str, encoding: str = "cp1252") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def test_decode_prefers_utf8_and_falls_back_to_cp1252():
    assert reading.decode("Chloé".encode()).encoding == "utf-8"
    assert reading.decode(b"\xef\xbb\xbfChlo\xc3\xa9").text == "Chloé"
    decoded = reading.decode("“Premier” Chloé\u00a0".encode("cp1252"))
    assert decoded.encoding == "cp1252"
    assert decoded.text == "“Premier” Chloé\u00a0"  # curly quotes survive, unlike latin-1


def test_read_orders_types_and_text_kept_exactly():
    df, facts = reading.read_orders(
        csv_bytes(line(), line(2, Sales="12.5", Quantity="3", **{"Customer Name": "Chloé Hale"}))
    )
    assert facts["rows"] == 2 and facts["columns"] == 21 and facts["encoding"] == "cp1252"
    assert facts["layout"] == "header"
    assert list(df.columns) == list(config.SUPERSTORE_COLUMNS)
    assert str(df["Row ID"].dtype) == "Int64" and str(df["Quantity"].dtype) == "Int64"
    assert df["Sales"].tolist() == [261.96, 12.5]
    assert df.loc[0, "Postal Code"] == "05408"  # leading zero kept: postal codes are text
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"


@pytest.mark.parametrize(
    "name",
    ["bundled", "real", "real_modified", pytest.param("generated_50k", marks=pytest.mark.slow)],
)
def test_read_orders_text_is_what_a_plain_text_read_gives_each_value_held_once(name, tmp_path):
    # 50,000 lines pass the parser's first block of rows, the part that strings were shared in.
    if name == "generated_50k":
        path = generator.write_superstore(generator.make_superstore(50_000), tmp_path / "g.csv")
    else:
        path = {"bundled": BUNDLED, "real": REAL, "real_modified": REAL_MODIFIED}[name]
        path = path if name == "bundled" else require_real(path)
    df, facts = reading.read_orders(path)
    plain = pd.read_csv(
        path, encoding=facts["encoding"], dtype=str, keep_default_na=False, na_values=[""]
    )
    text = [c for c in config.TEXT_COLUMNS + config.DATE_COLUMNS if c != "Postal Code"]
    pd.testing.assert_frame_equal(df[text], plain[text])
    for column in (c for c in text if c not in reading.DISTINCT_TEXT):
        cells = df[column].dropna().to_numpy()
        assert len({id(cell) for cell in cells}) == len(set(cells)), column
        assert all(type(cell) is str for cell in cells), column


def test_read_orders_counts_cells_that_are_not_numbers():
    df, facts = reading.read_orders(csv_bytes(line(Sales="n/a"), line(2, Quantity="2.5")))
    assert facts["not_numeric_cells"]["Sales"] == 1
    assert facts["not_numeric_cells"]["Quantity"] == 1
    assert df["Sales"].isna().tolist() == [True, False]


def test_read_orders_accepts_utf8_and_semicolons():
    data = (
        csv_bytes(line(), encoding="utf-8")
        .replace(b",", b";")
        .replace(
            b'"Bush Somerset Collection Bookcase; Black"',
            b'"Bush Somerset Collection Bookcase, Black"',
        )
    )
    df, facts = reading.read_orders(data)
    assert facts["delimiter"] == ";" and facts["encoding"] == "utf-8"
    assert df.loc[0, "Sales"] == 261.96


def test_read_orders_refuses_an_empty_file():
    with pytest.raises(reading.DatasetError, match="empty"):
        reading.read_orders(b"")


def test_missing_columns_lists_what_the_pipeline_needs():
    df = pd.DataFrame(
        columns=[c for c in config.SUPERSTORE_COLUMNS if c not in ("Sales", "Region")]
    )
    assert cleaning.missing_columns(df) == ["Region", "Sales"]
    assert cleaning.missing_columns(pd.DataFrame(columns=list(config.SUPERSTORE_COLUMNS))) == []


def test_parse_dates_is_month_first():
    parsed = cleaning.parse_dates(pd.Series(["3/4/2016", "11/8/2016", "12/31/2017", "31/12/2017"]))
    assert parsed.dt.month.tolist()[:3] == [3, 11, 12]
    assert parsed.dt.day.tolist()[:3] == [4, 8, 31]
    assert pd.isna(parsed.iloc[3])  # day-first is not silently read


def test_target_is_profit_above_zero():
    df = cleaning.add_target(pd.DataFrame({"Profit": [10.0, 0.0, -3.5]}))
    assert df[config.TARGET].tolist() == [True, False, False]


def test_clean_orders_drops_missing_profit_and_duplicates_and_counts_them():
    raw, _ = reading.read_orders(
        csv_bytes(
            line(1),
            line(2),  # the same line as Row ID 1 under another Row ID
            line(3, Profit=""),
            line(4, order="CA-2016-2", Profit="-5", ship_date="bad"),
        )
    )
    clean, counts = cleaning.clean_orders(raw)
    assert counts["dropped_missing_profit"] == 1
    assert counts["dropped_duplicates"] == 1
    assert counts["unparsed_ship_date"] == 1
    assert counts["rows"] == 2
    assert clean["Row ID"].tolist() == [1, 4]
    assert clean[config.TARGET].tolist() == [True, False]
    assert clean.loc[0, "Order Date"] == pd.Timestamp("2016-03-04")


def test_clean_orders_reads_iso_dates_too():
    raw, _ = reading.read_orders(csv_bytes(line(order_date="2016-03-04", ship_date="2016-03-09")))
    clean, counts = cleaning.clean_orders(raw)
    assert counts["date_format"] == "%Y-%m-%d"
    assert clean.loc[0, "Order Date"] == pd.Timestamp("2016-03-04")


def test_day_first_dates_are_refused_unless_configured():
    raw, _ = reading.read_orders(
        csv_bytes(
            line(1, order_date="03/04/2016", ship_date="08/04/2016"),
            line(2, order="CA-2016-2", order_date="13/04/2016", ship_date="17/04/2016"),
        )
    )
    with pytest.raises(reading.DatasetError, match=r"day first \('13/04/2016'.*%d/%m/%Y"):
        cleaning.clean_orders(raw)
    clean, counts = cleaning.clean_orders(raw, date_format="%d/%m/%Y")
    assert clean["Order Date"].tolist() == [pd.Timestamp("2016-04-03"), pd.Timestamp("2016-04-13")]
    assert counts["date_format"] == "%d/%m/%Y"


@pytest.mark.parametrize(
    "written",
    [
        "%Y-%m-%d %H:%M:%S",  # pandas' to_csv of a parsed date
        "%m/%d/%Y %H:%M",  # Excel's CSV of a date-time cell (4/3/2016 0:00)
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d",
        "%d-%b-%Y",
        "%B %d, %Y",
    ],
)
def test_dates_as_spreadsheets_and_pandas_write_them_read_as_the_same_days(written):
    raw, _ = reading.read_orders(BUNDLED)
    expected, _ = cleaning.clean_orders(raw)
    rewritten = raw.copy()
    for column in config.DATE_COLUMNS:
        days = pd.to_datetime(raw[column], format=config.DATE_FORMAT)
        cells = [day.strftime(written) for day in days]
        if written.endswith(" %H:%M"):
            cells = [cell.replace(" 00:", " 0:") for cell in cells]  # as Excel writes the hour
        rewritten[column] = cells
    clean, counts = cleaning.clean_orders(rewritten)
    assert counts["date_format"] == written
    pd.testing.assert_frame_equal(clean, expected)


@pytest.mark.parametrize("separator", [".", "-"])
def test_dates_written_day_first_with_dots_or_dashes_are_refused_with_the_setting(separator):
    def written(*cells: str) -> pd.DataFrame:
        dates = [cell.replace("/", separator) for cell in cells]
        return reading.read_orders(
            csv_bytes(
                line(1, order_date=dates[0], ship_date=dates[1]),
                line(2, order="CA-2016-2", order_date=dates[2], ship_date=dates[3]),
            )
        )[0]

    day_first = f"%d{separator}%m{separator}%Y"
    raw = written("03/04/2016", "08/04/2016", "31/07/2012", "02/08/2012")
    thirty_first = "31/07/2012".replace("/", separator)
    with pytest.raises(reading.DatasetError) as refused:
        cleaning.clean_orders(raw)
    assert str(refused.value) == (
        f"the dates are day first ({thirty_first!r} cannot be month first); to read them so, "
        f"set SUPERSTORE_DATE_FORMAT={day_first}"
    )
    clean, _ = cleaning.clean_orders(raw, date_format=day_first)
    assert clean["Order Date"].tolist() == [pd.Timestamp("2016-04-03"), pd.Timestamp("2012-07-31")]
    either = written("03/04/2016", "08/04/2016", "05/07/2012", "06/07/2012")
    with pytest.raises(reading.DatasetError, match="may be day or month first"):
        cleaning.clean_orders(either)


def test_dates_in_no_known_format_are_refused():
    raw, _ = reading.read_orders(csv_bytes(line(order_date="March 4", ship_date="March 9")))
    with pytest.raises(reading.DatasetError, match="match no known format"):
        cleaning.clean_orders(raw)


def test_binary_and_header_only_files_are_refused():
    with pytest.raises(reading.DatasetError, match="binary"):
        reading.read_orders(b"\x7fELF\x02\x01\x00\x00 a program")
    with pytest.raises(reading.DatasetError, match="header line but no rows"):
        reading.read_orders((HEADER + "\n").encode())


@pytest.mark.parametrize(
    ("first_bytes", "said"),
    [
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
            "an Excel 97-2003 workbook (.xls, as Tableau ships the sample), not CSV text; save "
            "its Orders sheet as CSV",
        ),
        (b"PK\x03\x04\x14\x00", "a ZIP archive or an Excel workbook (.xlsx), not CSV text"),
        (gzip.compress(csv_bytes(line())), "gzip-compressed, not CSV text; decompress it first"),
        (
            csv_bytes(line(), encoding="utf-16"),
            'UTF-16 text (as Excel\'s "Unicode Text" saves it), not CSV text; save it as '
            '"CSV UTF-8"',
        ),
    ],
    ids=["xls", "xlsx", "gzip", "utf16"],
)
def test_a_workbook_an_archive_or_utf16_is_named_with_what_to_do(first_bytes, said):
    with pytest.raises(reading.DatasetError) as refused:
        reading.read_orders(first_bytes)
    assert said in str(refused.value)
    assert reading.count_rows(first_bytes) == 0  # the observation counts no rows in them


def test_numbers_as_a_spreadsheet_formats_them_are_read_and_counted():
    data = csv_bytes(
        line(Sales='"$1,234.50"', Profit="(12.00)", Discount="20%", Quantity='"1,000"'),
        line(2, Sales="-$3.20", Profit="$-0.5", Discount="0.1", Quantity="2"),
        line(3, Sales="€7", Profit='"(1,000)"', Discount="5 %", Quantity="3"),
    )
    df, facts = reading.read_orders(data)
    assert df["Sales"].tolist() == [1234.5, -3.2, 7.0]
    assert df["Profit"].tolist() == [-12.0, -0.5, -1000.0]
    assert df["Discount"].tolist() == pytest.approx([0.2, 0.1, 0.05])
    assert df["Quantity"].tolist() == [1000, 2, 3] and str(df["Quantity"].dtype) == "Int64"
    assert facts["formatted_numbers"] == {"Sales": 3, "Profit": 3, "Discount": 2, "Quantity": 1}
    assert set(facts["not_numeric_cells"].values()) == {0}
    plain, plain_facts = reading.read_orders(csv_bytes(line()))
    assert plain_facts["formatted_numbers"] == {} and plain["Sales"].dtype == "float64"


def test_a_column_with_decimal_commas_is_read_the_european_way():
    """European spreadsheets write 22,368 for 22.368 and 1.234,50 for 1234.5: where a column
    shows a decimal comma (261,96), a comma is the decimal point and a dot groups thousands."""
    european = [
        line(Sales='"261,96"', Profit='"-9,6705"', Discount='"0,2"'),
        line(2, Sales='"22,368"', Profit='"1.234,50"', Discount="0"),
        line(3, Sales="7", Profit='"12 %"', Discount='"0,45"'),
    ]
    df, facts = reading.read_orders(csv_bytes(*european))
    assert df["Sales"].tolist() == [261.96, 22.368, 7.0]
    assert df["Profit"].tolist() == [-9.6705, 1234.5, 0.12]
    assert df["Discount"].tolist() == [0.2, 0.0, 0.45]
    assert facts["formatted_numbers"] == {"Sales": 2, "Profit": 3, "Discount": 2}
    assert set(facts["not_numeric_cells"].values()) == {0}
    # Without a decimal comma in the column, a comma groups thousands.
    df, _ = reading.read_orders(csv_bytes(line(Sales='"22,368"'), line(2, Sales="7.5")))
    assert df["Sales"].tolist() == [22368.0, 7.5]


@pytest.mark.parametrize("cell", ["1,2,3", "12 apples", "--5", "(5", "-(3)", "$", "1.2.3", "%"])
def test_loose_text_is_never_taken_for_a_number(cell):
    df, facts = reading.read_orders(csv_bytes(line(Sales=f'"{cell}"'), line(2)))
    assert df["Sales"].isna().tolist() == [True, False]
    assert facts["not_numeric_cells"]["Sales"] == 1 and facts["formatted_numbers"] == {}


def test_column_names_in_another_case_or_spelling_are_the_sheets():
    names = {"Row ID": "ROW ID ", "Order Date": "order_date", "Sub-Category": "Sub Category"}
    header = ",".join(names.get(c, c) for c in config.SUPERSTORE_COLUMNS)
    df, facts = reading.read_orders(f"{header}\n{line()}\n".encode())
    assert list(df.columns) == list(config.SUPERSTORE_COLUMNS)
    assert facts["renamed_columns"] == {
        "ROW ID": "Row ID",
        "order_date": "Order Date",
        "Sub Category": "Sub-Category",
    }
    assert facts["extra_columns"] == []
    # Where the sheet's spelling is there already, another spelling of it is an extra column.
    twice = reading.read_orders(f"{HEADER},SALES\n{line()},1\n".encode())[1]
    assert twice["renamed_columns"] == {} and twice["extra_columns"] == ["SALES"]
    assert reading.canonical_names(["sales", "SALES"]) == (["sales", "SALES"], {})


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        (("n/a", "n/a"), "no Discount cell is a number (for example 'n/a'); the models need"),
        (("", ""), "every Discount cell is empty; the models need Discount as numbers"),
    ],
)
def test_a_column_the_models_need_without_one_number_is_refused(cells, said):
    data = csv_bytes(line(Discount=cells[0]), line(2, Discount=cells[1]))
    with pytest.raises(reading.DatasetError) as refused:
        reading.read_orders(data)
    assert said in str(refused.value)
    # Row IDs are not learned from: a column of none is read.
    df, _ = reading.read_orders(csv_bytes(line(row_id=""), line(row_id="")))
    assert df["Row ID"].isna().all() and len(df) == 2


@pytest.mark.parametrize("encoding", (*config.ENCODINGS, "mac_roman"))
def test_bytes_decode_by_the_loaders_check_exactly_when_the_codec_decodes_them(encoding):
    """The Windows-1252 check scans for its five undefined bytes instead of decoding: it must
    answer as decoding does, for every byte, alone and inside text."""

    def codec_decodes(data: bytes) -> bool:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            return False
        return True

    cases = [bytes([b]) for b in range(256)] + [b"Chlo\xe9 " + bytes([b]) for b in range(256)]
    cases += ["Chloé".encode(), "Chloé".encode("cp1252") + b"\x81", b""]
    for data in cases:
        assert reading.decodes(data, encoding) == codec_decodes(data), data


@pytest.mark.parametrize(
    ("case", "data", "by_arrow"),
    [
        ("the bundled file", BUNDLED.read_bytes(), True),
        ("no header line", headerless_bytes(line(), line(2)), True),
        ("semicolons, UTF-8", csv_bytes(line(), encoding="utf-8").replace(b",", b";"), True),
        ("a quoted line break", csv_bytes(line(**{"Product Name": '"two\nlines"'})), True),
        ("nan as a Profit", csv_bytes(line(Profit="nan"), line(2)), False),
        ("a Quantity past int64", csv_bytes(line(Quantity="9223372036854775808"), line(2)), False),
        ("a Row ID written +7", csv_bytes(line(row_id="+7"), line(2)), False),
        ("a Quantity written 3.0", csv_bytes(line(Quantity="3.0"), line(2)), False),
        ("CR LF line ends", csv_bytes(line(), line(2)).replace(b"\n", b"\r\n"), False),
        ("a column named twice", f"{HEADER},Sales\n{line()},1\n".encode(), False),
        ("Sales as money", csv_bytes(line(Sales='"$1,234.50"'), line(2)), False),
        ("a row short of fields", csv_bytes(line(), "3,CA-2016-3,1/1/2016"), False),
        ("an empty Row ID column", csv_bytes(line(row_id=""), line(row_id="")), True),
    ],
)
def test_arrow_reads_the_common_file_and_leaves_the_rest_to_pandas_alike(case, data, by_arrow):
    """Arrow parses on every core, but only where it reads the file exactly as pandas does:
    the same frame and facts, or the same refusal from pandas."""
    assert arrow_reads(data) == by_arrow, case
    assert_read_alike(data)


def test_mac_roman_with_cr_line_ends():
    data = csv_bytes(line(**{"Customer Name": "Chloé Hale"}), encoding="mac_roman")
    df, facts = reading.read_orders(data.replace(b"\n", b"\r"))
    assert facts["encoding"] == "mac_roman"
    assert df.loc[0, "Customer Name"] == "Chloé Hale" and len(df) == 1


def test_columns_in_another_order_and_extra_columns():
    text = pd.read_csv(io.BytesIO(csv_bytes(line())), dtype=str, encoding="cp1252")
    shuffled = text[list(reversed(config.SUPERSTORE_COLUMNS))].assign(Notes="a note")
    df, facts = reading.read_orders(shuffled.to_csv(index=False).encode())
    assert df.loc[0, "Sales"] == 261.96 and df.loc[0, "Order ID"] == "CA-2016-1"
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"
    assert facts["extra_columns"] == ["Notes"]
    features = feature_building.build_features(cleaning.clean_orders(df)[0])
    assert "Notes" not in features.columns  # kept out of the model


def test_build_features_has_the_model_inputs_and_never_profit():
    raw, _ = reading.read_orders(csv_bytes(line(1), line(2, order="CA-2016-2", Segment="")))
    features = feature_building.build_features(cleaning.clean_orders(raw)[0])
    assert set(config.FEATURES) <= set(features.columns)
    assert "Profit" not in features.columns
    assert features["shipping_days"].tolist() == [5.0, 5.0]
    assert features["order_month"].tolist() == ["03", "03"]
    assert features["Segment"].tolist() == ["Consumer", "(missing)"]
    assert features[config.TARGET].dtype == bool


def test_count_rows_counts_records_not_lines():
    data = csv_bytes(line(1), line(2, **{"Product Name": '"Two\nlines"'}))
    assert data.count(b"\n") == 4
    assert reading.count_rows(data) == 2
    assert reading.count_rows(HEADER.encode()) == 0


def test_postal_codes_get_back_their_leading_zero():
    df, facts = reading.read_orders(
        csv_bytes(line(1, **{"Postal Code": "5408"}), line(2), line(3, **{"Postal Code": "90036"}))
    )
    assert df["Postal Code"].tolist() == ["05408", "05408", "90036"]
    assert facts["postal_codes_padded"] == 1


def test_postal_codes_are_padded_per_line_though_worked_out_per_distinct_code():
    cells = pd.Series([" 5408", "5408", None, "90036", "5408 ", "K1A 0B1", "123456", "7"])
    codes, padded = reading.pad_postal_codes(cells)
    assert codes.tolist()[:2] == ["05408", "05408"] and pd.isna(codes[2])
    assert codes.tolist()[3:] == ["90036", "05408", "K1A 0B1", "123456", "00007"]
    assert padded == 4  # each line counts, not each distinct code
    assert reading.pad_postal_codes(pd.Series([None, None], dtype=object))[1] == 0


def test_headerless_file_with_the_21_columns():
    data = headerless_bytes(
        line(7, order="CA-2016-152156", **{"Customer Name": "Chloé Hale", "Postal Code": "5408"}),
        line(8, order="CA-2016-152157", order_date="11/8/2016", ship_date="11/11/2016"),
    )
    df, facts = reading.read_orders(data)
    assert facts["layout"] == "headerless 21 columns" and facts["encoding"] == "cp1252"
    assert list(df.columns) == list(config.SUPERSTORE_COLUMNS)
    assert df["Row ID"].tolist() == [7, 8]  # the first line is an order, not lost as a header
    assert df["Order ID"].tolist() == ["CA-2016-152156", "CA-2016-152157"]
    assert df.loc[0, "Customer Name"] == "Chloé Hale"
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"
    assert df.loc[0, "Postal Code"] == "05408" and facts["postal_codes_padded"] == 1
    clean, _ = cleaning.clean_orders(df)
    assert clean["Order Date"].tolist() == [pd.Timestamp("2016-03-04"), pd.Timestamp("2016-11-08")]
    assert reading.count_rows(data) == 2


def test_headerless_older_layout_gets_row_id_and_country():
    legacy = config.LEGACY_COLUMNS
    assert len(legacy) == 19 and "Row ID" not in legacy and "Country" not in legacy
    data = headerless_bytes(
        line(order="CA-2016-152156", columns=legacy, **{"Customer Name": "Chloé Hale"}),
        line(order="CA-2016-152156", columns=legacy, Sales="731.94", Profit="219.582"),
        line(
            order="US-2015-108966",
            order_date="10/11/2015",
            ship_date="10/18/2015",
            columns=legacy,
            Profit="-383.031",
        ),
    )
    assert data.splitlines()[0].count(b",") == 19  # 18 separators and the quoted comma
    df, facts = reading.read_orders(data)
    assert facts["layout"] == "headerless 19 columns (Row ID and Country added)"
    assert facts["rows"] == 3 and facts["columns"] == 21 and facts["extra_columns"] == []
    assert list(df.columns) == list(config.SUPERSTORE_COLUMNS)
    assert df["Row ID"].tolist() == [1, 2, 3] and str(df["Row ID"].dtype) == "Int64"
    assert df["Country"].tolist() == ["United States"] * 3
    assert df["Sales"].tolist() == [261.96, 731.94, 261.96]
    assert df.loc[0, "Customer Name"] == "Chloé Hale"
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"
    clean, counts = cleaning.clean_orders(df)
    assert counts["date_format"] == config.DATE_FORMAT and counts["rows"] == 3
    assert clean["Ship Date"].tolist()[2] == pd.Timestamp("2015-10-18")
    assert clean[config.TARGET].tolist() == [True, True, False]
    assert feature_building.build_features(clean)["shipping_days"].tolist() == [5.0, 5.0, 7.0]
    assert reading.count_rows(data) == 3


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_headerless_older_layout_with_semicolons_or_tabs(delimiter):
    # A product name's comma left unquoted, as spreadsheets write it when commas do not delimit.
    text = line(order="CA-2016-152156", columns=config.LEGACY_COLUMNS, **{"Postal Code": "5408"})
    text = text.replace(",", delimiter).replace(
        f'"Bush Somerset Collection Bookcase{delimiter} Black"',
        "Bush Somerset Collection Bookcase, Black",
    )
    df, facts = reading.read_orders(headerless_bytes(text, text, encoding="utf-8"))
    assert facts["delimiter"] == delimiter and facts["encoding"] == "utf-8"
    assert facts["layout"] == "headerless 19 columns (Row ID and Country added)"
    assert df["Row ID"].tolist() == [1, 2]
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"
    assert df.loc[0, "Postal Code"] == "05408" and df.loc[0, "Profit"] == 41.9136


def test_headerless_file_with_another_number_of_fields_is_refused():
    columns = [c for c in config.LEGACY_COLUMNS if c not in ("Customer Name", "Product Name")]
    data = headerless_bytes(line(order="CA-2016-152156", columns=columns))
    with pytest.raises(reading.DatasetError) as refused:
        reading.read_orders(data)
    assert str(refused.value) == (
        "the file has no header line and its first line has 17 fields; without a header it must "
        "hold the 21 Superstore columns in their usual order, or the older layout's 19 (the "
        "same without Row ID and Country)"
    )


def test_a_first_line_of_other_names_is_still_a_header():
    df, facts = reading.read_orders(b"Order,Amount\nCA-2016-152156,12.5\n")
    assert facts["layout"] == "header" and list(df.columns) == ["Order", "Amount"]
    assert cleaning.missing_columns(df)[:2] == ["Row ID", "Order ID"]


# Found by the property tests in test_ingest_properties.py: each raised a pandas error or
# misread the file before.


def test_a_row_with_an_unquoted_delimiter_is_refused():
    with pytest.raises(reading.DatasetError) as refused:  # was pandas' ParserError
        reading.read_orders(csv_bytes(line(1), line(2, **{"Customer Name": "Gute, Claire"})))
    assert str(refused.value) == (
        "line 3 has 22 fields where the header line has 21; a cell that holds a comma must be "
        "in quotes"
    )


def test_a_first_row_longer_than_the_header_is_refused_not_shifted():
    # pandas took the extra leading field for row labels and read every column one off.
    data = csv_bytes(line(1, **{"Customer Name": "Gute, Claire"}), line(2))
    with pytest.raises(reading.DatasetError, match=r"^line 2 has 22 fields where the header line"):
        reading.read_orders(data)


def test_a_quote_never_closed_is_refused():
    data = csv_bytes(line(1), line(2, **{"Product Name": '"Bush Somerset'}))
    with pytest.raises(reading.DatasetError) as refused:  # was pandas' ParserError
        reading.read_orders(data)
    assert str(refused.value) == (
        "a quote opened on line 3 is never closed, so the rest of the file is one cell"
    )


def test_a_quote_closed_only_on_a_later_line_is_refused_not_read_as_one_cell():
    """A quote opened mid-line that a later line's quote closes: pandas reads the lines
    between as one cell, and rows disappear into it; the loader refuses instead."""
    plain = {"Product Name": "Bush Somerset Desk"}  # no quote of its own
    opened = line(2, **{**plain, "Order ID": '"CA-2016-2'})
    closing = line(4, **{"Product Name": 'Bush "Somerset" Desk'})
    data = csv_bytes(line(1, **plain), opened, line(3, **plain), closing, line(5, **plain))
    with pytest.raises(reading.DatasetError) as refused:
        reading.read_orders(data)
    assert str(refused.value) == (
        "a quote opened on line 3 is closed only on a later line, so the lines between are "
        "read as one cell; a quote must close on the line it opens"
    )


def test_a_repeated_column_name_leaves_the_copy_as_text():
    """pandas gives "Sales" and its copy "Sales.1" the same type: the copy, an extra column,
    stays the text the file holds (found by the property test in test_ingest_properties)."""
    columns = ["Sales", *(c for c in config.SUPERSTORE_COLUMNS if c != "Sales"), "Sales"]
    data = csv_bytes(line(1, columns=columns))
    data = data.replace(HEADER.encode(), ",".join(columns).encode(), 1)
    raw, facts = reading.read_orders(data)
    assert raw["Sales"].tolist() == [261.96]
    assert raw["Sales.1"].tolist() == ["261.96"]
    assert facts["extra_columns"] == ["Sales.1"]


def test_counts_too_large_for_an_integer_are_not_numbers():
    df, facts = reading.read_orders(  # was OverflowError and TypeError casting to Int64
        csv_bytes(line(1, Quantity="inf"), line(2, Quantity="99999999999999999999"), line(3))
    )
    assert df["Quantity"].isna().tolist() == [True, True, False]
    assert facts["not_numeric_cells"]["Quantity"] == 2


def test_clean_orders_refuses_a_frame_without_the_columns_it_needs():
    raw, _ = reading.read_orders(csv_bytes(line(1)))
    with pytest.raises(reading.DatasetError) as refused:  # was KeyError: 'Profit'
        cleaning.clean_orders(raw.drop(columns=["Profit", "Region"]))
    assert str(refused.value) == "the orders lack columns the pipeline needs: Region, Profit"


def test_clean_orders_reads_numbers_written_as_text_and_refuses_other_text():
    raw, _ = reading.read_orders(csv_bytes(line(1), line(2, order="CA-2016-2", Profit="-5")))
    as_text = raw.astype({"Row ID": object, "Profit": object})
    as_text["Row ID"] = ["1", "2"]
    as_text["Profit"] = ["41.9136", " "]  # a blank cell is missing, as in a file
    clean, counts = cleaning.clean_orders(as_text)
    assert clean["Profit"].tolist() == [41.9136] and counts["dropped_missing_profit"] == 1
    assert str(clean["Row ID"].dtype) == "Int64"
    as_text["Profit"] = ["41.9136", "#DIV/0!"]
    with pytest.raises(reading.DatasetError, match=r"Profit column holds text.*'#DIV/0!'"):
        cleaning.clean_orders(as_text)  # was TypeError: '>' not supported between str and int


def test_clean_orders_of_no_rows_is_typed():
    clean, counts = cleaning.clean_orders(pd.DataFrame(columns=list(config.SUPERSTORE_COLUMNS)))
    assert counts["rows"] == 0 and list(clean.columns)[-1] == config.TARGET
    assert str(clean["Profit"].dtype) == "float64"  # was object, text
    assert str(clean["Order Date"].dtype) == "datetime64[ns]"


def test_duplicates_are_judged_on_parsed_dates():
    raw, _ = reading.read_orders(
        csv_bytes(line(1, order_date="3/4/2016"), line(2, order_date="03/04/2016"))
    )
    clean, counts = cleaning.clean_orders(raw)
    assert counts["dropped_duplicates"] == 1 and clean["Row ID"].tolist() == [1]


def test_a_name_repeated_with_spaces_is_numbered_like_an_exact_repeat():
    for repeat in ("Sales", " Sales "):  # the second was AttributeError: no attribute 'str'
        data = (HEADER + f",{repeat}\n" + line() + ",99\n").encode()
        df, facts = reading.read_orders(data)
        assert df["Sales"].tolist() == [261.96] and facts["extra_columns"] == ["Sales.1"]


def test_a_file_read_from_its_path_is_its_bytes_read(tmp_path):
    data = BUNDLED.read_bytes()
    assert reading.read_orders(BUNDLED)[0].equals(reading.read_orders(data)[0])
    mac = tmp_path / "mac.csv"  # CR line ends: read as text, as from bytes
    mac.write_bytes(data[:20_000].rsplit(b"\n", 1)[0].replace(b"\n", b"\r"))
    from_path, facts = reading.read_orders(mac)
    assert from_path.equals(reading.read_orders(mac.read_bytes())[0])
    assert facts["encoding"] == "mac_roman" and len(from_path) > 50


def test_a_count_too_large_for_an_integer_is_counted_not_wrapped():
    data = b"Row ID,Sales,Quantity\n1,2.5,9223372036854775808\n2,3.5,4\n"
    df, facts = reading.read_orders(data)
    assert df["Quantity"].isna().tolist() == [True, False]  # not -9223372036854775808
    assert facts["not_numeric_cells"]["Quantity"] == 1
    assert df["Sales"].tolist() == [2.5, 3.5]


def test_keep_rows_is_a_boolean_filter_a_column_at_a_time():
    df = pd.DataFrame(
        {
            "Order ID": ["CA-1", None, "CA-2", "CA-3"],
            "Quantity": pd.array([1, None, 3, 4], dtype="Int64"),
            "Sales": [1.5, 2.5, float("nan"), 4.0],
            "Order Date": pd.to_datetime(["2016-01-02", None, "2016-03-04", "2017-05-06"]),
            "profitable": [True, False, True, False],
        },
        index=[10, 11, 12, 13],
    )
    keep = pd.Series([True, False, True, True], index=df.index)
    kept = cleaning.keep_rows(df, keep)
    pd.testing.assert_frame_equal(kept, df[keep])
    assert kept.index.tolist() == [10, 12, 13]


def test_duplicated_rows_finds_what_pandas_duplicated_finds():
    # Rows 0 and 2 repeat in full; 1 and 3 share every number and date but not the text; 4 and
    # 5 share the text but not the numbers; 6 and 7 repeat with missing cells.
    df = pd.DataFrame(
        {
            "Order ID": ["CA-1", "CA-2", "CA-1", "CA-9", "CA-5", "CA-5", None, None],
            "Sales": [1.5, 2.0, 1.5, 2.0, 3.0, 4.0, float("nan"), float("nan")],
            "Quantity": pd.array([1, 2, 1, 2, 3, 3, None, None], dtype="Int64"),
            "Order Date": pd.to_datetime(["2016-01-02"] * 8),
        }
    )
    columns = list(df.columns)
    duplicated = cleaning.duplicated_rows(df, columns)
    assert duplicated.tolist() == df.duplicated(subset=columns).tolist()
    assert duplicated[duplicated].index.tolist() == [2, 7]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.sampled_from([1.0, 2.0, float("nan")]),
            st.sampled_from(["x", "y"]),
        ),
        max_size=30,
    )
)
def test_duplicated_rows_agrees_with_pandas_on_any_frame(rows):
    df = pd.DataFrame(rows, columns=["text", "number", "more_text"], dtype=object)
    df["number"] = df["number"].astype("float64")
    columns = list(df.columns)
    expected = df.duplicated(subset=columns).tolist() if len(df) else []
    assert cleaning.duplicated_rows(df, columns).tolist() == expected
