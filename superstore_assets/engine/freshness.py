"""Which assets are fresh, stale or missing, and why, all the way down the graph.

Dagster's own stale status looks one hop up; this follows causes to their root: an asset is
stale when its code or settings changed since it was materialized, when an input's current
data version differs from the one it was made from, when an input is itself stale or missing
(it may change when it reruns), or when its stored output was changed by hand. It is missing
when it was never materialized or its stored output is gone. Everything is read from the
instance's record and the storage folder; nothing is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dagster import AssetKey, DagsterInstance, EventLogEntry

from superstore_assets.engine.codeversion import changed_modules
from superstore_assets.engine.dagster_internals import DATA_VERSION_TAG, recorded_provenance
from superstore_assets.engine.hashing import short
from superstore_assets.engine.observation import observed_version
from superstore_assets.engine.version_store import VersionStore

FRESH, STALE, MISSING = "fresh", "stale", "missing"


@dataclass(frozen=True)
class Node:
    """What the resolver needs to know about one asset of the graph."""

    key: AssetKey
    parents: tuple[AssetKey, ...]
    code_version: str | None
    components: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)
    store: VersionStore | None = None


@dataclass
class Status:
    key: AssetKey
    state: str
    causes: list[str] = field(default_factory=list)  # direct causes, in words
    upstream: list[AssetKey] = field(default_factory=list)  # stale or missing inputs
    version: str | None = None  # the recorded data version, if any

    @property
    def name(self) -> str:
        return self.key.to_user_string()


def resolve(
    instance: DagsterInstance,
    nodes: list[Node],
    source: AssetKey,
    source_version: str | None,
) -> dict[AssetKey, Status]:
    """The status of every node (given in topological order), with the source at
    `source_version` (its current content hash; None: as last observed)."""
    recorded_source = observed_version(instance, source)
    current = {source: source_version or recorded_source}
    latest = {  # one query for the latest materialization of every asset
        record.asset_entry.asset_key: record.asset_entry.last_materialization
        for record in instance.get_asset_records([node.key for node in nodes])
    }
    statuses: dict[AssetKey, Status] = {}
    for node in nodes:
        status = _status(latest.get(node.key), node, current, statuses)
        statuses[node.key] = status
        current[node.key] = status.version
    return statuses


def _status(
    event: EventLogEntry | None,
    node: Node,
    current: Mapping[AssetKey, str | None],
    statuses: Mapping[AssetKey, Status],
) -> Status:
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return Status(node.key, MISSING, ["never materialized"])
    tags = materialization.tags or {}
    version = tags.get(DATA_VERSION_TAG)
    status = Status(node.key, FRESH, version=version)
    name = node.key.path[-1]
    if node.store is not None and version:
        if not node.store.version_path(name, version).exists():
            status.state = MISSING
            status.causes.append(f"stored output deleted ({_shown(node.store, name, version)})")
            return status
        if not node.store.is_intact(name, version):
            status.causes.append(f"stored output altered ({_shown(node.store, name, version)})")
        elif not node.store.current_is_intact(name, version):
            status.causes.append(f"copy altered or deleted ({node.store.current_path(name).name})")
    recorded = recorded_provenance(tags)
    code_version, inputs = recorded if recorded else (None, {})
    if node.code_version is not None and code_version != node.code_version:
        components = materialization.metadata.get("code_components")
        files = changed_modules(components.value, dict(node.components)) if components else []
        status.causes.append(f"code changed ({', '.join(files)})" if files else "code changed")
    settings = materialization.metadata.get("settings")
    if (settings.value if settings else {}) != dict(node.settings):
        before = settings.value if settings else {}
        changed = [k for k in node.settings if before.get(k) != node.settings[k]]
        status.causes.append(f"settings changed ({', '.join(changed) or 'removed'})")
    for parent in node.parents:
        parent_status = statuses.get(parent)
        if parent_status is not None and parent_status.state != FRESH:
            status.upstream.append(parent)
            continue
        now, then = current.get(parent), inputs.get(parent)
        if now != then:
            detail = (
                f" (sha256 {_abbreviated(then)}→{_abbreviated(now)})"
                if parent_status is None
                else ""
            )
            status.causes.append(f"{parent.to_user_string()} changed{detail}")
    if status.causes or status.upstream:
        status.state = STALE
    return status


def _abbreviated(version: str | None) -> str:
    return f"{short(version)[:4]}…" if version else "none"


def _shown(store: VersionStore, name: str, version: str) -> str:
    path = store.version_path(name, version)
    return f"{path.parent.parent.parent.name}/{path.parent.parent.name}/{name}/{short(version)}…"


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


def graph_nodes(
    graph: dict, storage_root: str, resources: Mapping[str, object]
) -> tuple[list[Node], AssetKey]:
    """Nodes for the stale status from a described graph (see manifest.py), with the stores
    under `storage_root` and the settings of the given resources (the dataset's date format)."""
    from superstore_assets.engine.files import confined
    from superstore_assets.engine.version_store import STORAGE_FOLDERS

    nodes = []
    for described in graph["nodes"]:
        settings = {}
        for resource_key in described["resources"]:
            declare = getattr(resources.get(resource_key), "output_settings", None)
            if callable(declare):
                settings.update({f"{resource_key}.{k}": v for k, v in declare().items()})
        kind, folder = STORAGE_FOLDERS.get(described["io_manager"], (None, None))
        store = VersionStore(confined(storage_root, folder), kind) if kind else None
        nodes.append(
            Node(
                key=AssetKey.from_user_string(described["key"]),
                parents=tuple(AssetKey.from_user_string(p) for p in described["parents"]),
                code_version=described["code_version"],
                components=described["components"],
                settings=settings,
                store=store,
            )
        )
    return nodes, AssetKey.from_user_string(graph["source"])
