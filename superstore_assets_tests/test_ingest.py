"""The reading, cleaning and feature functions, on small frames and files built here."""

import io

import pandas as pd
import pytest

from superstore_assets import config, ingest

HEADER = ",".join(config.SUPERSTORE_COLUMNS)


def line(row_id=1, order="CA-2016-1", order_date="3/4/2016", ship_date="3/9/2016", **over):
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
    return ",".join(values[c] for c in config.SUPERSTORE_COLUMNS)


def csv_bytes(*lines: str, encoding: str = "cp1252") -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


def test_decode_prefers_utf8_and_falls_back_to_cp1252():
    assert ingest.decode("Chloé".encode()).encoding == "utf-8"
    assert ingest.decode(b"\xef\xbb\xbfChlo\xc3\xa9").text == "Chloé"
    decoded = ingest.decode("“Premier” Chloé\u00a0".encode("cp1252"))
    assert decoded.encoding == "cp1252"
    assert decoded.text == "“Premier” Chloé\u00a0"  # curly quotes survive, unlike latin-1


def test_read_orders_types_and_text_kept_exactly():
    df, facts = ingest.read_orders(
        csv_bytes(line(), line(2, Sales="12.5", Quantity="3", **{"Customer Name": "Chloé Hale"}))
    )
    assert facts["rows"] == 2 and facts["columns"] == 21 and facts["encoding"] == "cp1252"
    assert list(df.columns) == list(config.SUPERSTORE_COLUMNS)
    assert str(df["Row ID"].dtype) == "Int64" and str(df["Quantity"].dtype) == "Int64"
    assert df["Sales"].tolist() == [261.96, 12.5]
    assert df.loc[0, "Postal Code"] == "05408"  # leading zero kept: postal codes are text
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"


def test_read_orders_counts_cells_that_are_not_numbers():
    df, facts = ingest.read_orders(csv_bytes(line(Sales="n/a"), line(2, Quantity="2.5")))
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
    df, facts = ingest.read_orders(data)
    assert facts["delimiter"] == ";" and facts["encoding"] == "utf-8"
    assert df.loc[0, "Sales"] == 261.96


def test_read_orders_refuses_an_empty_file():
    with pytest.raises(ingest.DatasetError, match="empty"):
        ingest.read_orders(b"")


def test_missing_columns_lists_what_the_pipeline_needs():
    df = pd.DataFrame(
        columns=[c for c in config.SUPERSTORE_COLUMNS if c not in ("Sales", "Region")]
    )
    assert ingest.missing_columns(df) == ["Region", "Sales"]
    assert ingest.missing_columns(pd.DataFrame(columns=list(config.SUPERSTORE_COLUMNS))) == []


def test_parse_dates_is_month_first():
    parsed = ingest.parse_dates(pd.Series(["3/4/2016", "11/8/2016", "12/31/2017", "31/12/2017"]))
    assert parsed.dt.month.tolist()[:3] == [3, 11, 12]
    assert parsed.dt.day.tolist()[:3] == [4, 8, 31]
    assert pd.isna(parsed.iloc[3])  # day-first is not silently read


def test_target_is_profit_above_zero():
    df = ingest.add_target(pd.DataFrame({"Profit": [10.0, 0.0, -3.5]}))
    assert df[config.TARGET].tolist() == [True, False, False]


def test_clean_orders_drops_missing_profit_and_duplicates_and_counts_them():
    raw, _ = ingest.read_orders(
        csv_bytes(
            line(1),
            line(2),  # the same line as Row ID 1 under another Row ID
            line(3, Profit=""),
            line(4, order="CA-2016-2", Profit="-5", ship_date="bad"),
        )
    )
    clean, counts = ingest.clean_orders(raw)
    assert counts["dropped_missing_profit"] == 1
    assert counts["dropped_duplicates"] == 1
    assert counts["unparsed_ship_date"] == 1
    assert counts["rows"] == 2
    assert clean["Row ID"].tolist() == [1, 4]
    assert clean[config.TARGET].tolist() == [True, False]
    assert clean.loc[0, "Order Date"] == pd.Timestamp("2016-03-04")


