"""The generator of the bundled dataset: the real file's format, and reproducible."""

import pandas as pd

from superstore_assets import config, generator, ingest
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED


def test_bundled_files_are_what_the_generator_makes(tmp_path):
    df = generator.make_superstore()
    assert generator.write_superstore(df, tmp_path / "a.csv").read_bytes() == BUNDLED.read_bytes()
    modified = generator.write_superstore(generator.modify(df), tmp_path / "b.csv")
    assert modified.read_bytes() == BUNDLED_MODIFIED.read_bytes()


def test_bundled_file_has_the_real_format():
    data = BUNDLED.read_bytes()
    assert b"\r\n" not in data
    assert ingest.decode(data).encoding == "cp1252"  # accented names make it invalid UTF-8
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
