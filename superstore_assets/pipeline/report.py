"""The report: one self-contained HTML page with the EDA and the results, readable offline."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from superstore_assets.pipeline import config
from superstore_assets.pipeline.figures import figure_div

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5rem;
       color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.figure { margin: 1rem 0 2rem; }
.muted { color: #666; }
"""


def html_table(df: pd.DataFrame, float_format: str = "{:,.4g}") -> str:
    """A plain HTML table of a small frame, numbers formatted for reading."""
    formatted = df.copy()
    for column in formatted.select_dtypes("float").columns:
        formatted[column] = formatted[column].map(
            lambda v: "" if pd.isna(v) else float_format.format(v)
        )
    return formatted.to_html(index=False, border=0, escape=True)


def metric_deltas(
    current: dict[str, dict[str, float]], earlier: dict[str, dict[str, float]]
) -> pd.DataFrame:
    """One row per model and metric: the earlier value, this run's, and the signed change."""
    rows = []
    for model, metrics in current.items():
        for metric, value in metrics.items():
            before = earlier.get(model, {}).get(metric)
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "earlier": before,
                    "this run": value,
                    "change": None if before is None else f"{value - before:+.4f}",
                }
            )
    return pd.DataFrame(rows)


def render_report(
    title: str,
    facts: dict[str, str],
    sections: list[tuple[str, list[str | go.Figure | pd.DataFrame]]],
) -> str:
    """Assemble the page: a fact list, then sections of figures, tables and text paragraphs.

    plotly.js is inlined once at the top, so the file needs no network and no other file.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<dl>",
    ]
    for key, value in facts.items():
        parts.append(f"<dt class='muted'>{html.escape(key)}</dt><dd>{html.escape(value)}</dd>")
    parts.append("</dl>")
    figure_number = 0
    for heading, items in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for item in items:
            if isinstance(item, go.Figure):
                figure_number += 1
                div = figure_div(item, f"figure-{figure_number}")
                parts.append(f'<div class="figure">{div}</div>')
            elif isinstance(item, pd.DataFrame):
                parts.append(html_table(item))
            else:
                parts.append(f"<p>{html.escape(item)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def champion_section(card: dict, gate: dict, kept: bool) -> list:
    """The champion in the report: which model, from which data, the gate with its numbers, and
    its test metrics beside the baseline. Only what the analysis decides (no run id, no time),
    so that the same data give the same page."""
    from superstore_assets.pipeline.champion import Gate

    decided = Gate(**{k: v for k, v in gate.items() if k != "passed"})
    table = pd.DataFrame(
        [
            {
                "test metric": m,
                "champion": card["test_metrics"][m],
                "majority baseline": card["baseline_metrics"].get(m),
            }
            for m in config.METRICS
            if m in card["test_metrics"]
        ]
    )
    dataset = Path(card["dataset"]).name
    return [
        f"{card['title']} ({card['model']}), parameters {card['params']}, trained on {dataset} "
        f"(SHA-256 {card['dataset_sha256'][:12]}…); it reads {', '.join(card['features'])}.",
        ("The gate kept the earlier champion: " if kept else "Promoted through the gate: ")
        + "; ".join(decided.sentences())
        + ".",
        table,
    ]
