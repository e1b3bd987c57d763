"""`superstore status` and `superstore observe`: what is current, and the dataset's version."""

from __future__ import annotations

import argparse

from superstore_assets.cli.common import (
    dataset_resource,
    graph,
    keep_status,
    observe,
    observe_orders_to_score,
    observed_line,
    setup,
    source_files,
    status_keys,
    worked_out_status,
)


def status(args: argparse.Namespace) -> int:
    """Observe the dataset, then print one line per asset: fresh, stale or missing, and why.

    When neither the code, the dataset file, the record nor the stored outputs changed since
    the last answer, that answer is printed again without opening the instance; when only the
    dataset file changed, the answer kept for a swapped file is (statuscache.py). Neither
    records an observation. --recheck works it out regardless."""
    home = setup(args)
    from superstore_assets.engine.project import dataset_path
    from superstore_assets.engine.statuscache import recall, recall_swapped

    keys = status_keys(home, settle=True)
    kept = None
    if not args.recheck:
        kept = recall(home, keys) or recall_swapped(home, keys, source_files()[0])
    if kept is not None:
        print(observed_line(dataset_path(), kept["version"], kept.get("previous", kept["version"])))
        print(kept["text"])
        return 0
    from superstore_assets.engine.eventlog import opened_instance
    from superstore_assets.engine.freshness import format_status

    dataset = dataset_resource()
    with opened_instance() as instance:
        version, previous = observe(instance, dataset)
        observe_orders_to_score(instance)
        nodes, source = graph(home, dataset)
        statuses, note, swapped = worked_out_status(instance, nodes, source, version)
    # The instance closed: at rest.
    keep_status(home, keys, dataset.path, version, statuses, note, swapped)
    print(observed_line(dataset.path, version, previous))
    print(format_status(statuses) + note)
    return 0


def observe_command(args: argparse.Namespace) -> int:
    """Record the dataset file's current hash in the instance; compute nothing."""
    setup(args)
    from superstore_assets.engine.eventlog import opened_instance

    dataset = dataset_resource()
    with opened_instance() as instance:
        version, previous = observe(instance, dataset)
    print(observed_line(dataset.path, version, previous))
    return 0
