"""What every `superstore` command shares: the home, the dataset, the graph, the observation.

Commands import Dagster and the pipeline only inside their functions, so that `superstore
status` on unchanged code answers from its kept status without importing either.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

# True in the process of the `superstore` command (cli.run()), which ends when the command does.
ONE_COMMAND_PROCESS = False


class DatasetUnreadable(Exception):
    """The dataset file cannot be read; the message says which and how to fix it."""


def location_arguments(command: argparse.ArgumentParser) -> None:
    """--dataset and --storage, which every command that runs or reads the pipeline takes."""
    command.add_argument("--dataset", help="a Superstore CSV (default: data/superstore.csv)")
    command.add_argument("--storage", help="storage folder or fsspec URL (default: storage/)")


def setup(args: argparse.Namespace) -> Path:
    """Apply --dataset and --storage, create the project's Dagster home, and return it."""
    from superstore_assets.engine.project import ensure_dagster_home

    if getattr(args, "dataset", None):
        os.environ["SUPERSTORE_DATASET"] = str(Path(args.dataset).resolve())
    if getattr(args, "storage", None):
        os.environ["SUPERSTORE_STORAGE"] = args.storage
    return ensure_dagster_home()


def dataset_resource():
    """The dataset resource as the pipeline will see it (SUPERSTORE_DATASET, ..._DATE_FORMAT)."""
    from superstore_assets.assets.resources import DatasetResource
    from superstore_assets.engine.project import dataset_path, date_format_setting

    return DatasetResource(path=dataset_path(), date_format=date_format_setting())


def overrides(args: argparse.Namespace) -> dict:
    """The parameters overridden with -S key=value, checked (a ParamError says which and why)."""
    assignments = getattr(args, "set", None) or []
    if not assignments:
        return {}
    from superstore_assets.pipeline.params import parse

    return parse(assignments)


def graph(home: Path, dataset, overrides: dict | None = None) -> tuple[list, object]:
    """The asset graph's nodes for the freshness rule, from the cache when the code is
    unchanged, with the settings of the dataset and of the overridden parameters."""
    from superstore_assets.engine.freshness import graph_nodes
    from superstore_assets.engine.manifest import load_graph
    from superstore_assets.engine.project import storage_path

    def definitions():
        from superstore_assets.assets.definitions import make_definitions

        return make_definitions()

    from superstore_assets.assets.resources import ScoreDatasetResource
    from superstore_assets.engine.project import date_format_setting, score_dataset_path

    orders = ScoreDatasetResource(path=score_dataset_path(), date_format=date_format_setting())
    resources = {"dataset": dataset, "score_dataset": orders}
    if overrides:
        from superstore_assets.assets.resources import params_resources

        resources.update(params_resources(overrides))
    return graph_nodes(load_graph(home, definitions), storage_path(), resources)


def observe(instance, dataset) -> tuple[str, str | None]:
    """Record an observation of the dataset file if its hash changed; return (new, previous)."""
    from dagster import Failure

    from superstore_assets.assets.resources import dataset_fingerprint, known_rows
    from superstore_assets.engine.observation import observed_version, source_observation

    try:
        data, version = dataset.read_bytes(), dataset.sha256()
    except Failure as failure:
        raise DatasetUnreadable(failure.description) from failure
    previous = observed_version(instance)
    if previous != version:  # record it, with its rows counted
        rows = known_rows(instance, version)
        fingerprint = dataset_fingerprint(dataset, data, rows=rows, sha256=version)
        instance.report_runless_asset_event(source_observation(fingerprint))
    return version, previous


def observe_orders_to_score(instance) -> None:
    """Record an observation of the orders to score if their hash changed (a missing file is
    left to the `scored_orders` step, which says what is wrong)."""
    from superstore_assets.assets.resources import (
        ScoreDatasetResource,
        dataset_fingerprint,
        known_rows,
    )
    from superstore_assets.engine.observation import (
        SCORING_SOURCE,
        observed_version,
        source_observation,
    )
    from superstore_assets.engine.project import date_format_setting, score_dataset_path

    orders = ScoreDatasetResource(path=score_dataset_path(), date_format=date_format_setting())
    if not orders.resolved_path().is_file():
        return
    version = orders.sha256()
    if observed_version(instance, SCORING_SOURCE) != version:
        rows = known_rows(instance, version, SCORING_SOURCE)
        fingerprint = dataset_fingerprint(orders, orders.read_bytes(), rows=rows, sha256=version)
        instance.report_runless_asset_event(source_observation(fingerprint, SCORING_SOURCE))


