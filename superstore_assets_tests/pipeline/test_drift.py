"""How each column's distribution moved between two datasets (drift.py), on the bundled file."""

import math

import numpy as np
import pytest

from superstore_assets.pipeline.dataset_diff import diff_datasets, format_dataset_diff
from superstore_assets.pipeline.drift import DRIFT_THRESHOLD, column_drift, format_drift, psi
from superstore_assets.pipeline.reading import read_orders
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED


@pytest.fixture(scope="module")
def orders():
    return read_orders(BUNDLED.read_bytes())[0]


def test_psi_is_zero_for_equal_shares_and_grows_with_the_move():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0
    assert psi(np.array([0.9, 0.1]), np.array([0.1, 0.9])) == pytest.approx(1.6 * math.log(9))
    small = psi(np.array([0.5, 0.5]), np.array([0.45, 0.55]))
    assert 0 < small < 0.1


def test_the_same_data_has_no_drift(orders):
    drift = column_drift(orders, orders.copy())
    assert drift and all(result["psi"] == 0 and not result["drifted"] for result in drift.values())
    assert "Row ID" not in drift and "Order ID" not in drift  # identifiers are not distributions
    assert "Product Name" not in drift  # too many values to compare shares
    assert format_drift(drift)[0].startswith("distribution drift: no column moved")


def test_a_shifted_discount_and_a_merged_region_are_flagged_with_the_inputs_they_feed(orders):
    after = orders.copy()
    after["Discount"] = (after["Discount"] + 0.1).clip(upper=0.9)
    after["Region"] = after["Region"].replace({"West": "East"})
    drift = column_drift(orders, after)
    assert drift["Discount"]["drifted"] and drift["Discount"]["feeds"] == ["Discount"]
    assert drift["Region"]["drifted"] and drift["Region"]["shares"]["West"][1] == 0
    assert list(drift)[:2] == ["Discount", "Region"] or list(drift)[:2] == ["Region", "Discount"]
    assert not drift["Sales"]["drifted"] and drift["Sales"]["psi"] == 0
    lines = format_drift(drift)
    assert lines[0] == f"distribution drift (PSI; {DRIFT_THRESHOLD} or more is flagged):"
    assert any(line.split()[:1] == ["Discount"] and "DRIFTED" in line for line in lines)


def test_dates_are_compared_as_dates_and_feed_the_derived_inputs(orders):
    after = orders.copy()
    after["Ship Date"] = after["Order Date"]  # shipped the day it was ordered
    drift = column_drift(orders, after)
    ship = drift["Ship Date"]
    assert ship["feeds"] == ["shipping_days"]
    assert all(len(value) == 10 and value[4] == "-" for value in ship["mean"])  # ISO dates
    assert drift["Order Date"]["feeds"] == ["shipping_days", "order_month"]


def test_the_modified_file_moves_no_distribution(orders):
    modified = read_orders(BUNDLED_MODIFIED.read_bytes())[0]
    lines = format_dataset_diff(diff_datasets(orders, modified))
    assert lines[-1].startswith("distribution drift: no column moved by PSI 0.01 or more")
