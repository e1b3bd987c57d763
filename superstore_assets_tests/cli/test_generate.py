"""The generator of the bundled dataset: the real file's format, and reproducible."""

import pandas as pd
import pytest

from superstore_assets.cli import generate as generator
from superstore_assets.pipeline import config, reading
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED


def test_bundled_files_are_what_the_generator_makes(tmp_path):
    df = generator.make_superstore()
    assert generator.write_superstore(df, tmp_path / "a.csv").read_bytes() == BUNDLED.read_bytes()
    modified = generator.write_superstore(generator.modify(df), tmp_path / "b.csv")
    assert modified.read_bytes() == BUNDLED_MODIFIED.read_bytes()


def test_bundled_file_has_the_real_format():
    data = BUNDLED.read_bytes()
    assert b"\r\n" not in data
    assert reading.decode(data).encoding == "cp1252"  # accented names make it invalid UTF-8
    header = data.split(b"\n", 1)[0].decode()
    assert header.split(",") == list(config.SUPERSTORE_COLUMNS)
    df = pd.read_csv(BUNDLED, encoding="cp1252")
    assert len(df) == generator.ROWS
    order = pd.to_datetime(df["Order Date"], format="%m/%d/%Y")
    ship = pd.to_datetime(df["Ship Date"], format="%m/%d/%Y")
    assert order.min() >= pd.Timestamp("2014-01-03") and order.max() <= pd.Timestamp("2017-12-30")
    assert (ship >= order).all()
    assert df["Discount"].between(0, 1).all()
    assert df.drop(columns="Row ID").duplicated().sum() == 1  # as in the real file


def test_bundled_data_has_relationships_to_learn():
    df = pd.read_csv(BUNDLED, encoding="cp1252")
    profitable = df["Profit"] > 0
    assert 0.65 < profitable.mean() < 0.85
    assert profitable[df["Discount"] == 0].mean() > 0.9
    assert profitable[df["Discount"] >= 0.5].mean() < 0.1
    days = (
        pd.to_datetime(df["Ship Date"], format="%m/%d/%Y")
        - pd.to_datetime(df["Order Date"], format="%m/%d/%Y")
    ).dt.days
    by_mode = days.groupby(df["Ship Mode"]).mean()
    assert by_mode["Same Day"] < by_mode["First Class"] < by_mode["Standard Class"]
    margin = df.groupby("Sub-Category")[["Profit", "Sales"]].sum().eval("Profit / Sales")
    assert margin["Tables"] < 0 < margin["Paper"]


def test_modified_file_differs_in_52_rows():
    a = pd.read_csv(BUNDLED, encoding="cp1252")
    b = pd.read_csv(BUNDLED_MODIFIED, encoding="cp1252")
    changed = (a != b).any(axis=1)
    assert changed.sum() == generator.MODIFIED_ROWS == 52
    columns = (a != b).sum()
    assert columns["Sales"] > 10 and columns["Profit"] > 10 and columns["Row ID"] == 0


def test_other_sizes_and_seeds():
    small = generator.make_superstore(rows=200, seed=7)
    assert len(small) == 200 and small["Row ID"].tolist() == list(range(1, 201))
    assert not small.equals(generator.make_superstore(rows=200, seed=8))


def test_a_file_of_one_chunk_is_the_frame_written(tmp_path):
    path = generator.write_large_superstore(500, tmp_path / "one.csv", seed=7)
    frame = generator.write_superstore(generator.make_superstore(500, 7), tmp_path / "frame.csv")
    assert path.read_bytes() == frame.read_bytes()


def test_large_files_are_written_in_chunks_that_share_no_order(tmp_path):
    generator.main(["--rows", "2500", "--chunk-rows", "1000", "--out", str(tmp_path / "big.csv")])
    data = (tmp_path / "big.csv").read_bytes()
    assert data.count(b"Row ID,Order ID") == 1  # one header
    df, facts = reading.read_orders(data)
    assert facts["rows"] == 2500 and facts["encoding"] == "cp1252"
    assert df["Row ID"].tolist() == list(range(1, 2501))
    chunk = (df["Row ID"] - 1) // 1000
    assert (chunk.groupby(df["Order ID"]).nunique() == 1).all()  # no order spans two chunks
    # Half as many orders as lines in each chunk (less one where its last line is a repeat).
    assert 1250 - 3 <= df["Order ID"].nunique() <= 1250
    # Each chunk has its own seed: the second is not the first again.
    first, second = df[chunk == 0], df[chunk == 1]
    assert first["Sales"].tolist() != second["Sales"].tolist()


@pytest.mark.slow  # 150,000 rows
def test_more_orders_than_six_digit_order_numbers():
    # 70,000 six-digit order numbers; a file with more orders draws from a larger range.
    assert generator.order_number_span(generator.ROWS) == 70_000
    assert generator.order_number_span(300_000) == 300_000
    df = generator.make_superstore(rows=150_000, seed=1)
    orders = df["Order ID"].str.rsplit("-", n=1).str[1].astype(int)
    assert orders.nunique() == 75_000 and orders.max() < 100_000 + 150_000
