"""Test-set metrics and the comparison figures."""

import warnings

import numpy as np
import pytest
from sklearn.inspection import permutation_importance

from superstore_assets.pipeline import config, evaluation, models, split
from superstore_assets_tests.frames import feature_table

# The fixture fits the three models over their whole grids: seconds, so among the slow tests.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted():
    """The three models fitted on a feature table, and the table's train and test sides."""
    table = feature_table()
    train, validation = split.side(table, "train"), split.side(table, "validation")
    found = {
        spec.name: models.fit_best_model(spec, train, validation).pipeline
        for spec in config.MODEL_SPECS
    }
    return found, train, split.side(table, "test")


@pytest.fixture(scope="module")
def evaluations(fitted):
    found, train, test = fitted
    return {name: evaluation.evaluate(model, train, test) for name, model in found.items()}, test


def scikit_learns(model, x, y) -> np.ndarray:
    return permutation_importance(
        model, x, y, scoring="roc_auc", n_repeats=5, random_state=config.SEED
    ).importances_mean


def test_permutation_importance_is_scikit_learns_to_the_bit(fitted):
    found, _, test = fitted
    x, y = test[list(config.FEATURES)], test[config.TARGET]
    for name, model in found.items():
        assert evaluation.output_columns(model, list(config.FEATURES)) is not None, name
        ours = evaluation.permutation_importance(model, x, y, n_repeats=5, seed=config.SEED)
        assert np.array_equal(ours, scikit_learns(model, x, y)), name
        assert ours.max() > 0.01, name  # shuffling some feature costs the model something


def test_preprocessing_that_drops_a_column_is_left_to_scikit_learn(fitted):
    _, train, test = fitted
    train = train.assign(Quantity=np.nan)  # the median imputer drops a column with no values
    spec = next(spec for spec in config.MODEL_SPECS if spec.name == "decision_tree")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Skipping features without any observed"
        model = models.build_pipeline(spec, {"max_depth": 4}).fit(
            train[list(config.FEATURES)], train[config.TARGET]
        )
        x, y = test[list(config.FEATURES)], test[config.TARGET]
        assert evaluation.output_columns(model, list(config.FEATURES)) is None
        ours = evaluation.permutation_importance(model, x, y, n_repeats=5, seed=config.SEED)
        assert np.array_equal(ours, scikit_learns(model, x, y))


def test_a_sparse_preprocessed_matrix_is_left_to_scikit_learn(fitted):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    _, train, test = fitted
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(config.NUMERIC_FEATURES)),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["Category", "Region"]),
        ],
        sparse_threshold=1.0,  # one-hot columns kept sparse: the whole matrix is sparse
    )
    features = [*config.NUMERIC_FEATURES, "Category", "Region"]
    model = Pipeline(
        [("preprocess", preprocess), ("model", DecisionTreeClassifier(max_depth=3))]
    ).fit(train[features], train[config.TARGET])
    x, y = test[features], test[config.TARGET]
    assert evaluation.output_columns(model, features) is not None  # mapped, but sparse
    ours = evaluation.permutation_importance(model, x, y, n_repeats=5, seed=config.SEED)
    assert np.array_equal(ours, scikit_learns(model, x, y))


def test_an_estimator_without_a_pipeline_is_left_to_scikit_learn(fitted):
    from sklearn.tree import DecisionTreeClassifier

    _, train, test = fitted
    numbers = list(config.NUMERIC_FEATURES)
    train, test = train.fillna(0), test.fillna(0)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    tree.fit(train[numbers], train[config.TARGET])
    x, y = test[numbers], test[config.TARGET]
    assert evaluation.output_columns(tree, numbers) is None
    ours = evaluation.permutation_importance(tree, x, y, n_repeats=5, seed=config.SEED)
    assert np.array_equal(ours, scikit_learns(tree, x, y)) and ours.max() > 0


def test_the_forest_predicts_few_lines_in_one_thread_and_keeps_its_setting(fitted):
    forest = fitted[0]["random_forest"][-1]
    alone = evaluation.for_predicting(forest, evaluation.ONE_THREAD_MAX_ROWS - 1)
    assert (alone.n_jobs, forest.n_jobs) == (1, 2)
    assert alone.estimators_ is forest.estimators_  # the trees shared, not copied
    assert evaluation.for_predicting(forest, evaluation.ONE_THREAD_MAX_ROWS) is forest


def test_metrics_are_scores_and_the_matrix_counts_the_test_rows(evaluations):
    result, test = evaluations
    for name, evaluated in result.items():
        assert set(evaluated["metrics"]) == set(evaluation.METRICS)
        assert all(0 <= v <= 1 for v in evaluated["metrics"].values())
        (tn, fp), (fn, tp) = evaluated["confusion_matrix"]
        assert tn + fp + fn + tp == len(test) == evaluated["test_rows"]
        assert evaluated["metrics"]["accuracy"] == pytest.approx((tn + tp) / len(test))
        assert evaluated["metrics"]["roc_auc"] > 0.8, name


def test_baseline_predicts_the_majority_class(evaluations):
    result, test = evaluations
    baseline = next(iter(result.values()))["baseline"]
    assert baseline["accuracy"] == pytest.approx(test[config.TARGET].mean())  # majority: True
    assert baseline["balanced_accuracy"] == 0.5 and baseline["roc_auc"] == 0.5


def test_discount_is_the_most_important_feature(evaluations):
    result, _ = evaluations
    for evaluated in result.values():
        importance = evaluated["feature_importance"]
        assert set(importance) == set(config.FEATURES)
        assert max(importance, key=importance.get) == "Discount"


def test_roc_curve_runs_from_0_to_1_and_is_thinned(evaluations):
    result, _ = evaluations
    curve = result["random_forest"]["roc_curve"]
    assert curve["fpr"][0] == 0 and curve["fpr"][-1] == 1 and curve["tpr"][-1] == 1
    assert len(curve["fpr"]) <= evaluation.ROC_POINTS


def test_result_figures_draw_every_model(evaluations):
    result, _ = evaluations
    comparison = evaluation.model_comparison(result)
    assert [t.name for t in comparison.data] == [
        "Decision Tree",
        "Random Forest",
        "Logistic Regression",
        "majority baseline",
    ]
    assert len(evaluation.roc_curves(result).data) == len(result) + 1  # and the chance line
    matrices = evaluation.confusion_matrices(result)
    assert [list(map(list, t.z)) for t in matrices.data] == [
        e["confusion_matrix"] for e in result.values()
    ]
    importance = evaluation.feature_importance(result)
    assert importance.data[0].x[0] == "Discount"  # sorted, most important first
