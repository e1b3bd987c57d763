"""Report: one self-contained HTML page with the dataset, the EDA and the results."""

from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, MetadataValue, Output

from superstore_assets.assets.evaluation import METRICS_INPUTS, by_model
from superstore_assets.assets.records import latest_metadata
from superstore_assets.engine.hashing import short
from superstore_assets.engine.history import earlier_run_on_other_data
from superstore_assets.engine.versioned_asset import versioned_asset
from superstore_assets.pipeline import config, eda, evaluation
from superstore_assets.pipeline.report import champion_section, metric_deltas, render_report

FIGURE_INPUTS = {
    name: AssetIn()
    for name in [spec.name for spec in eda.EDA_FIGURES] + list(evaluation.RESULT_FIGURES)
}


def metrics_table(evaluations: dict[str, dict]) -> pd.DataFrame:
    """One row per model, plus the majority baseline, one column per test metric."""
    rows = [
        {"model": spec.title, **evaluations[spec.name]["metrics"]} for spec in config.MODEL_SPECS
    ]
    first = next(iter(evaluations.values()))
    rows.append({"model": "majority baseline", **first["baseline"]})
    return pd.DataFrame(rows)


@versioned_asset(
    kind="html",
    group_name="report",
    ins={**FIGURE_INPUTS, **METRICS_INPUTS},
    # Read for their recorded facts (dataset, rows, split sizes, chosen parameters), so a
    # change to any of them makes the report stale.
    deps=[
        "orders_raw",
        "orders_clean",
        "train_val_test",
        *[s.name for s in config.MODEL_SPECS],
        "champion",
    ],
)
def report(
    context: AssetExecutionContext, summary_statistics: pd.DataFrame, **inputs
) -> Output[str]:
    """The whole analysis on one HTML page that opens offline."""
    raw = latest_metadata(context, "orders_raw")
    clean = latest_metadata(context, "orders_clean")
    split_facts = latest_metadata(context, "train_val_test")
    evaluations = by_model(inputs)
    facts = {
        "dataset": str(raw.get("dataset_path", "?")),
        "SHA-256": str(raw.get("dataset_sha256", "?")),
        "rows read / kept": f"{raw.get('rows', '?')} / {clean.get('rows', '?')}",
        "split (train / validation / test rows)": " / ".join(
            str(split_facts.get(f"{side}_rows", "?")) for side in ("train", "validation", "test")
        ),
    }
    models = [
        f"{spec.title}: chosen on validation {config.SELECTION_METRIC}; "
        f"parameters {latest_metadata(context, spec.name).get('params', '?')}"
        for spec in config.MODEL_SPECS
    ]
    sections = [
        ("Exploratory analysis", [inputs[spec.name] for spec in eda.EDA_FIGURES]),
        ("Summary statistics", [summary_statistics]),
        ("Models", models),
        (
            "Results on the test set",
            [metrics_table(evaluations)] + [inputs[name] for name in evaluation.RESULT_FIGURES],
        ),
    ]
    champion = latest_metadata(context, "champion")
    if champion.get("card"):
        sections.append(
            (
                "Champion",
                champion_section(champion["card"], champion["gate"], champion["kept_earlier"]),
            )
        )
    earlier = earlier_run_on_other_data(context.instance, facts["SHA-256"])
    if earlier is not None:
        current = {name: result["metrics"] for name, result in evaluations.items()}
        sections.append(
            (
                "Compared with the earlier run on other data",
                [
                    f"Run {earlier.run_id} read {earlier.dataset} "
                    f"(SHA-256 {short(earlier.dataset_sha256)}…); this run read "
                    f"{Path(facts['dataset']).name} ({short(facts['SHA-256'])}…).",
                    metric_deltas(current, earlier.metrics),
                ],
            )
        )
    page = render_report("Superstore: which order lines make a profit?", facts, sections)
    best = max(evaluations, key=lambda name: evaluations[name]["metrics"][config.SELECTION_METRIC])
    return Output(
        page,
        metadata={
            "dataset_sha256": facts["SHA-256"],
            "best_model": best,
            "compared_with_run": earlier.run_id if earlier else "",
            f"best_test_{config.SELECTION_METRIC}": MetadataValue.float(
                evaluations[best]["metrics"][config.SELECTION_METRIC]
            ),
        },
    )
