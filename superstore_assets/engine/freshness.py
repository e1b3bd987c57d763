"""Whether an asset is current, why not, and which earlier output can stand in for it: one rule.

A recorded materialization of an asset *stands for* the asset made now when it was made by the
same code version, from the same data versions of its inputs, with the same run-time settings
(the dataset's date format), and its stored output is still intact. Three callers ask this
module, and none decides on its own:

- `superstore status` and `superstore materialize` (`resolve`): an asset is fresh when its
  latest materialization stands for it, no blocking check failed on it, and every input is
  fresh; stale, with the causes in words, when it does not or an input is not fresh (it may
  change when it reruns); missing when it was never materialized or its stored output is gone.
  Dagster's own stale status looks one hop up; this follows causes to their root.
- Every versioned asset before it computes (`find_prior`): the newest materialization in its
  history that stands for it is restored instead of computed. This gives early cutoff (an input
  recomputed to the same content does not rerun what lies below it) and swap-back (a dataset
  seen before restores every output computed from it).
- The executor, choosing where a step runs (`will_restore`): a step that will restore its
  output stays in the run's process, since that takes milliseconds, less than a fork.

Everything is read from the instance's record (Dagster records each materialization's code
version and input data versions as tags) and the stored outputs; nothing is computed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetKey, AssetMaterialization, AssetRecordsFilter, DagsterInstance

from superstore_assets.engine.codeversion import changed_modules
from superstore_assets.engine.dagster_internals import (
    DATA_VERSION_TAG,
    failed_blocking_checks,
    recorded_provenance,
)
from superstore_assets.engine.hashing import abbreviated, short
from superstore_assets.engine.observation import observed_version
from superstore_assets.engine.version_store import ALTERED, GONE, VersionStore

FRESH, STALE, MISSING = "fresh", "stale", "missing"
# Metadata key of a materialization that restored a stored output instead of computing it.
REUSED_FROM_RUN = "reused_from_run"
# Metadata key of the seconds a step took to compute (or restore) the output it stored.
COMPUTE_SECONDS = "compute_seconds"
# Metadata keys of the run-time settings and the code components an output was made with.
SETTINGS = "settings"
CODE_COMPONENTS = "code_components"
# Run tag that turns restoring off for one run (`superstore materialize --all`).
RECOMPUTE_TAG = "superstore/recompute"
# How far back to look for an output that can stand in: this many materializations of the
# asset, read a page at a time (the match is usually among the newest few).
HISTORY_DEPTH = 500
PAGE = 8


@dataclass(frozen=True)
class Node:
    """What the rule needs to know about one asset as the code defines it now."""

    key: AssetKey
    parents: tuple[AssetKey, ...]
    code_version: str | None
    components: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)
    store: VersionStore | None = None
    blocking_checks: tuple[str, ...] = ()  # checks that stop the run when they fail


@dataclass(frozen=True)
class Difference:
    """One reason a recorded materialization does not stand for the asset now."""

    cause: str  # in words: "code changed (pipeline/config.py)", "orders_clean changed"
    parent: AssetKey | None = None  # the input that changed, if that is the reason
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Prior:
    """An earlier materialization that stands for the asset: restored instead of computed."""

    run_id: str
    version: str
    metadata: Mapping
    storage_id: int | None = None  # of its materialization event, which its checks target


@dataclass
class Status:
    key: AssetKey
    state: str
    causes: list[str] = field(default_factory=list)  # direct causes, in words
    upstream: list[AssetKey] = field(default_factory=list)  # stale or missing inputs
    version: str | None = None  # the recorded data version, if any
    inputs: Mapping[AssetKey, str] = field(default_factory=dict)  # what that was made from

    @property
    def name(self) -> str:
        return self.key.to_user_string()


def output_settings(resource_keys: Any, resources: Mapping[str, object]) -> dict[str, object]:
    """The run-time settings that change an asset's output, from the resources it uses (those
    that declare `output_settings()`, the dataset's date format), named `resource.setting`."""
    found: dict[str, object] = {}
    for resource_key in sorted(resource_keys):
        declare = getattr(resources.get(resource_key), "output_settings", None)
        if callable(declare):
            found.update({f"{resource_key}.{k}": v for k, v in declare().items()})
    return found


def differences(
    materialization: AssetMaterialization, node: Node, input_versions: Mapping[AssetKey, Any]
) -> list[Difference]:
    """Why a recorded materialization does not stand for `node` made now from inputs at
    `input_versions`: its code, its settings, each input whose version differs. None: it does
    (its stored output aside: see `storage_problem`)."""
    found = []
    recorded = recorded_provenance(materialization.tags or {})
    code_version, inputs = recorded if recorded else (None, {})
    if node.code_version is not None and code_version != node.code_version:
        components = materialization.metadata.get(CODE_COMPONENTS)
        files = changed_modules(components.value, dict(node.components)) if components else []
        found.append(Difference(f"code changed ({', '.join(files)})" if files else "code changed"))
    settings = materialization.metadata.get(SETTINGS)
    before = settings.value if settings else {}
    if before != dict(node.settings):
        changed = [k for k in node.settings if before.get(k) != node.settings[k]]
        found.append(Difference(f"settings changed ({', '.join(changed) or 'removed'})"))
    for parent in sorted(set(inputs) | set(input_versions), key=lambda k: k.to_user_string()):
        then, now = inputs.get(parent), input_versions.get(parent)
        if then != now:
            found.append(Difference(f"{parent.to_user_string()} changed", parent, then, now))
    return found


