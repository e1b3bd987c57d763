"""Test-set metrics of a fitted model, and the figures that compare the three models."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from superstore_assets.pipeline import config
from superstore_assets.pipeline.figures import style
from superstore_assets.pipeline.split import stratified_sample

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

METRICS = config.METRICS
ROC_POINTS = 200  # the stored ROC curve is thinned to at most this many points


def score(y_true: pd.Series, predicted: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """The six headline metrics; profitable is the positive class."""
    # scikit-learn is imported where it is used, not at module level, where it would slow the
    # start-up of every CLI command by most of a second.
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, predicted)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, probability)),
    }


def thinned_roc(y_true: pd.Series, probability: np.ndarray) -> dict[str, list[float]]:
    """The ROC curve, thinned evenly to at most ROC_POINTS points (ends kept)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y_true, probability)
    if len(fpr) > ROC_POINTS:
        keep = np.unique(np.linspace(0, len(fpr) - 1, ROC_POINTS).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [round(float(v), 6) for v in fpr], "tpr": [round(float(v), 6) for v in tpr]}


# Below this many lines an estimator predicts in one thread: the forest predicted 2,000 lines in
# 26 ms so, where two threads took 46 ms; at 10,000 lines two threads win (38 ms against 48 ms),
# and at 200,000 they take half the time.
ONE_THREAD_MAX_ROWS = 5_000


def for_predicting(estimator, rows: int):
    """The fitted estimator as it should predict `rows` lines: below ONE_THREAD_MAX_ROWS, a
    shallow copy (the trees are shared, not copied) with n_jobs=1 where it has the setting, else
    itself. The stored model keeps its own setting."""
    if rows >= ONE_THREAD_MAX_ROWS or getattr(estimator, "n_jobs", None) in (None, 1):
        return estimator
    alone = copy.copy(estimator)
    alone.n_jobs = 1
    return alone


