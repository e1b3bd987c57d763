"""Parameters without editing code: `superstore materialize -S`, `exp run` sweeps that reuse
what they share, `exp show`, and the refusals of bad parameters."""

from __future__ import annotations

import json
import re

import pytest
from dagster import AssetKey

from superstore_assets.engine.freshness import REUSED_FROM_RUN
from superstore_assets.engine.history import experiment_table
from superstore_assets.pipeline import params
from superstore_assets.pipeline.config import MODEL_SPECS

MODELS = [spec.name for spec in MODEL_SPECS]
SWEEP = ["-S", "random_forest.max_depth=4,8", "-S", "logistic_regression.C=0.1,1"]


def fits(workspace) -> dict[str, int]:
    """How many times each model was fitted: its materializations that did not restore."""
    with workspace.instance() as instance:
        return {
            name: sum(
                REUSED_FROM_RUN not in record.asset_materialization.metadata
                for record in instance.fetch_materializations(AssetKey(name), limit=1000).records
            )
            for name in MODELS
        }


def overridden_by_the_cli(workspace) -> None:
    """`materialize -S` reruns only what reads the parameter; the defaults then restore."""
    done = workspace.superstore("materialize", "-S", "random_forest.max_depth=8")
    assert done.returncode == 0, done.stdout + done.stderr
    computed = (
        "Computed (8): random_forest, random_forest_metrics, champion, confusion_matrices, "
        "feature_importance, model_comparison, roc_curves, report"
    )
    assert computed in " ".join(done.stdout.split()), done.stdout
    back = workspace.superstore("materialize")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Computed (0)" in back.stdout and "Reused (9) from run" in back.stdout, back.stdout
    status = workspace.superstore("status")
    assert all(line.split()[1] == "fresh" for line in status.stdout.splitlines()[1:])


def overridden_in_the_launchpad(workspace) -> None:
    """What a person types in the UI's Launchpad: the parameter resource's run config."""
    from superstore_assets_tests.conftest import BUNDLED, run_pipeline

    launchpad = {"resources": {"random_forest": {"config": {"overrides": ["max_depth=4"]}}}}
    result = run_pipeline(workspace, BUNDLED, run_config=launchpad)
    assert result.success
    computed = {
        event.asset_key.to_user_string()
        for event in result.get_asset_materialization_events()
        if REUSED_FROM_RUN not in event.step_materialization_data.materialization.metadata
    }
    assert "random_forest" in computed and "decision_tree" not in computed
    forest = result.asset_materializations_for_node("random_forest")[0]
    assert forest.metadata["settings"].value == {"random_forest.max_depth": 4}
    assert forest.metadata["params"].value["max_depth"] == 4

    wrong = {"resources": {"random_forest": {"config": {"overrides": ["max_depth=-1"]}}}}
    failed = run_pipeline(workspace, BUNDLED, run_config=wrong)
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.is_step_failure]
    assert failure.step_key == "random_forest"
    assert "Parameter refused: random_forest.max_depth=-1 is refused" in (
        failure.step_failure_data.user_failure_data.description
    )


