"""The model factory: pipelines, the grid search on validation, determinism."""

import pickle

import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid
from sklearn.preprocessing import StandardScaler

from superstore_assets.pipeline import config, models, split
from superstore_assets_tests.frames import feature_table


def test_every_spec_builds_a_pipeline_with_its_preprocessing():
    for spec in config.MODEL_SPECS:
        pipeline = models.build_pipeline(spec)
        assert list(pipeline.named_steps) == ["preprocess", "model"]
        numeric = pipeline.named_steps["preprocess"].transformers[0][1]
        scaled = any(isinstance(step, StandardScaler) for _, step in numeric.steps)
        assert scaled == spec.scale_numeric
        assert type(pipeline.named_steps["model"]) is models.estimator_class(spec)


def test_build_pipeline_applies_fixed_and_grid_parameters():
    spec = models.MODEL_SPECS_BY_NAME["random_forest"]
    estimator = models.build_pipeline(spec, {"max_depth": 3}).named_steps["model"]
    assert estimator.max_depth == 3 and estimator.random_state == config.SEED


@pytest.mark.parametrize("name", [spec.name for spec in config.MODEL_SPECS])
def test_fit_best_model_keeps_the_best_validation_score(name):
    spec = models.MODEL_SPECS_BY_NAME[name]
    table = feature_table()
    train, validation = split.side(table, "train"), split.side(table, "validation")
    fitted = models.fit_best_model(spec, train, validation)
    assert len(fitted.candidates) == len(ParameterGrid(spec.grid))
    best = max(c[config.SELECTION_METRIC] for c in fitted.candidates)
    assert fitted.validation_score == pytest.approx(best, abs=1e-6)
    probabilities = fitted.pipeline.predict_proba(validation[list(config.FEATURES)])[:, 1]
    assert roc_auc_score(validation[config.TARGET], probabilities) == pytest.approx(
        fitted.validation_score
    )
    assert fitted.validation_score > 0.8  # the discount signal is there to be found
    assert fitted.params in [c["params"] for c in fitted.candidates]


@pytest.mark.slow
def test_fitting_twice_gives_the_same_bytes():
    spec = models.MODEL_SPECS_BY_NAME["random_forest"]
    table = feature_table()
    train, validation = split.side(table, "train"), split.side(table, "validation")
    first = models.fit_best_model(spec, train, validation).pipeline
    second = models.fit_best_model(spec, train, validation).pipeline
    assert pickle.dumps(first, protocol=5) == pickle.dumps(second, protocol=5)


def test_fit_best_model_fits_every_line_of_the_real_file_and_a_sample_past_the_cap():
    # The real file has 9,994 lines: its training side (60%) is fitted whole.
    assert config.MODEL_MAX_ROWS > 9994 and config.IMPORTANCE_MAX_ROWS > 0.2 * 9994
    spec = models.MODEL_SPECS_BY_NAME["logistic_regression"]
    table = feature_table()
    train, validation = split.side(table, "train"), split.side(table, "validation")
    whole = models.fit_best_model(spec, train, validation)
    assert (whole.train_rows, whole.validation_rows) == (len(train), len(validation))
    capped = models.fit_best_model(spec, train, validation, max_rows=150)
    assert capped.train_rows == pytest.approx(150, abs=1)
    assert capped.validation_rows == pytest.approx(150, abs=1)
    assert capped.validation_score > 0.8  # a sample still finds the discount signal


@pytest.mark.parametrize("name", ["decision_tree", "logistic_regression"])
def test_a_model_needs_only_the_columns_its_steps_load_of_the_split(name):
    # The model, its metrics and the champion load only MODEL_TABLE_COLUMNS of train_val_test:
    # the fitted model and its evaluation must be the same bytes and numbers without the ids.
    from superstore_assets.pipeline import evaluation

    spec = models.MODEL_SPECS_BY_NAME[name]
    whole = feature_table()
    pruned = whole[list(split.MODEL_TABLE_COLUMNS)]
    assert {"Row ID", config.GROUP_COLUMN} <= set(whole.columns) - set(pruned.columns)
    fits = [
        models.fit_best_model(spec, split.side(t, "train"), split.side(t, "validation"))
        for t in (whole, pruned)
    ]
    assert pickle.dumps(fits[0].pipeline, protocol=5) == pickle.dumps(fits[1].pipeline, protocol=5)
    results = [
        evaluation.evaluate(fits[0].pipeline, split.side(t, "train"), split.side(t, "test"))
        for t in (whole, pruned)
    ]
    assert results[0] == results[1]