def test_clean_orders_reads_iso_dates_too():
    raw, _ = ingest.read_orders(csv_bytes(line(order_date="2016-03-04", ship_date="2016-03-09")))
    clean, counts = ingest.clean_orders(raw)
    assert counts["date_format"] == "%Y-%m-%d"
    assert clean.loc[0, "Order Date"] == pd.Timestamp("2016-03-04")


def test_day_first_dates_are_refused_unless_configured():
    raw, _ = ingest.read_orders(
        csv_bytes(
            line(1, order_date="03/04/2016", ship_date="08/04/2016"),
            line(2, order="CA-2016-2", order_date="13/04/2016", ship_date="17/04/2016"),
        )
    )
    with pytest.raises(ingest.DatasetError, match=r"day first \('13/04/2016'.*%d/%m/%Y"):
        ingest.clean_orders(raw)
    clean, counts = ingest.clean_orders(raw, date_format="%d/%m/%Y")
    assert clean["Order Date"].tolist() == [pd.Timestamp("2016-04-03"), pd.Timestamp("2016-04-13")]
    assert counts["date_format"] == "%d/%m/%Y"


def test_dates_in_no_known_format_are_refused():
    raw, _ = ingest.read_orders(csv_bytes(line(order_date="March 4", ship_date="March 9")))
    with pytest.raises(ingest.DatasetError, match="match no known format"):
        ingest.clean_orders(raw)


def test_binary_and_header_only_files_are_refused():
    with pytest.raises(ingest.DatasetError, match="binary"):
        ingest.read_orders(b"PK\x03\x04\x00\x00 a zip file")
    with pytest.raises(ingest.DatasetError, match="header line but no rows"):
        ingest.read_orders((HEADER + "\n").encode())


def test_mac_roman_with_cr_line_ends():
    data = csv_bytes(line(**{"Customer Name": "Chloé Hale"}), encoding="mac_roman")
    df, facts = ingest.read_orders(data.replace(b"\n", b"\r"))
    assert facts["encoding"] == "mac_roman"
    assert df.loc[0, "Customer Name"] == "Chloé Hale" and len(df) == 1


def test_columns_in_another_order_and_extra_columns():
    text = pd.read_csv(io.BytesIO(csv_bytes(line())), dtype=str, encoding="cp1252")
    shuffled = text[list(reversed(config.SUPERSTORE_COLUMNS))].assign(Notes="a note")
    df, facts = ingest.read_orders(shuffled.to_csv(index=False).encode())
    assert df.loc[0, "Sales"] == 261.96 and df.loc[0, "Order ID"] == "CA-2016-1"
    assert df.loc[0, "Product Name"] == "Bush Somerset Collection Bookcase, Black"
    assert facts["extra_columns"] == ["Notes"]
    features = ingest.build_features(ingest.clean_orders(df)[0])
    assert "Notes" not in features.columns  # kept out of the model


def test_build_features_has_the_model_inputs_and_never_profit():
    raw, _ = ingest.read_orders(csv_bytes(line(1), line(2, order="CA-2016-2", Segment="")))
    features = ingest.build_features(ingest.clean_orders(raw)[0])
    assert set(config.FEATURES) <= set(features.columns)
    assert "Profit" not in features.columns
    assert features["shipping_days"].tolist() == [5.0, 5.0]
    assert features["order_month"].tolist() == ["03", "03"]
    assert features["Segment"].tolist() == ["Consumer", "(missing)"]
    assert features[config.TARGET].dtype == bool


def test_count_rows_counts_records_not_lines():
    data = csv_bytes(line(1), line(2, **{"Product Name": '"Two\nlines"'}))
    assert data.count(b"\n") == 4
    assert ingest.count_rows(data) == 2
    assert ingest.count_rows(HEADER.encode()) == 0


def test_postal_codes_get_back_their_leading_zero():
    df, facts = ingest.read_orders(
        csv_bytes(line(1, **{"Postal Code": "5408"}), line(2), line(3, **{"Postal Code": "90036"}))
    )
    assert df["Postal Code"].tolist() == ["05408", "05408", "90036"]
    assert facts["postal_codes_padded"] == 1
