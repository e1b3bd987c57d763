"""Random malformations of the real file through `orders_raw` and `orders_clean` as Dagster runs
them, with their dagster-pandas type and blocking checks: every outcome is a success or a
refusal with a sentence (a described Failure, or a blocking check that says what it found),
never a type that rejects what cleaning handles, nor an error of another kind.

The loader's own properties are in pipeline/test_ingest_properties.py; this covers what the
pure functions cannot: the asset's Dagster type and checks. Derandomized, so CI tries the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from superstore_assets.engine.failures import sentence
from superstore_assets_tests.conftest import BUNDLED, REAL, Workspace, new_workspace, run_pipeline

pytestmark = pytest.mark.slow

STEPS = [AssetKey("superstore_csv"), AssetKey("orders_raw"), AssetKey("orders_clean")]
CELLS = st.sampled_from(["", " ", "n/a", "-3", "0", "1.5", "#DIV/0!", "12/31/2016", "é"])
COLUMNS = st.sampled_from(
    ["Sales", "Quantity", "Discount", "Profit", "Order Date", "Ship Date", "Row ID", "Region"]
)


def source() -> pd.DataFrame:
    """The first 400 lines of the real file (the bundled one where the real is absent)."""
    path = REAL if REAL.is_file() else BUNDLED
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252", nrows=400)


@st.composite
def malformed(draw, base: pd.DataFrame) -> pd.DataFrame:
    df = base.copy()
    for _ in range(draw(st.integers(1, 6))):
        rows = draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=40))
        df.loc[rows, draw(COLUMNS)] = draw(CELLS)
    if draw(st.booleans()) and draw(st.booleans()):
        df = df.drop(columns=[draw(COLUMNS)])
    if draw(st.booleans()) and draw(st.booleans()):
        df = pd.concat([df, df.head(draw(st.integers(1, 20)))])  # repeated lines
    return df


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Workspace:
    return new_workspace(tmp_path_factory.mktemp("through_dagster"))


@pytest.fixture(scope="module")
def instance(space: Workspace) -> Iterator[DagsterInstance]:
    """The home's instance, opened once for every example (as a long-lived process holds it):
    opening it again checks the record's schema each time, which the examples are not about."""
    with space.instance() as opened:
        yield opened


BASE = source()


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(df=malformed(BASE))
def test_a_malformed_file_is_run_or_refused_with_a_sentence(df, space, instance, tmp_path):
    path = tmp_path / "malformed.csv"
    df.to_csv(path, index=False, encoding="cp1252", lineterminator="\n")
    result = run_pipeline(space, path, instance=instance, asset_selection=STEPS)
    failures = [e for e in result.all_events if e.is_step_failure]
    if not failures:
        event("run")
        assert result.success
        return
    for failure in failures:
        data = failure.step_failure_data
        described = data.user_failure_data is not None and data.user_failure_data.description
        checked = data.error is not None and "DagsterAssetCheckFailedError" in data.error.cls_name
        event("refused by a check" if checked else "refused with a Failure")
        assert described or checked, f"{failure.step_key}: {sentence(data)}\n{data.error}"
        told = sentence(data)
        assert told and "\n" not in told and "Traceback" not in told