def observed_line(path: str, version: str, previous: str | None) -> str:
    if previous is None:
        change = "first observation"
    elif previous == version:
        change = "unchanged"
    else:
        change = f"changed from {previous[:12]}…"
    return f"superstore_csv  observed  sha256 {version[:12]}… ({change}) {path}"


def source_files() -> tuple[str, tuple[str, ...]]:
    """The dataset file and the other sources' files (the orders to score), resolved."""
    from superstore_assets.engine.project import dataset_path, resolve_dataset, score_dataset_path

    return str(resolve_dataset(dataset_path())), (str(resolve_dataset(score_dataset_path())),)


def status_keys(home: Path, settle: bool = False) -> tuple[str, str] | None:
    """The keys under which a status answer is kept (see statuscache.py); imports no Dagster."""
    from superstore_assets.engine.project import date_format_setting, storage_path
    from superstore_assets.engine.statuscache import state_key

    dataset, others = source_files()
    return state_key(
        home,
        dataset,
        storage_path(),
        {"date_format": date_format_setting()},
        settle=settle,
        others=others,
    )


def sources_state() -> list:
    """The sources' files as a status key sees them (size, inode, times): equal before and
    after a run, the versions observed before it still hold."""
    from superstore_assets.engine.statuscache import file_state

    dataset, others = source_files()
    return [file_state(path) for path in (dataset, *others)]


def champion_note(instance) -> str:
    """A line when the champion's gate kept the earlier champion: which, and why ("" if not)."""
    from dagster import AssetKey

    event = instance.get_latest_materialization_event(AssetKey("champion"))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    kept = metadata.get("kept_earlier")
    if kept is None or not kept.value:
        return ""
    return f"\nchampion gate: {metadata['gate_summary'].value}"


def worked_out_status(instance, nodes: list, source, version: str) -> tuple:
    """The status of every asset with the dataset at `version`, the champion's note, and the
    answer kept beside it for a swapped dataset (statuscache.py), from one reading of the
    record."""
    from superstore_assets.engine.freshness import format_status, made_from, resolve_each
    from superstore_assets.engine.statuscache import UNSEEN

    statuses, if_swapped = resolve_each(instance, nodes, source, [version, UNSEEN])
    note = champion_note(instance)
    swapped = {
        "text": format_status(if_swapped) + note,
        "made_from": sorted(made_from(statuses, source)),
    }
    return statuses, note, swapped


def keep_status(
    home: Path,
    keys: tuple[str, str] | None,
    path: str,
    version: str,
    statuses,
    note: str = "",
    swapped: dict | None = None,
) -> None:
    """Keep a status answer if nothing changed while it was worked out: `keys` were taken
    before the instance was opened, and this is called after it was closed (its SQLite files
    at rest), so an observation it recorded, or a run another process wrote meanwhile, misses
    them. `swapped`: the answer for a swapped dataset (worked_out_status)."""
    from superstore_assets.engine.freshness import format_status, not_fresh
    from superstore_assets.engine.statuscache import keep

    if keys is not None and keys == status_keys(home, settle=True):
        answer = {"path": path, "version": version, "text": format_status(statuses) + note}
        answer.update(assets=len(statuses), all_fresh=not not_fresh(statuses))
        keep(home, keys, {**answer, **({"swapped": swapped} if swapped else {})})


def keep_status_after_run(home: Path, path: str, version: str, nodes: list, source) -> None:
    """Work out and keep the status once a run has ended, as `superstore status` would, from
    the versions observed before the run (the caller checked the files did not change since)."""
    keys = status_keys(home, settle=True)
    if keys is None:  # a record or storage that no local key can follow
        return
    from superstore_assets.engine.eventlog import opened_instance

    with opened_instance() as instance:
        statuses, note, swapped = worked_out_status(instance, nodes, source, version)
    keep_status(home, keys, path, version, statuses, note, swapped)


def aligned(rows: list[list[str]]) -> str:
    """Rows of cells (a header first) as columns two spaces apart, each as wide as its widest."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def listing(heading: str, names: list[str]) -> str:
    """`Heading: a, b, c`, wrapped at 100 columns."""
    return textwrap.fill(
        f"{heading}: {', '.join(names) or '-'}", width=100, subsequent_indent="    "
    )
