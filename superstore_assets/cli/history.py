"""`superstore history`: the runs on record, newest first, read from the instance."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from superstore_assets.cli.common import aligned, setup
from superstore_assets.engine.hashing import short
from superstore_assets.pipeline import config
from superstore_assets.pipeline.params import written

if TYPE_CHECKING:
    from superstore_assets.engine.history import RunSummary


def history(args: argparse.Namespace) -> int:
    """Print the runs on record, newest first; read only, nothing is computed."""
    setup(args)

    from superstore_assets.engine.eventlog import opened_instance
    from superstore_assets.engine.history import run_history

    with opened_instance() as instance:
        summaries = run_history(instance, limit=args.limit)
    if args.json:
        print(json.dumps([s.to_json() for s in summaries], indent=2))
    elif summaries:
        print(format_history(summaries, params=args.params))
    else:
        print(f"No runs on record in {os.environ['DAGSTER_HOME']}.")
    return 0


def format_history(summaries: list[RunSummary], params: bool = False) -> str:
    """A plain-text table, one line per run, newest first (with the parameters each run
    overrode, when `params`)."""
    models = [spec.name for spec in config.MODEL_SPECS]
    header = ["run", "started (UTC)", "took", "status", "dataset", "computed", "reused"]
    header += [f"{name} F1/AUC" for name in models]
    header += ["parameters"] if params else []
    rows = [header]
    for s in summaries:
        scores = [
            "{f1:.3f}/{roc_auc:.3f}".format(**s.metrics[name]) if name in s.metrics else "-"
            for name in models
        ]
        rows.append(
            [
                s.run_id[:8],
                s.started.replace("T", " ")[:19],
                f"{s.seconds:.1f}s" if s.seconds is not None else "-",
                s.status,
                f"{s.dataset} {short(s.dataset_sha256)}".strip() or "-",
                str(len(s.computed)),
                str(len(s.reused)),
                *scores,
                *([written(s.params) or "(defaults)"] if params else []),
            ]
        )
    return aligned(rows)
