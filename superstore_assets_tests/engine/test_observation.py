"""The dataset file's observations: a content observed before is not counted again."""

from __future__ import annotations

import shutil

from dagster import AssetKey

from superstore_assets.assets import resources
from superstore_assets.cli.common import observe
from superstore_assets.engine.hashing import sha256_file
from superstore_assets.engine.observation import SOURCE, observed_rows
from superstore_assets.pipeline import reading
from superstore_assets_tests.conftest import BUNDLED, BUNDLED_MODIFIED


def test_a_file_swapped_back_takes_its_rows_from_the_earlier_observation(
    workspace, tmp_path, monkeypatch
):
    dataset = tmp_path / "orders.csv"
    counted: list[int] = []
    count_rows = reading.count_rows
    monkeypatch.setattr(
        reading, "count_rows", lambda data: counted.append(len(data)) or count_rows(data)
    )
    monkeypatch.setattr(resources, "_ROWS", {})  # this process's counts, the test's own
    rows = {}
    with workspace.instance() as instance:
        for source in (BUNDLED, BUNDLED_MODIFIED, BUNDLED):
            resources._ROWS.clear()  # as in a new `superstore materialize`
            shutil.copyfile(source, dataset)
            version, _ = observe(instance, resources.DatasetResource(path=str(dataset)))
            latest = instance.fetch_observations(SOURCE, limit=1).records[0].asset_observation
            rows[source.name, len(rows)] = latest.metadata["rows"].value
        # Kept for the process, as a count made here is: the run's own steps count none.
        kept = dict(resources._ROWS)
        assert kept == {version: 9_994}
        assert observed_rows(instance, sha256_file(BUNDLED)) == 9_994
        assert observed_rows(instance, "0" * 64) is None
        assert observed_rows(instance, sha256_file(BUNDLED), AssetKey("orders_to_score")) is None
    # Each content counted once: the file swapped back took the first observation's count.
    assert counted == [BUNDLED.stat().st_size, BUNDLED_MODIFIED.stat().st_size]
    first, back = rows[BUNDLED.name, 0], rows[BUNDLED.name, 2]
    assert first == back == 9_994
