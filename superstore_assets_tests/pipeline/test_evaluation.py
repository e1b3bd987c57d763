"""Test-set metrics and the comparison figures."""

import pytest

from superstore_assets.pipeline import config, evaluation, models, split
from superstore_assets_tests.frames import feature_table

# The fixture fits the three models over their whole grids: seconds, so among the slow tests.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evaluations():
    table = feature_table()
    train, validation = split.side(table, "train"), split.side(table, "validation")
    test = split.side(table, "test")
    result = {}
    for spec in config.MODEL_SPECS:
        model = models.fit_best_model(spec, train, validation).pipeline
        result[spec.name] = evaluation.evaluate(model, train, test)
    return result, test


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
