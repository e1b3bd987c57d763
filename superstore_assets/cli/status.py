"""`superstore status` and `superstore observe`: what is current, and the dataset's version."""

from __future__ import annotations

import argparse

from superstore_assets.cli.common import (
    champion_note,
    dataset_resource,
    graph,
    keep_status,
    observe,
    observe_orders_to_score,
    observed_line,
    setup,
    status_key,
)


def status(args: argparse.Namespace) -> int:
    """Observe the dataset, then print one line per asset: fresh, stale or missing, and why.

    When neither the code, the dataset file, the record nor the stored outputs changed since
    the last answer, that answer is printed again without opening the instance (--recheck
    works it out regardless)."""
    home = setup(args)
    from superstore_assets.engine.statuscache import recall

    key = status_key(home, settle=True)
    kept = None if args.recheck else recall(home, key)
    if kept is not None:
        print(observed_line(kept["path"], kept["version"], kept["version"]))
        print(kept["text"])
        return 0
    from dagster import DagsterInstance

    from superstore_assets.engine.freshness import format_status, resolve

    dataset = dataset_resource()
    with DagsterInstance.get() as instance:
        version, previous = observe(instance, dataset)
        observe_orders_to_score(instance)
        nodes, source = graph(home, dataset)
        statuses = resolve(instance, nodes, source, version)
        note = champion_note(instance)
    keep_status(home, key, dataset.path, version, statuses, note)  # the instance closed: at rest
    print(observed_line(dataset.path, version, previous))
    print(format_status(statuses) + note)
    return 0


def observe_command(args: argparse.Namespace) -> int:
    """Record the dataset file's current hash in the instance; compute nothing."""
    setup(args)
    from dagster import DagsterInstance

    dataset = dataset_resource()
    with DagsterInstance.get() as instance:
        version, previous = observe(instance, dataset)
    print(observed_line(dataset.path, version, previous))
    return 0
