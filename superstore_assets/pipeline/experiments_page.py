"""The page of `superstore exp show --html`: the table of runs, each model's test metric across
them, and the ROC curves of chosen runs overlaid; offline, like the report."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from superstore_assets.pipeline import config
from superstore_assets.pipeline.figures import style
from superstore_assets.pipeline.report import render_report

# One colour per run, the same in every panel.
COLOURS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")


def run_label(row: dict, separator: str = " ") -> str:
    """A run as a chart names it: its id, and the parameters it overrode."""
    written = " ".join(f"{k}={v}" for k, v in row["params"].items()) or "defaults"
    return f"{row['run_id'][:8]}{separator}{written}"


def metric_across_runs(rows: list[dict], metric: str) -> go.Figure:
    """One bar per run and model: the test `metric`."""
    fig = go.Figure()
    labels = [run_label(row, "<br>") for row in rows]
    for spec in config.MODEL_SPECS:
        values = [row["metrics"].get(spec.name, {}).get(metric) for row in rows]
        fig.add_bar(x=labels, y=values, name=spec.title)
    fig.update_yaxes(title=f"test {metric}")
    return style(fig, f"Test {metric} across runs")


def roc_overlay(rows: list[dict], curves: dict[str, dict[str, dict]]) -> go.Figure:
    """One panel per model, the ROC curve of each chosen run in it."""
    titles = [spec.title for spec in config.MODEL_SPECS]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    for column, spec in enumerate(config.MODEL_SPECS, 1):
        for number, row in enumerate(rows):
            curve = curves.get(row["run_id"], {}).get(spec.name)
            if curve is None:
                continue
            auc = row["metrics"][spec.name]["roc_auc"]
            fig.add_scatter(
                x=curve["fpr"],
                y=curve["tpr"],
                mode="lines",
                name=run_label(row),
                line={"color": COLOURS[number % len(COLOURS)]},
                hovertemplate=f"{spec.title}, AUC {auc:.4f}<extra>{row['run_id'][:8]}</extra>",
                legendgroup=row["run_id"],
                showlegend=column == 1,
                row=1,
                col=column,
            )
        fig.update_xaxes(title="false positive rate", range=[0, 1], row=1, col=column)
    fig.update_yaxes(title="true positive rate", range=[0, 1], row=1, col=1)
    return style(fig, "ROC curves on the test set, by run")


def experiments_page(title: str, table, rows: list[dict], curves: dict, metric: str) -> str:
    """The whole page: the table, the metric across runs, the ROC overlay."""
    return render_report(
        title,
        {"runs": str(len(rows)), "ROC curves of": ", ".join(r[:8] for r in curves) or "-"},
        [
            ("Runs", [table]),
            ("Metrics across runs", [metric_across_runs(rows, metric)]),
            ("ROC curves", [roc_overlay([r for r in rows if r["run_id"] in curves], curves)]),
        ],
    )
