"""The cached graph: the same as the code's, missed by any source edit, and enough for status."""

import shutil
import subprocess
import sys

import pytest

from superstore_assets.assets.definitions import make_definitions
from superstore_assets.engine import manifest
from superstore_assets.engine.project import PACKAGE_DIR
from superstore_assets_tests.conftest import ASSETS, BUNDLED


def test_the_cached_graph_is_the_codes_and_is_read_back_without_the_pipeline(tmp_path, monkeypatch):
    described = manifest.load_graph(tmp_path, make_definitions)
    assert described == manifest.describe_graph(make_definitions())
    assert described["source"] == "superstore_csv" and len(described["nodes"]) == ASSETS
    forest = next(n for n in described["nodes"] if n["key"] == "random_forest")
    assert forest["parents"] == ["train_val_test"] and forest["io_manager"] == "model_io_manager"

    def must_not_run(definitions):
        raise AssertionError("the cache was missed")

    monkeypatch.setattr(manifest, "describe_graph", must_not_run)
    assert manifest.load_graph(tmp_path, make_definitions) == described


def test_any_source_edit_misses_the_cache(tmp_path, monkeypatch):
    copy = tmp_path / "superstore_assets"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(manifest, "PACKAGE_DIR", copy)
    before = manifest.source_key()
    config = copy / "pipeline" / "config.py"
    config.write_text(config.read_text() + "\n# a comment\n")
    assert manifest.source_key() != before


@pytest.mark.slow  # two subprocesses
def test_status_on_unchanged_code_loads_neither_pandas_nor_the_asset_definitions(workspace):
    env = workspace.env(SUPERSTORE_DATASET=str(BUNDLED))
    script = (
        "import sys; from superstore_assets.cli import main; main(['status']); "
        "print(sorted(m for m in ('pandas', 'sklearn', 'plotly', "
        "'superstore_assets.assets.definitions')"
        " if m in sys.modules))"
    )
    run = [sys.executable, "-c", script]
    first = subprocess.run(run, env=env, capture_output=True, text=True, cwd=PACKAGE_DIR.parent)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(run, env=env, capture_output=True, text=True, cwd=PACKAGE_DIR.parent)
    assert "orders_raw" in second.stdout and "missing" in second.stdout
    assert second.stdout.strip().splitlines()[-1] == "[]", second.stdout
