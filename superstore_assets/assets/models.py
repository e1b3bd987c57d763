"""Models: each model and its test evaluation, made by one factory from its spec."""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetsDefinition,
    MetadataValue,
    Output,
)

from superstore_assets.engine.executor import PARALLEL_TAG
from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import config, evaluation, models, split
from superstore_assets.pipeline import params as parameters
from superstore_assets.pipeline.config import ModelSpec


def _parallel_tags(spec: ModelSpec) -> dict[str, str]:
    """Seconds of scikit-learn each: worth running beside another step. An ensemble's steps
    (100 trees to fit, then to predict with again and again) take longest, so they start first
    (Dagster's priority): the forest's evaluation waits on its fit, and the others fit in its
    shadow."""
    longest = "n_estimators" in spec.fixed
    return {
        PARALLEL_TAG: "superstore_assets.pipeline.models:import_scikit_learn",
        **({"dagster/priority": "1"} if longest else {}),
    }


def model_asset(spec: ModelSpec) -> AssetsDefinition:
    """The fitted Pipeline of one model, its grid point chosen on validation."""

    @versioned_asset(
        kind="model",
        name=spec.name,
        group_name="modeling",
        op_tags=_parallel_tags(spec),
        description=f"{spec.title}: preprocessing and estimator, grid chosen on validation.",
        params=(spec.name, "tuning"),
        columns={"train_val_test": split.MODEL_TABLE_COLUMNS},
    )
    def _model(train_val_test: pd.DataFrame, params: dict) -> Output:
        metric, max_rows = parameters.tuning_settings(params["tuning"])
        fitted = models.fit_best_model(
            parameters.model_spec(spec, params[spec.name]),
            split.side(train_val_test, "train"),
            split.side(train_val_test, "validation"),
            metric=metric,
            max_rows=max_rows,
        )
        return Output(
            fitted.pipeline,
            metadata={
                "params": MetadataValue.json(fitted.params),
                f"validation_{metric}": MetadataValue.float(fitted.validation_score),
                "candidates": MetadataValue.json(fitted.candidates),
                "fit_seconds": MetadataValue.float(round(fitted.fit_seconds, 3)),
                "train_rows_fitted": MetadataValue.int(fitted.train_rows),
                "validation_rows_scored": MetadataValue.int(fitted.validation_rows),
            },
        )

    return _model


def baseline_check(result: dict):
    """Warn when a model does not beat the majority baseline on accuracy and balanced accuracy."""
    metrics, baseline = result["metrics"], result["baseline"]
    beats = [m for m in ("accuracy", "balanced_accuracy") if metrics[m] > baseline[m]]
    yield AssetCheckResult(
        check_name="beats_majority_baseline",
        passed=len(beats) == 2,
        severity=AssetCheckSeverity.WARN,  # worth a look, not worth stopping the report
        metadata={
            "accuracy_margin": MetadataValue.float(metrics["accuracy"] - baseline["accuracy"]),
            "balanced_accuracy_margin": MetadataValue.float(
                metrics["balanced_accuracy"] - baseline["balanced_accuracy"]
            ),
        },
    )


def metrics_asset(spec: ModelSpec) -> AssetsDefinition:
    """Test-set metrics of one model beside the majority baseline, checked to beat it."""
    name = f"{spec.name}_metrics"

    @versioned_asset(
        kind="json",
        name=name,
        group_name="evaluation",
        ins={"model": AssetIn(spec.name)},
        checks=baseline_check,
        check_specs=[AssetCheckSpec("beats_majority_baseline", asset=name)],
        op_tags=_parallel_tags(spec),
        columns={"train_val_test": split.MODEL_TABLE_COLUMNS},
        description=f"{spec.title} on the test set: metrics, confusion matrix, ROC, importance.",
    )
    def _metrics(model, train_val_test: pd.DataFrame) -> Output:
        result = evaluation.evaluate(
            model, split.side(train_val_test, "train"), split.side(train_val_test, "test")
        )
        metadata = {f"test_{m}": MetadataValue.float(v) for m, v in result["metrics"].items()}
        metadata.update(
            {f"baseline_{m}": MetadataValue.float(v) for m, v in result["baseline"].items()}
        )
        metadata["confusion_matrix"] = MetadataValue.json(result["confusion_matrix"])
        return Output(result, metadata=metadata)

    return _metrics


model_assets = [model_asset(spec) for spec in config.MODEL_SPECS]
metrics_assets = [metrics_asset(spec) for spec in config.MODEL_SPECS]
