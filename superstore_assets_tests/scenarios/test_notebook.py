"""The notebook the pipeline replaces computes what the pipeline computes, file for file.

notebooks/superstore.ipynb runs top to bottom in a fresh kernel (nbclient) on the bundled data,
and its outputs are compared with those of the pipeline's run on the same file.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from superstore_assets.pipeline import config, split
from superstore_assets_tests.conftest import BUNDLED, ROOT

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "notebooks" / "superstore.ipynb"
TABLES = ["orders_raw", "orders_clean", "model_features", "summary_statistics", "train_val_test"]
MODELS = [spec.name for spec in config.MODEL_SPECS]


@pytest.fixture(scope="module")
def notebook_out(tmp_path_factory) -> Path:
    """The notebook's output folder after one run on the bundled dataset."""
    out = tmp_path_factory.mktemp("notebook") / "out"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:  # the kernel inherits this environment
        patch.setenv("SUPERSTORE_DATASET", str(BUNDLED))
        patch.setenv("SUPERSTORE_NOTEBOOK_OUT", str(out))
        NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        ).execute()
    return out


def test_notebook_metrics_are_the_pipelines(notebook_out, bundled_run):
    space, result = bundled_run
    assert result.success
    for name in MODELS:
        mine = (notebook_out / "metrics" / f"{name}_metrics.json").read_bytes()
        theirs = (space.storage / "metrics" / f"{name}_metrics.json").read_bytes()
        assert json.loads(mine)["metrics"] == json.loads(theirs)["metrics"], name
        assert mine == theirs, name
    # Real scores, not empty files: every model beats the majority class on the bundled data.
    tree = json.loads((notebook_out / "metrics" / "decision_tree_metrics.json").read_bytes())
    assert tree["metrics"]["balanced_accuracy"] > 0.8 > tree["baseline"]["balanced_accuracy"]


def test_notebook_tables_are_the_pipelines(notebook_out, bundled_run):
    space, _ = bundled_run
    rows = {}
    for name in TABLES:
        mine = pd.read_parquet(notebook_out / "tables" / f"{name}.parquet")
        theirs = pd.read_parquet(space.storage / "tables" / f"{name}.parquet")
        pd.testing.assert_frame_equal(mine, theirs)
        rows[name] = len(mine)
    # 9,994 lines read, the one entered twice dropped; a row per numeric column and the target.
    assert rows == {
        "orders_raw": 9994,
        "orders_clean": 9993,
        "model_features": 9993,
        "summary_statistics": 5,
        "train_val_test": 9993,
    }


def test_notebook_models_predict_as_the_pipelines(notebook_out, bundled_run):
    space, _ = bundled_run
    table = pd.read_parquet(space.storage / "tables" / "train_val_test.parquet")
    test = split.side(table, "test")[list(config.FEATURES)]
    for name in MODELS:
        # Both pickles were written by this test session, into its own temporary folders.
        mine = pickle.loads((notebook_out / "models" / f"{name}.pkl").read_bytes())
        theirs = pickle.loads((space.storage / "models" / f"{name}.pkl").read_bytes())
        assert (mine.predict(test) == theirs.predict(test)).all(), name
        # A forest run on two threads sums its trees' votes in either order: equal to rounding.
        np.testing.assert_allclose(mine.predict_proba(test), theirs.predict_proba(test), rtol=1e-12)


def test_notebook_figures_are_the_pipelines(notebook_out, bundled_run):
    space, _ = bundled_run
    figures = sorted(p.name for p in (space.storage / "figures").glob("*.*"))
    assert sorted(p.name for p in (notebook_out / "figures").iterdir()) == figures
    assert len([f for f in figures if f.endswith(".html")]) == 10
    for name in figures:
        mine = (notebook_out / "figures" / name).read_bytes()
        assert mine == (space.storage / "figures" / name).read_bytes(), name


def sections(page: str) -> dict[str, str]:
    """The report's text by heading, its figures (plotly scripts) left out."""
    text = re.sub(
        r'<div class="figure">.*?</script>\s*</div>\s*</div>', "<figure>", page, flags=re.S
    )
    head, *parts = text.split("<h2>")
    found = {"facts": head.split("</h1>", 1)[1]}
    for part in parts:
        heading, body = part.split("</h2>", 1)
        found[heading] = body
    return found


def table(html: str) -> list[dict[str, str]]:
    """The first HTML table in the text, as one {header: cell} per row."""
    body = html.split("<table", 1)[1].split("</table>", 1)[0]
    headers = re.findall(r"<th>(.*?)</th>", body)
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("</thead>", 1)[1], flags=re.S)
    return [dict(zip(headers, re.findall(r"<td>(.*?)</td>", row), strict=True)) for row in rows]


def test_notebook_report_says_what_the_pipelines_says(notebook_out, bundled_run):
    space, _ = bundled_run
    mine = sections((notebook_out / "report" / "report.html").read_text())
    theirs = sections((space.storage / "report" / "report.html").read_text())
    assert "9994 / 9993" in mine["facts"] and str(BUNDLED) in mine["facts"]
    assert mine["facts"] == theirs["facts"]
    assert mine["Models"] == theirs["Models"]
    # The metrics table: the same cells, though the pipeline's columns come in the sorted order
    # of the metrics JSON it reads back, the notebook's in the order evaluate() made them.
    assert table(mine["Results on the test set"]) == table(theirs["Results on the test set"])
    assert len(table(mine["Results on the test set"])) == 4  # three models and the baseline
    assert mine["Exploratory analysis"].count("<figure>") == 6
    # Summary statistics: the same numbers, but the notebook renders the frame as computed
    # (object columns, left unformatted by report.html_table) where the pipeline renders it as
    # read back from Parquet (float columns, formatted); so only the column names are compared.
    assert "<th>column</th>" in mine["Summary statistics"]
    assert (
        mine["Champion"] == theirs["Champion"] and "Promoted through the gate" in mine["Champion"]
    )
    assert set(mine) == set(theirs)
