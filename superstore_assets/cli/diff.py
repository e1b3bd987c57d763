"""`superstore diff`: what differed between two runs (dataset rows, metrics, what reran)."""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

from superstore_assets.cli.common import setup
from superstore_assets.engine.hashing import short


def diff(args: argparse.Namespace) -> int:
    """Print what differed between two runs; read only, nothing is computed."""
    setup(args)

    from superstore_assets.engine.eventlog import opened_instance
    from superstore_assets.engine.history import compare_runs

    with opened_instance() as instance:
        try:
            comparison = compare_runs(instance, args.before, args.after)
        except LookupError as error:
            print(f"superstore diff: {error}", file=sys.stderr)
            return 2
    text = format_comparison(comparison)
    if args.html:
        Path(args.html).write_text(html_page(f"superstore diff {args.before} {args.after}", text))
    if args.json:
        print(json.dumps(comparison, indent=2, default=str))
    else:
        print(text)
    return 0


def format_comparison(comparison: dict) -> str:
    """A comparison as text: the two runs, the dataset, the metrics, what was recomputed."""
    from superstore_assets.pipeline.dataset_diff import DatasetDiff, format_dataset_diff

    lines = []
    for side in ("before", "after"):
        run = comparison[side]
        lines.append(
            f"{side:6} run {run['run_id'][:8]}  {run['started']}  {run['dataset']} "
            f"{short(run['dataset_sha256'])}"
        )
    lines.append("")
    if comparison["same_dataset"]:
        lines.append("dataset: the same file content (same SHA-256)")
    elif comparison["dataset"] is None:
        lines.append(f"dataset: changed; {comparison['dataset_unavailable']}")
    else:
        lines.append("dataset:")
        lines += ["  " + line for line in format_dataset_diff(DatasetDiff(**comparison["dataset"]))]
    lines.append("")
    lines.append("test metrics (after - before):")
    for model, changes in comparison["metric_changes"].items():
        cells = "  ".join(f"{m} {v:+.4f}" for m, v in changes.items())
        lines.append(f"  {model:20} {cells}")
    if not comparison["metric_changes"]:
        lines.append("  (no model was evaluated in both runs)")
    lines.append("")
    recomputed = comparison["recomputed"]
    lines.append(f"recomputed in the after run ({len(recomputed)}): {', '.join(recomputed)}")
    return "\n".join(lines)


def html_page(title: str, text: str) -> str:
    """A diff as a plain, self-contained HTML page."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;"
        "padding:1.5rem}pre{white-space:pre-wrap}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><pre>{html.escape(text)}</pre></body></html>"
    )