def storage_problem(node: Node, version: str | None) -> tuple[str, str] | None:
    """What is wrong with the stored output of a recorded version, as (state, cause): gone
    (missing), altered (stale), or only the copy people open altered (stale); None: intact."""
    if node.store is None or not version:
        return None
    name = node.key.path[-1]
    state = node.store.state(name, version)
    if state == GONE:
        return MISSING, f"stored output deleted ({_shown(node.store, name, version)})"
    if state == ALTERED:
        return STALE, f"stored output altered ({_shown(node.store, name, version)})"
    if not node.store.current_is_intact(name, version):
        return STALE, f"copy altered or deleted ({node.store.current_path(name).name})"
    return None


def reuse_allowed(run_tags: Mapping[str, str]) -> bool:
    """Whether a run may restore earlier outputs (not under `superstore materialize --all`)."""
    return run_tags.get(RECOMPUTE_TAG) != "true"


def find_prior(
    instance: DagsterInstance, node: Node, input_versions: Mapping[AssetKey, str]
) -> Prior | None:
    """The newest materialization of the asset that stands for it made now from
    `input_versions`, with its stored output intact; None if there is none."""
    for record in newest_first(instance, node.key):
        materialization = record.asset_materialization
        if materialization is None or differences(materialization, node, input_versions):
            continue
        version = (materialization.tags or {}).get(DATA_VERSION_TAG)
        if version and node.store is not None and node.store.is_intact(node.key.path[-1], version):
            return Prior(record.run_id, version, materialization.metadata, record.storage_id)
    return None


def will_restore(
    instance: DagsterInstance,
    node: Node,
    input_versions: Mapping[AssetKey, str],
    run_tags: Mapping[str, str],
) -> bool:
    """Whether a step of this run will restore the asset's output rather than compute it."""
    return reuse_allowed(run_tags) and find_prior(instance, node, input_versions) is not None


def resolve(
    instance: DagsterInstance,
    nodes: list[Node],
    source: AssetKey,
    source_version: str | None,
) -> dict[AssetKey, Status]:
    """The status of every node (given in topological order), with the source at
    `source_version` (its current content hash; None: as last observed), and any other source
    as last observed."""
    return resolve_each(instance, nodes, source, [source_version])[0]


def resolve_each(
    instance: DagsterInstance,
    nodes: list[Node],
    source: AssetKey,
    source_versions: list[str | None],
) -> list[dict[AssetKey, Status]]:
    """`resolve` for each of `source_versions`, from one reading of the record and of the
    stored outputs (which do not depend on the source's version)."""
    observed = {source: observed_version(instance, source)}
    keys = {node.key for node in nodes}
    for node in nodes:  # any other source (the orders to score): as last observed
        for parent in node.parents:
            if parent not in observed and parent not in keys:
                observed[parent] = observed_version(instance, parent)
    latest = {  # one query for the latest materialization of every asset
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in instance.get_asset_records([node.key for node in nodes])
    }
    refused = failed_blocking_checks(
        instance, {node.key: node.blocking_checks for node in nodes if node.blocking_checks}
    )
    recorded = {}
    for node in nodes:
        record = latest.get(node.key)
        materialization = record.asset_materialization if record else None
        version = (materialization.tags or {}).get(DATA_VERSION_TAG) if materialization else None
        problem = storage_problem(node, version)
        failed = refused.get(node.key, {}).get(record.storage_id) if record else None
        if failed and (problem is None or problem[0] != MISSING):
            problem = STALE, f"check {', '.join(sorted(failed))} failed"
        recorded[node.key] = materialization, problem
    answers = []
    for source_version in source_versions:
        current = {**observed, source: source_version or observed[source]}
        statuses: dict[AssetKey, Status] = {}
        for node in nodes:
            status = _status(*recorded[node.key], node, current, statuses)
            statuses[node.key] = status
            current[node.key] = status.version
        answers.append(statuses)
    return answers


def made_from(statuses: Mapping[AssetKey, Status], source: AssetKey) -> set[str]:
    """The versions of `source` that the latest materializations of its children were made
    from: the files for which a status worked out with another file does not hold."""
    return {s.inputs[source] for s in statuses.values() if source in s.inputs}


