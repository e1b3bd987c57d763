"""The champion: the model to use, promoted only through a gate (pipeline/champion.py).

Stored with skops (engine/codecs.py), so that loading it builds only trusted types and runs no
code. When the gate refuses the candidate, the earlier champion stays: the asset holds it again
(the same bytes, so nothing below it reruns), and its two checks say by how much the candidate
lost, as warnings. With no earlier champion to keep, a candidate that fails the gate is no
champion: the step fails and says why.
"""

from __future__ import annotations

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    Failure,
    MetadataValue,
    Output,
)

from superstore_assets.assets.evaluation import METRICS_INPUTS, by_model
from superstore_assets.assets.records import latest_metadata
from superstore_assets.engine.codecs import StoredFileError
from superstore_assets.engine.executor import WARM_TAG
from superstore_assets.engine.history import champion_in
from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import champion as rules
from superstore_assets.pipeline import config, split
from superstore_assets.pipeline import params as parameters

MODEL_INPUTS = {spec.name: AssetIn() for spec in config.MODEL_SPECS}
GATE_CHECKS = ("beats_majority_baseline", "not_worse_than_earlier_champion")


def _plain(value):
    return getattr(value, "value", value)


def gate_checks(metadata: dict):
    """The gate's two conditions, from the numbers the step recorded (computed or restored):
    the model itself is not read, so a restored champion is not loaded for them."""
    gate = rules.Gate(**{k: v for k, v in _plain(metadata["gate"]).items() if k != "passed"})
    kept = bool(_plain(metadata["kept_earlier"]))
    # The earlier champion stays in place: a warning, and what lies below runs on it.
    severity = AssetCheckSeverity.WARN if kept else AssetCheckSeverity.ERROR
    sentences = gate.sentences()
    yield AssetCheckResult(
        check_name=GATE_CHECKS[0],
        passed=gate.beats_baseline,
        severity=severity,
        description=sentences[0],
        metadata={
            "candidate": gate.candidate,
            "margin_over_baseline": MetadataValue.float(
                float(gate.candidate_score - gate.baseline_score)
            ),
            "required_margin": MetadataValue.float(float(gate.margin)),
        },
    )
    yield AssetCheckResult(
        check_name=GATE_CHECKS[1],
        passed=gate.holds_against_earlier,
        severity=severity,
        description=sentences[1] if len(sentences) > 1 else "no earlier champion",
        metadata={
            "candidate": gate.candidate,
            "earlier": gate.earlier or "",
            "difference": MetadataValue.float(
                float(gate.candidate_score - gate.earlier_score)
                if gate.earlier_score is not None
                else 0.0
            ),
            "tolerance": MetadataValue.float(float(gate.tolerance)),
        },
    )


def _earlier_champion(context: AssetExecutionContext):
    """The champion in place before this run (engine/history.champion_in), or None."""
    try:
        return champion_in(context.instance, context.resources.champion_io_manager.store)
    except StoredFileError as error:
        context.log.warning(f"The earlier champion cannot be read, so none is kept: {error}")
        return None


@versioned_asset(
    kind="skops",
    group_name="champion",
    ins={**MODEL_INPUTS, **METRICS_INPUTS},
    params=("champion", "tuning"),
    checks=gate_checks,
    check_specs=[AssetCheckSpec(name, asset="champion", blocking=True) for name in GATE_CHECKS],
    # No edge from orders_raw, though the card names its file: the choice depends on the models,
    # their evaluations and the split alone. A new file that leaves those as they were (a text
    # column no model reads) restores the champion, with the card of the run that chose it,
    # which names the file the models were trained on; it used to choose again, loading
    # scikit-learn and skops to do it (3 of that run's 7 seconds).
    description="The model to use: best on validation, promoted only through the gate.",
    op_tags={WARM_TAG: "superstore_assets.engine.codecs:import_skops"},
    columns={"train_val_test": split.MODEL_TABLE_COLUMNS},
)
def champion(
    context: AssetExecutionContext, train_val_test: pd.DataFrame, params: dict, **inputs
) -> Output:
    metric, _ = parameters.tuning_settings(params["tuning"])
    margin, tolerance = parameters.champion_settings(params["champion"])
    models = {spec.name: inputs[spec.name] for spec in config.MODEL_SPECS}
    evaluations = by_model(inputs)
    scores = rules.validation_scores(models, split.side(train_val_test, "validation"), metric)
    name = rules.candidate_of(scores)
    test = split.side(train_val_test, "test")
    earlier = _earlier_champion(context)
    gate = rules.Gate(
        candidate=name,
        candidate_score=evaluations[name]["metrics"][rules.GATE_METRIC],
        baseline_score=evaluations[name]["baseline"][rules.GATE_METRIC],
        margin=margin,
        tolerance=tolerance,
    )
    if earlier is not None:
        gate.earlier = earlier.card["model"]
        gate.earlier_score = rules.test_score(earlier.model, test)
    if gate.passed:
        raw = latest_metadata(context, "orders_raw")
        spec = next(s for s in config.MODEL_SPECS if s.name == name)
        card = rules.ModelCard(
            model=name,
            title=spec.title,
            params=latest_metadata(context, name).get("params", {}),
            dataset=str(raw.get("dataset_path", "?")),
            dataset_sha256=str(raw.get("dataset_sha256", "?")),
            code_version=context.assets_def.code_versions_by_key[context.asset_key] or "",
            run_id=context.run.run_id,
            trained=rules.now(),
            selection={f"validation_{metric}": scores[name]},
            test_metrics=evaluations[name]["metrics"],
            baseline_metrics=evaluations[name]["baseline"],
        ).to_json()
        value, kept = models[name], False
    elif earlier is not None:
        value, card, kept = earlier.model, earlier.card, True
        context.log.warning(
            f"The gate kept the earlier champion ({card['model']}, run {card['run_id']}): "
            + "; ".join(gate.sentences())
        )
    else:
        raise Failure(
            description="No champion: the gate refused the candidate and there is no earlier "
            "champion to keep: " + "; ".join(gate.sentences()),
            metadata={"gate": MetadataValue.json(gate.to_json())},
        )
    summary = (
        f"{'kept the earlier champion' if kept else 'promoted'} {card['model']} "
        f"(run {card['run_id'][:8]}); " + "; ".join(gate.sentences())
    )
    return Output(
        value,
        metadata={
            "model": card["model"],
            "card": MetadataValue.json(card),
            "model_card": MetadataValue.md(rules.ModelCard(**card).markdown()),
            "gate": MetadataValue.json(gate.to_json()),
            "gate_summary": summary,
            "kept_earlier": kept,
            "validation_scores": MetadataValue.json(scores),
        },
    )
