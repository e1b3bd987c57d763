"""What every figure shares: its look, and how it is turned into HTML."""

from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
PROFITABLE_COLORS = {"profitable": "#2a9d8f", "not profitable": "#e76f51"}


def style(fig: go.Figure, title: str) -> go.Figure:
    """Give a figure the project's look and a title."""
    fig.update_layout(
        title={"text": title, "x": 0.02},
        template=TEMPLATE,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def figure_div(fig: go.Figure, div_id: str) -> str:
    """The figure as an HTML fragment that expects plotly.js to be loaded already.

    The div id is fixed, not random, so the same figure always gives the same bytes.
    """
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)


def figure_page(fig: go.Figure, div_id: str, plotlyjs_src: str) -> str:
    """A whole HTML page for one figure, loading plotly.js from a file beside it (offline)."""
    return fig.to_html(full_html=True, include_plotlyjs=plotlyjs_src, div_id=div_id)