@pytest.mark.slow
def test_overrides_rerun_what_reads_them_and_a_2x2_sweep_fits_no_value_twice(materialized):
    """In a home where the defaults were run: a forest of depth 8 by `materialize -S`, one of
    depth 4 by the Launchpad's run config, then a sweep over both depths and two values of C.
    Each value is fitted once: the sweep fits each C, restores the two forests (the CLI's
    and the Launchpad's override are one parameter) and the tree, which no swept parameter
    reaches, in every combination; a rerun of the sweep fits nothing."""
    workspace = materialized
    before = fits(workspace)
    overridden_by_the_cli(workspace)
    overridden_in_the_launchpad(workspace)
    forests = {"decision_tree": 0, "random_forest": 2, "logistic_regression": 0}
    assert fits(workspace) == {name: before[name] + forests[name] for name in MODELS}

    done = workspace.superstore("exp", "run", *SWEEP, "--name", "depth-by-C")
    assert done.returncode == 0, done.stdout + done.stderr
    # One heading a combination; each run's progress lines ("[ 5/24] …") are not headings.
    headings = [line for line in done.stdout.splitlines() if re.match(r"\[\d/4\] ", line)]
    assert len(headings) == 4 and "[4/4] random_forest.max_depth=8" in done.stdout
    swept = {"decision_tree": 0, "random_forest": 2, "logistic_regression": 2}
    assert fits(workspace) == {name: before[name] + swept[name] for name in MODELS}

    page = workspace.storage.parent / "experiments.html"
    shown = workspace.superstore(
        "exp", "show", "--experiment", "depth-by-C", "--json", "--html", str(page), "--roc", "2"
    )
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert sorted(json.dumps(row["params"], sort_keys=True) for row in rows) == sorted(
        json.dumps({"logistic_regression.C": c, "random_forest.max_depth": d}, sort_keys=True)
        for d in (4, 8)
        for c in (0.1, 1)
    )
    with workspace.instance() as instance:
        tagged = [r for r in instance.get_runs() if r.tags.get("superstore/experiment")]
        assert len(tagged) == 4 and all(r.is_success for r in tagged)
    for row in rows:
        assert set(row["metrics"]) == set(MODELS)
        assert row["dataset"] == "superstore.csv" and len(row["dataset_sha256"]) == 64
    # Each model's metrics follow its own parameter, and only it.
    for model, key in (
        ("random_forest", "random_forest.max_depth"),
        ("logistic_regression", "logistic_regression.C"),
    ):
        by_value: dict = {}
        for row in rows:
            by_value.setdefault(row["params"][key], set()).add(
                json.dumps(row["metrics"][model], sort_keys=True)
            )
        assert all(len(scores) == 1 for scores in by_value.values()), by_value
        assert len({next(iter(s)) for s in by_value.values()}) == 2, by_value
    assert len({json.dumps(row["metrics"]["decision_tree"]) for row in rows}) == 1

    table = workspace.superstore("exp", "show", "--md", "--sort", "random_forest.roc_auc")
    lines = table.stdout.splitlines()
    # A header, a rule, the newest run without parameters in its tags (the Launchpad's: its
    # override is run config), the run of -S, and the sweep's 4 runs.
    assert table.returncode == 0 and len(lines) == 8, table.stdout
    assert all(line.startswith("| ") for line in lines if not line.startswith("|---"))

    text = page.read_text()
    assert "ROC curves on the test set, by run" in text and "Test roc_auc across runs" in text
    assert f"ROC curves of</dt><dd>{rows[0]['run_id'][:8]}, {rows[1]['run_id'][:8]}<" in text
    assert "<script src=" not in text and text.count("Plotly.newPlot") >= 2  # offline

    history = workspace.superstore("history", "--params").stdout.splitlines()
    assert history[0].split()[-1] == "parameters"
    assert history[1].endswith("logistic_regression.C=1 random_forest.max_depth=8")

    again = workspace.superstore("exp", "run", *SWEEP, "--name", "depth-by-C")
    assert again.returncode == 0, again.stdout + again.stderr
    assert fits(workspace) == {name: before[name] + swept[name] for name in MODELS}
    with workspace.instance() as instance:  # the table exp show prints, read in-process
        # The newest run of each combination, of -S, and of the runs without parameters in
        # their tags; then every successful run: the defaults, -S, the defaults again, the
        # Launchpad's, and the sweep's twice.
        assert len(experiment_table(instance)) == 6
        assert len(experiment_table(instance, every_run=True)) == 12


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            ["materialize", "-S", "random_forrest.max_depth=8"],
            "unknown parameter 'random_forrest.max_depth'; did you mean random_forest.max_depth",
        ),
        (
            ["exp", "run", "-S", "random_forest.max_depth=4,-1"],
            "random_forest.max_depth=-1 is refused: random_forest.max_depth takes a whole number",
        ),
        (
            ["materialize", "-S", "split.train=0.5"],
            "split fractions must sum to 1: train 0.5 + validation 0.2 + test 0.2 = 0.9",
        ),
        (
            ["exp", "run", "-S", "logistic_regression.C=1,zero"],
            "logistic_regression.C='zero' is refused: logistic_regression.C takes a number > 0",
        ),
        (["materialize", "-S", "tuning.metric"], "'tuning.metric': write a parameter as key=value"),
    ],
)
def test_bad_parameters_are_refused_in_a_sentence_before_any_run(
    argv, sentence, workspace, monkeypatch, capsys
):
    from superstore_assets.cli import main

    for name, value in workspace.env().items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    told = capsys.readouterr()
    assert told.out == ""
    assert told.err.startswith(f"superstore {argv[0]}: {sentence}"), told.err
    assert len(told.err.strip().splitlines()) == 1
    with workspace.instance() as instance:
        assert instance.get_runs() == []


def test_values_are_read_as_yaml_and_sweeps_split_outside_brackets():
    assert params.sweep_points("4,8,16") == [4, 8, 16]
    assert params.sweep_points("[4,8],[16]") == [[4, 8], [16]]
    assert params.sweep_points("roc_auc, f1") == ["roc_auc", "f1"]
    assert params.parse(["random_forest.max_depth=[4, 8]"]) == {"random_forest.max_depth": [4, 8]}


def test_an_override_fixes_a_grid_key_or_a_fixed_setting():
    forest = next(spec for spec in MODEL_SPECS if spec.name == "random_forest")
    changed = params.model_spec(forest, {"max_depth": 8, "n_estimators": 50})
    assert changed.grid == {"max_depth": [8], "min_samples_leaf": [1, 5]}
    assert changed.fixed["n_estimators"] == 50 and forest.fixed["n_estimators"] == 100


def test_split_fractions_must_be_whole_folds():
    assert params.check({"split.train": 0.5, "split.validation": 0.25, "split.test": 0.25})
    with pytest.raises(params.ParamError, match="not whole folds"):
        params.check({"split.train": 0.7, "split.validation": 0.15, "split.test": 0.15})


def test_a_random_sample_of_a_sweep_is_seeded():
    sweep = ["random_forest.max_depth=2,4,8,16", "logistic_regression.C=0.1,1,10"]
    assert len(params.combinations(sweep)) == 12
    sample = params.combinations(sweep, sample=3, seed=5)
    assert len(sample) == 3 and sample == params.combinations(sweep, sample=3, seed=5)


def test_only_what_differs_from_the_defaults_is_shown():
    assert params.differing({"random_forest.max_depth": [8, 16], "logistic_regression.C": 1}) == {
        "logistic_regression.C": 1
    }