def output_columns(model: Pipeline, features: list[str]) -> list[np.ndarray] | None:
    """For each input feature, the columns of the model's preprocessed matrix it becomes (one
    for a number, one per category for a one-hot encoded text), or None when the preprocessing
    is not the one `models.build_pipeline` makes, or drops or merges a column."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    preprocess = model[0] if hasattr(model, "steps") and len(model) == 2 else None
    if not isinstance(preprocess, ColumnTransformer) or hasattr(model[-1], "feature_names_in_"):
        return None
    found: dict[str, np.ndarray] = {}
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        last = transformer.steps[-1][1] if hasattr(transformer, "steps") else transformer
        if isinstance(last, OneHotEncoder):
            if (last.drop, last.max_categories, last.min_frequency) != (None, None, None):
                return None
            widths = [len(categories) for categories in last.categories_]
        else:
            widths = [1] * len(columns)  # an imputer that dropped an empty column: caught below
        block = preprocess.output_indices_[name]
        if sum(widths) != block.stop - block.start:
            return None
        start = block.start
        for column, width in zip(columns, widths, strict=True):
            found[column] = np.arange(start, start + width)
            start += width
    if set(found) != set(features):
        return None
    return [found[feature] for feature in features]


def permutation_importance(
    model: Pipeline, x: pd.DataFrame, y: pd.Series, n_repeats: int, seed: int
) -> np.ndarray:
    """The mean drop in ROC AUC when each feature of `x` is shuffled, feature by feature: what
    scikit-learn's `permutation_importance(model, x, y, scoring="roc_auc", n_repeats=n_repeats,
    random_state=seed).importances_mean` gives, to the bit.

    scikit-learn runs the whole pipeline on each of the n_repeats × features shuffled copies.
    The preprocessing works line by line once fitted, so shuffling a feature's lines and then
    preprocessing them equals shuffling the lines of the columns it becomes: here the lines are
    preprocessed once, and the same shuffles (the same seeds, drawn in the same order) are made
    on the preprocessed matrix: the forest's whole evaluation on 9,994 lines took 2.7 s, and
    takes 1.3 s. Preprocessing of another shape is left to scikit-learn.
    """
    from sklearn.metrics import check_scoring
    from sklearn.utils import check_random_state

    columns = output_columns(model, list(x.columns))
    transformed = model[:-1].transform(x) if columns is not None else None
    if not isinstance(transformed, np.ndarray):  # another shape, or a sparse matrix
        from sklearn.inspection import permutation_importance as by_scikit_learn

        return by_scikit_learn(
            model, x, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed
        ).importances_mean
    estimator = for_predicting(model[-1], len(x))
    scorer = check_scoring(estimator, scoring="roc_auc")
    baseline = scorer(estimator, transformed, y)
    # As scikit-learn: one seed drawn from `seed`, each feature's shuffles drawn from it anew.
    feature_seed = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    drops = []
    for indices in columns:
        random_state = check_random_state(feature_seed)
        shuffled = transformed.copy()
        order = np.arange(len(shuffled))
        scores = []
        for _ in range(n_repeats):
            random_state.shuffle(order)  # shuffles compose, as in scikit-learn
            shuffled[:, indices] = shuffled[np.ix_(order, indices)]
            scores.append(scorer(estimator, shuffled, y))
        drops.append(baseline - np.array(scores))
    return np.array(drops).mean(axis=1)


def evaluate(model: Pipeline, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Metrics of the model on test, beside a majority-class baseline fitted on train.

    Also the confusion matrix ([[TN, FP], [FN, TP]]), the ROC curve and the permutation
    importance of each input feature (mean drop in ROC AUC when it is shuffled), on at most
    IMPORTANCE_MAX_ROWS test lines, a seeded stratified sample (the metrics use every line).
    """
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import confusion_matrix

    features = list(config.FEATURES)
    x_test, y_test = test[features], test[config.TARGET]
    if hasattr(model, "steps"):  # a Pipeline: preprocessed once for both predictions
        transformed = model[:-1].transform(x_test)
        estimator = for_predicting(model[-1], len(x_test))
    else:
        transformed, estimator = x_test, for_predicting(model, len(x_test))
    predicted = estimator.predict(transformed)
    probability = estimator.predict_proba(transformed)[:, 1]
    baseline = DummyClassifier(strategy="most_frequent").fit(train[features], train[config.TARGET])
    shuffled = stratified_sample(test, config.IMPORTANCE_MAX_ROWS)
    importance = permutation_importance(
        model,
        shuffled[features],
        shuffled[config.TARGET],
        n_repeats=config.IMPORTANCE_REPEATS,
        seed=config.SEED,
    )
    return {
        "test_rows": len(test),
        "metrics": score(y_test, predicted, probability),
        "baseline": score(y_test, baseline.predict(x_test), baseline.predict_proba(x_test)[:, -1]),
        "confusion_matrix": confusion_matrix(y_test, predicted, labels=[False, True]).tolist(),
        "roc_curve": thinned_roc(y_test, probability),
        "feature_importance": {
            feature: round(float(mean), 6)
            for feature, mean in zip(features, importance, strict=True)
        },
    }


def model_comparison(evaluations: dict[str, dict]) -> go.Figure:
    """Every test metric of every model, beside the majority-class baseline."""
    fig = go.Figure()
    for name, evaluation in evaluations.items():
        fig.add_bar(
            name=_title(name), x=list(METRICS), y=[evaluation["metrics"][m] for m in METRICS]
        )
    first = next(iter(evaluations.values()))
    fig.add_bar(
        name="majority baseline",
        x=list(METRICS),
        y=[first["baseline"][m] for m in METRICS],
        marker_color="#bbbbbb",
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], title="test score")
    return style(fig, "Model comparison on the test set")


def roc_curves(evaluations: dict[str, dict]) -> go.Figure:
    """ROC curve of each model on the test set, with its area in the legend."""
    fig = go.Figure()
    for name, evaluation in evaluations.items():
        curve = evaluation["roc_curve"]
        auc = evaluation["metrics"]["roc_auc"]
        fig.add_scatter(
            x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{_title(name)} (AUC {auc:.3f})"
        )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "#999999"}
    )
    fig.update_xaxes(title="false positive rate", range=[0, 1])
    fig.update_yaxes(title="true positive rate", range=[0, 1])
    return style(fig, "ROC curves on the test set")


def confusion_matrices(evaluations: dict[str, dict]) -> go.Figure:
    """The test-set confusion matrix of each model, side by side."""
    names = list(evaluations)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[_title(n) for n in names])
    labels = ["not profitable", "profitable"]
    for column, name in enumerate(names, start=1):
        matrix = evaluations[name]["confusion_matrix"]
        fig.add_trace(
            go.Heatmap(
                z=matrix,
                x=labels,
                y=labels,
                text=matrix,
                texttemplate="%{text}",
                colorscale="Blues",
                showscale=False,
            ),
            row=1,
            col=column,
        )
        fig.update_xaxes(title="predicted", row=1, col=column)
    fig.update_yaxes(title="actual", row=1, col=1)
    return style(fig, "Confusion matrices on the test set")


def feature_importance(evaluations: dict[str, dict]) -> go.Figure:
    """Permutation importance of each feature (drop in test ROC AUC) for each model."""
    fig = go.Figure()
    order = sorted(
        config.FEATURES,
        key=lambda f: -max(e["feature_importance"][f] for e in evaluations.values()),
    )
    for name, evaluation in evaluations.items():
        fig.add_bar(
            name=_title(name), x=order, y=[evaluation["feature_importance"][f] for f in order]
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="drop in ROC AUC when shuffled")
    return style(fig, "Feature importance (permutation, test set)")


def _title(model_name: str) -> str:
    for spec in config.MODEL_SPECS:
        if spec.name == model_name:
            return spec.title
    return model_name


RESULT_FIGURES = {
    "model_comparison": model_comparison,
    "roc_curves": roc_curves,
    "confusion_matrices": confusion_matrices,
    "feature_importance": feature_importance,
}
