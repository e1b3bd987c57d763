"""The three models: one scikit-learn Pipeline recipe, a grid chosen on the validation set."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from superstore_assets.pipeline import config
from superstore_assets.pipeline.config import ModelSpec
from superstore_assets.pipeline.split import stratified_sample

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODEL_SPECS_BY_NAME = {spec.name: spec for spec in config.MODEL_SPECS}


def import_scikit_learn() -> None:
    """Import every scikit-learn module that fitting and evaluating the models use (about a
    second). The local executor calls it in the run's process before it forks a modeling step,
    so that the forked steps do not each import them again."""
    import sklearn.compose
    import sklearn.dummy
    import sklearn.impute
    import sklearn.inspection
    import sklearn.metrics
    import sklearn.model_selection
    import sklearn.pipeline
    import sklearn.preprocessing  # noqa: F401

    for spec in config.MODEL_SPECS:
        estimator_class(spec)


def estimator_class(spec: ModelSpec) -> type:
    """Import the estimator class named by the spec ("module:Class")."""
    module, name = spec.estimator.split(":")
    return getattr(importlib.import_module(module), name)


def build_pipeline(spec: ModelSpec, params: dict | None = None) -> Pipeline:
    """Preprocessing and estimator in one Pipeline, so fitted preprocessing travels with it.

    Numbers: median imputation, and scaling where the estimator needs it. Categories: one-hot
    encoding that ignores categories unseen in training.
    """
    # scikit-learn is imported where it is used, not at module level, where it would slow the
    # start-up of every CLI command by most of a second.
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps = [SimpleImputer(strategy="median")]
    if spec.scale_numeric:
        numeric_steps.append(StandardScaler())
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric_steps), list(config.NUMERIC_FEATURES)),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(config.CATEGORICAL_FEATURES),
            ),
        ],
        verbose_feature_names_out=False,
    )
    estimator = estimator_class(spec)(**{**spec.fixed, **(params or {})})
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


@dataclass
class FittedModel:
    pipeline: Pipeline
    params: dict
    validation_score: float
    candidates: list[dict]
    fit_seconds: float
    train_rows: int = 0  # the lines each grid point was fitted on
    validation_rows: int = 0  # and scored on


def fit_best_model(
    spec: ModelSpec,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    metric: str = config.SELECTION_METRIC,
    max_rows: int = config.MODEL_MAX_ROWS,
) -> FittedModel:
    """Fit every grid point on train, keep the one that scores best on validation.

    The kept model is the one fitted on train alone: validation only chooses, test stays unseen.
    Ties go to the earlier grid point, so the choice is deterministic. Past `max_rows` lines, a
    seeded stratified sample of each side is used, so the time of a large file stays bounded.
    """
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import ParameterGrid

    scorer = get_scorer(metric)
    features = list(config.FEATURES)
    best: FittedModel | None = None
    candidates = []
    started = time.perf_counter()
    train = stratified_sample(train, max_rows)
    validation = stratified_sample(validation, max_rows)
    for params in ParameterGrid(spec.grid):
        pipeline = build_pipeline(spec, params).fit(train[features], train[config.TARGET])
        score = float(scorer(pipeline, validation[features], validation[config.TARGET]))
        candidates.append({"params": params, metric: round(score, 6)})
        if best is None or score > best.validation_score:
            best = FittedModel(pipeline, params, score, candidates, 0.0)
    assert best is not None, f"{spec.name} has an empty grid"
    best.fit_seconds = time.perf_counter() - started
    best.train_rows, best.validation_rows = len(train), len(validation)
    return best
