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
    asset,
)
from sklearn.pipeline import Pipeline

from superstore_assets import config, evaluation, models, split
from superstore_assets.config import ModelSpec


def model_asset(spec: ModelSpec) -> AssetsDefinition:
    """The fitted Pipeline of one model, its grid point chosen on validation."""

    @asset(
        name=spec.name,
        group_name="modeling",
        io_manager_key="model_io_manager",
        description=f"{spec.title}: preprocessing and estimator, grid chosen on validation.",
    )
    def _model(train_val_test: pd.DataFrame) -> Output[Pipeline]:
        fitted = models.fit_best_model(
            spec, split.side(train_val_test, "train"), split.side(train_val_test, "validation")
        )
        return Output(
            fitted.pipeline,
            metadata={
                "params": MetadataValue.json(fitted.params),
                f"validation_{config.SELECTION_METRIC}": MetadataValue.float(
                    fitted.validation_score
                ),
                "candidates": MetadataValue.json(fitted.candidates),
                "fit_seconds": MetadataValue.float(round(fitted.fit_seconds, 3)),
            },
        )

    return _model


def metrics_asset(spec: ModelSpec) -> AssetsDefinition:
    """Test-set metrics of one model beside the majority baseline, checked to beat it."""
    name = f"{spec.name}_metrics"

    @asset(
        name=name,
        group_name="evaluation",
        io_manager_key="json_io_manager",
        ins={"model": AssetIn(spec.name)},
        check_specs=[AssetCheckSpec("beats_majority_baseline", asset=name)],
        description=f"{spec.title} on the test set: metrics, confusion matrix, ROC, importance.",
    )
    def _metrics(model: Pipeline, train_val_test: pd.DataFrame):
        result = evaluation.evaluate(
            model, split.side(train_val_test, "train"), split.side(train_val_test, "test")
        )
        metrics, baseline = result["metrics"], result["baseline"]
        metadata = {f"test_{m}": MetadataValue.float(v) for m, v in metrics.items()}
        metadata.update({f"baseline_{m}": MetadataValue.float(v) for m, v in baseline.items()})
        metadata["confusion_matrix"] = MetadataValue.json(result["confusion_matrix"])
        yield Output(result, metadata=metadata)
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

    return _metrics


model_assets = [model_asset(spec) for spec in config.MODEL_SPECS]
metrics_assets = [metrics_asset(spec) for spec in config.MODEL_SPECS]
