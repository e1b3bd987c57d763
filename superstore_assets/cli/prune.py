"""`superstore gc`: keep the newest N stored versions of each asset, delete the rest."""

from __future__ import annotations

import argparse
import sys

from superstore_assets.cli.common import dataset_resource, graph, setup


def gc(args: argparse.Namespace) -> int:
    """Delete stored versions beyond the newest N of each asset; the current one always stays."""
    home = setup(args)
    from superstore_assets.engine.eventlog import opened_instance
    from superstore_assets.engine.pruning import collect

    if args.keep < 1:
        print("superstore gc: --keep must be at least 1 (the current version)", file=sys.stderr)
        return 2
    nodes, _ = graph(home, dataset_resource())
    with opened_instance() as instance:
        removed = collect(instance, nodes, keep=args.keep, dry_run=args.dry_run)
    verb = "Would remove" if args.dry_run else "Removed"
    total = sum(size for _, size in removed)
    print(
        f"{verb} {len(removed)} stored versions ({total / 1e6:.1f} MB); kept {args.keep} per asset."
    )
    for path, size in removed:
        print(f"  {path}  {size / 1e3:.0f} kB")
    return 0
