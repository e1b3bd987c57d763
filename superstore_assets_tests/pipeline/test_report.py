"""The report page: self-contained, every figure in it."""

import re

import pandas as pd
import plotly.graph_objects as go

from superstore_assets.pipeline.report import metric_deltas, render_report


def test_report_inlines_plotly_once_and_has_every_figure_and_table():
    figures = [go.Figure(go.Bar(x=["a"], y=[i])) for i in range(3)]
    table = pd.DataFrame({"model": ["tree"], "f1": [0.912345]})
    page = render_report(
        "Title <&>",
        {"SHA-256": "abc123"},
        [("Figures", figures), ("Numbers", [table, "a paragraph"])],
    )
    assert page.count('<script type="text/javascript">/**\n* plotly.js') == 1
    assert len(re.findall(r'<div id="figure-\d+"', page)) == 3
    assert "Title &lt;&amp;&gt;" in page and "abc123" in page and "0.9123" in page
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page)  # nothing fetched


def test_metric_deltas_are_signed_and_tolerate_a_missing_earlier_value():
    table = metric_deltas({"tree": {"f1": 0.9, "roc_auc": 0.95}}, {"tree": {"f1": 0.95}}).set_index(
        "metric"
    )
    assert table.loc["f1", "change"] == "-0.0500"
    assert table.loc["f1", "earlier"] == 0.95 and table.loc["f1", "this run"] == 0.9
    assert table.loc["roc_auc", "change"] is None
