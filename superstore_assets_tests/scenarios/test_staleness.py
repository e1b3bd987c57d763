"""Only what changed reruns: the six acceptance stories, through the `superstore` CLI.

Each story runs on the bundled data and on the real Tableau file (skipped where it is absent),
in one Dagster home, in order: a cold run; nothing stale; the code reformatted; one model's
grid edited; a text column no model reads edited; the modified dataset; the original back.
Code edits are made to a copy of the package in a temporary folder, which the CLI runs from.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG
from superstore_assets.engine.project import PACKAGE_DIR
from superstore_assets_tests import commands
from superstore_assets_tests.conftest import (
    ASSETS,
    BUNDLED,
    BUNDLED_MODIFIED,
    REAL,
    REAL_MODIFIED,
    Workspace,
    copied,
)

pytestmark = pytest.mark.slow

MODELS = {"decision_tree", "random_forest", "logistic_regression"}
METRICS = {f"{m}_metrics" for m in MODELS}
RESULT_FIGURES = {"model_comparison", "roc_curves", "confusion_matrices", "feature_importance"}
ALL = ASSETS


def superstore(workspace: Workspace, *args: str, code: Path | None = None) -> str:
    """Run the CLI (started from a copy of the package when `code` is given, else launched:
    commands.py); return its output, on success."""
    quiet = ["--log-level", "WARNING"] if args[0] == "materialize" else []
    if code is not None:
        return succeeded(workspace, ["-m", "superstore_assets.cli", *args, *quiet], code)
    return stdout_of(commands.run([*args, *quiet], cwd=PACKAGE_DIR.parent, env=workspace.env()))


def succeeded(workspace: Workspace, arguments: list[str], code: Path | None = None) -> str:
    """Python with `arguments` in the workspace (from `code` if given); its output, on success."""
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=code or PACKAGE_DIR.parent,
        env=workspace.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return stdout_of(done)


def stdout_of(done: subprocess.CompletedProcess) -> str:
    """A command's stdout, once it is known to have succeeded."""
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def answered_without_dagster(workspace: Workspace, *args: str) -> str:
    """The CLI's output, asserting that it never imported Dagster (the kept status answer)."""
    probe = (
        "import sys\n"
        "from superstore_assets.cli import main\n"
        f"main({list(args)!r})\n"
        "assert 'dagster' not in sys.modules, 'Dagster was imported'\n"
    )
    return succeeded(workspace, ["-c", probe])


def names(output: str, heading: str) -> set[str]:
    """The asset names listed after `Computed (n):` or `Reused (n) from run …:` (wrapped)."""
    found: set[str] = set()
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"{heading} ("):
            text = line.split(":", 1)[1]
            for more in lines[index + 1 :]:
                if not more.startswith("    "):
                    break
                text += " " + more.strip()
            found |= {name.strip() for name in text.split(",")} - {"-", ""}
    return found


def statuses(output: str) -> dict[str, str]:
    """`superstore status` lines as {asset: "fresh" | "stale …" | "missing …"}."""
    found = {}
    for line in output.splitlines()[1:]:
        name, _, rest = line.partition(" ")
        found[name] = rest.strip()
    return found


def data_versions(workspace: Workspace) -> dict[str, str]:
    with workspace.instance() as instance:
        found = {}
        for key in instance.get_asset_keys():
            event = instance.get_latest_materialization_event(key)
            if event is not None:
                found[key.to_user_string()] = event.asset_materialization.tags[DATA_VERSION_TAG]
        return found


def test_metrics(workspace: Workspace) -> dict[str, float]:
    with workspace.instance() as instance:
        return {
            m: instance.get_latest_materialization_event(AssetKey(f"{m}_metrics"))
            .asset_materialization.metadata["test_f1"]
            .value
            for m in MODELS
        }


test_metrics.__test__ = False  # a helper, not a test


def champion_card(workspace: Workspace) -> dict:
    with workspace.instance() as instance:
        event = instance.get_latest_materialization_event(AssetKey("champion"))
        return event.asset_materialization.metadata["card"].value


def with_renamed_customer(source: Path, target: Path) -> str:
    """A copy of the dataset with the first row's customer renamed wherever they appear."""
    data = source.read_bytes()
    header, first = list(csv.reader(io.StringIO(data.decode("cp1252"))))[:2]
    name = first[header.index("Customer Name")]
    old, new = f",{name},".encode("cp1252"), f",{name} Jr,".encode("cp1252")
    assert data.count(old) >= 1
    target.write_bytes(data.replace(old, new))
    return name


def package_copy(root: Path) -> Path:
    """A copy of the package that a test may edit; the CLI run from `root` imports it. The
    copy is a checkout of its own, so the new orders it scores by default come along."""
    shutil.copytree(
        PACKAGE_DIR, root / "superstore_assets", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "data").mkdir(exist_ok=True)
    shutil.copyfile(
        PACKAGE_DIR.parent / "data" / "new_orders.csv", root / "data" / "new_orders.csv"
    )
    return root


def reformat(code: Path) -> None:
    """Rewrap every module to 60 columns and add a comment to each: nothing a computation sees."""
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run(
        [str(ruff), "format", "--quiet", "--line-length", "60", str(code / "superstore_assets")],
        check=True,
    )
    for module in (code / "superstore_assets").rglob("*.py"):
        text = module.read_text()
        module.write_text("# Reformatted by a test.\n" + text.replace('"""\n', '"""\n# note\n', 1))