def _status(
    materialization: AssetMaterialization | None,
    problem: tuple[str, str] | None,
    node: Node,
    current: Mapping[AssetKey, str | None],
    statuses: Mapping[AssetKey, Status],
) -> Status:
    if materialization is None:
        return Status(node.key, MISSING, ["never materialized"])
    version = (materialization.tags or {}).get(DATA_VERSION_TAG)
    recorded = recorded_provenance(materialization.tags or {})
    status = Status(node.key, FRESH, version=version, inputs=recorded[1] if recorded else {})
    if problem is not None:
        state, cause = problem
        status.causes.append(cause)
        if state == MISSING:
            status.state = MISSING
            return status
    # An input that is not fresh is named as the way to the root cause, not as a cause.
    status.upstream = [p for p in node.parents if p in statuses and statuses[p].state != FRESH]
    inputs = {p: current.get(p) for p in node.parents if p not in status.upstream}
    for difference in differences(materialization, node, inputs):
        if difference.parent in status.upstream:
            continue
        detail = ""
        if difference.parent is not None and difference.parent not in statuses:  # the source
            detail = f" (sha256 {abbreviated(difference.before)}→{abbreviated(difference.after)})"
        status.causes.append(difference.cause + detail)
    if status.causes or status.upstream:
        status.state = STALE
    return status


def _shown(store: VersionStore, name: str, version: str) -> str:
    path = store.version_path(name, version)
    return f"{path.parent.parent.parent.name}/{path.parent.parent.name}/{name}/{short(version)}…"


def newest_first(instance: DagsterInstance, key: AssetKey, depth: int = HISTORY_DEPTH) -> Iterator:
    """The asset's materialization records, newest first, up to `depth`, a page at a time."""
    cursor, seen = None, 0
    while seen < depth:
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key), limit=min(PAGE, depth - seen), cursor=cursor
        )
        yield from page.records
        seen += len(page.records)
        if not page.has_more:
            return
        cursor = page.cursor


def explain(statuses: Mapping[AssetKey, Status], key: AssetKey, hops_shown: int = 3) -> str:
    """Why an asset is not fresh: its own causes, then the chain through its first stale input
    down to that chain's root cause, e.g.
    `<- model_features <- orders_clean <- orders_raw <- superstore_csv changed (sha256 …)`."""
    status = statuses[key]
    reasons = [f"<- {cause}" for cause in status.causes]
    if status.upstream:
        hops, current = [], statuses[status.upstream[0]]
        while True:
            hops.append(current.name)
            if not current.upstream:
                break
            current = statuses[current.upstream[0]]
        if len(hops) > hops_shown:
            hops = [hops[0], "…", *hops[-(hops_shown - 1) :]]
        root = current.causes[0] if current.causes else current.state
        reasons.append(" ".join(f"<- {hop}" for hop in hops) + f" <- {root}")
    return "; ".join(reasons)


def format_status(statuses: Mapping[AssetKey, Status]) -> str:
    """One line per asset: name, state and cause chain."""
    width = max(len(s.name) for s in statuses.values())
    lines = []
    for status in statuses.values():
        why = explain(statuses, status.key) if status.state != FRESH else ""
        lines.append(f"{status.name:{width}}  {status.state:7}  {why}".rstrip())
    return "\n".join(lines)


def not_fresh(statuses: Mapping[AssetKey, Status]) -> list[AssetKey]:
    """The assets a `--stale` run materializes: every one that is stale or missing."""
    return [key for key, status in statuses.items() if status.state != FRESH]


def node_of(
    assets_def: Any,
    key: AssetKey,
    resources: Mapping[str, object],
    components: Mapping[str, str] | None = None,
) -> Node:
    """The node of an asset as its definition and this run's resources make it: what a step
    (versioned_asset) and the executor ask the rule about."""
    manager = resources.get(assets_def.get_io_manager_key_for_asset_key(key))
    return Node(
        key=key,
        parents=tuple(dep.asset_key for dep in assets_def.specs_by_key[key].deps),
        code_version=assets_def.code_versions_by_key.get(key),
        components=components or {},
        settings=output_settings(assets_def.required_resource_keys, resources),
        store=getattr(manager, "store", None),
        blocking_checks=blocking_checks(assets_def, key),
    )


def blocking_checks(assets_def: Any, key: AssetKey) -> tuple[str, ...]:
    """The names of the asset's checks that stop a run when they fail."""
    return tuple(
        sorted(
            spec.name for spec in assets_def.check_specs if spec.asset_key == key and spec.blocking
        )
    )


def graph_nodes(
    graph: dict, storage_root: str, resources: Mapping[str, object]
) -> tuple[list[Node], AssetKey]:
    """Nodes from a described graph (see manifest.py), with the stores under `storage_root` and
    the settings of the given resources: what `superstore status` asks the rule about."""
    from superstore_assets.engine.files import confined
    from superstore_assets.engine.version_store import STORAGE_FOLDERS

    nodes = []
    for described in graph["nodes"]:
        kind, folder = STORAGE_FOLDERS.get(described["io_manager"], (None, None))
        store = VersionStore(confined(storage_root, folder), kind) if kind else None
        nodes.append(
            Node(
                key=AssetKey.from_user_string(described["key"]),
                parents=tuple(AssetKey.from_user_string(p) for p in described["parents"]),
                code_version=described["code_version"],
                components=described["components"],
                settings=output_settings(described["resources"], resources),
                store=store,
                blocking_checks=tuple(described.get("blocking_checks", ())),
            )
        )
    return nodes, AssetKey.from_user_string(graph["source"])