@pytest.fixture(params=["bundled", "real"])
def after_a_run(request, tmp_path) -> tuple[Workspace, Path, Path]:
    """A home and storage where the whole graph was materialized on the original file (a copy
    of the session's run: cold runs through the CLIs are tested in cli/), with the original
    and the modified file."""
    if request.param == "bundled":
        made = request.getfixturevalue("bundled_run")[0]
        files = BUNDLED, BUNDLED_MODIFIED
    else:
        made = request.getfixturevalue("real_runs").real
        files = REAL, REAL_MODIFIED
    return copied(made, tmp_path / "workspace"), *files


def test_only_what_changed_reruns(after_a_run, tmp_path):
    workspace, original, modified = after_a_run
    first_versions, first_metrics = data_versions(workspace), test_metrics(workspace)
    assert len(first_versions) == ALL

    # 1. Nothing stale: nothing computed, and no run.
    again = superstore(workspace, "materialize", "--stale", "--dataset", str(original))
    assert f"Nothing is stale: 0 computed, 0 reused, {ALL} untouched." in again
    assert set(statuses(superstore(workspace, "status", "--dataset", str(original))).values()) == {
        "fresh"
    }
    # Asked again with nothing changed, status gives the answer it kept, without Dagster.
    kept = answered_without_dagster(workspace, "status", "--dataset", str(original))
    rechecked = superstore(workspace, "status", "--recheck", "--dataset", str(original))
    assert statuses(kept) == statuses(rechecked) and len(statuses(kept)) == ALL

    # 6. The code reformatted, with comments added, in another folder: nothing stale.
    code = package_copy(tmp_path / "reformatted")
    reformat(code)
    config = code / "superstore_assets" / "pipeline" / "config.py"
    assert "# Reformatted by a test." in config.read_text()
    shown = statuses(superstore(workspace, "status", "--dataset", str(original), code=code))
    assert set(shown.values()) == {"fresh"}, shown

    # 5. One model's grid edited: that model, its metrics, the comparison figures and the
    # report rerun; status says config.py changed.
    code = package_copy(tmp_path / "grid")
    config = code / "superstore_assets" / "pipeline" / "config.py"
    # The tree's grid: the cheapest model to fit again, so the story costs seconds, not tens.
    grid = 'grid={"max_depth": [4, 8, 12], "min_samples_leaf": [1, 10]}'
    assert grid in config.read_text()
    # Depths the first run did not choose: a different tree, so its evaluation must change.
    config.write_text(config.read_text().replace(grid, grid.replace("[4, 8, 12]", "[3, 6]")))
    shown = statuses(superstore(workspace, "status", "--dataset", str(original), code=code))
    assert shown["decision_tree"] == "stale    <- code changed (pipeline/config.py)"
    assert shown["random_forest"] == shown["logistic_regression"] == "fresh"
    expected = {"decision_tree", "decision_tree_metrics", *RESULT_FIGURES, "champion", "report"}
    # Below the champion, the scores are stale too until the champion is known again.
    assert {k for k, v in shown.items() if v != "fresh"} == expected | {"scored_orders"}
    champion_before = data_versions(workspace)["champion"]
    edited = superstore(workspace, "materialize", "--dataset", str(original), code=code)
    # The orders are scored again only if the champion changed (the edited forest may win).
    changed = data_versions(workspace)["champion"] != champion_before
    assert names(edited, "Computed") == expected | ({"scored_orders"} if changed else set())
    assert names(edited, "Reused") == (set() if changed else {"scored_orders"})

    # 4. A text column no model reads: no model, metric or result figure recomputed. (The
    # edited grid is gone too: its assets come back from the cold run's outputs.)
    renamed = tmp_path / "renamed.csv"
    with_renamed_customer(original, renamed)
    text = superstore(workspace, "materialize", "--dataset", str(renamed))
    computed = names(text, "Computed")
    assert {"orders_raw", "orders_clean"} <= computed
    assert not computed & (MODELS | METRICS | RESULT_FIGURES), computed
    # The report reads the dataset's record (its facts) and is made again. The champion reads
    # the models, their evaluations and the split: it is restored, and its card still names the
    # file its models were trained on.
    assert expected - {"report"} <= names(text, "Reused") and "report" in computed
    assert data_versions(workspace)["model_features"] == first_versions["model_features"]
    assert data_versions(workspace)["champion"] == first_versions["champion"]
    card = champion_card(workspace)
    assert card["dataset_sha256"] == hashlib.sha256(original.read_bytes()).hexdigest(), card

    # 2. The modified dataset: status names the source, the models retrain, metrics differ.
    # Right after a run, with only the file swapped, status answers without Dagster, and as
    # working it out afresh does.
    swapped_status = answered_without_dagster(workspace, "status", "--dataset", str(modified))
    rechecked = superstore(workspace, "status", "--recheck", "--dataset", str(modified))
    assert swapped_status == rechecked
    shown = statuses(swapped_status)
    assert re.fullmatch(
        r"stale +<- superstore_csv changed \(sha256 \w{4}…→\w{4}…\)", shown["orders_raw"]
    )
    assert "<- superstore_csv changed" in shown["random_forest"]
    swapped = superstore(workspace, "materialize", "--stale", "--dataset", str(modified))
    assert names(swapped, "Computed") >= MODELS | METRICS
    assert test_metrics(workspace) != first_metrics

    # 3. The original back: every asset restored, none computed, every version as at first.
    back = superstore(workspace, "materialize", "--stale", "--dataset", str(original))
    assert not names(back, "Computed"), back
    assert len(names(back, "Reused")) == ALL
    assert data_versions(workspace) == first_versions
    assert test_metrics(workspace) == first_metrics

    # gc keeps the current version of each output and drops the others; nothing goes stale.
    pruned = superstore(workspace, "gc", "--keep", "1", "--dataset", str(original))
    assert re.search(r"Removed [1-9]\d* stored versions", pruned), pruned
    assert set(statuses(superstore(workspace, "status", "--dataset", str(original))).values()) == {
        "fresh"
    }
