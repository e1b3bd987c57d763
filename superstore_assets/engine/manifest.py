"""The asset graph as `superstore status` needs it, cached by the package's source code.

Working out the graph and every code version means importing the whole pipeline (pandas,
plotly, every asset), which costs more than the rest of a status check. The graph can only
change when the package's source does, so it is kept in the Dagster home under a hash of
every source file (and of Python's and Dagster's versions): any edit, a comment included,
misses the cache, and the graph is worked out again from the code itself.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from superstore_assets.engine.files import write_atomic
from superstore_assets.engine.project import PACKAGE_DIR

if TYPE_CHECKING:
    from dagster import Definitions

FOLDER = "superstore"


def source_key() -> str:
    """A hash of every module of the package, and of the Python and Dagster that run it."""
    digest = hashlib.sha256(f"{sys.version}|dagster {version('dagster')}".encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def describe_graph(definitions: Definitions) -> dict:
    """The graph worked out from the definitions: for each asset in topological order, its
    parents, code version and components, the resources whose settings it reads, its IO
    manager and its blocking checks."""
    from superstore_assets.engine.freshness import blocking_checks
    from superstore_assets.engine.observation import SOURCE
    from superstore_assets.engine.versioned_asset import COMPONENTS

    graph = definitions.resolve_asset_graph()
    nodes, source = [], None
    for key in graph.toposorted_asset_keys:
        asset_node = graph.get(key)
        if not asset_node.is_materializable:
            if key == SOURCE:  # the dataset; the orders to score are the other source
                source = key.to_user_string()
            continue
        assets_def = definitions.get_assets_def(key)
        nodes.append(
            {
                "key": key.to_user_string(),
                "parents": sorted(p.to_user_string() for p in asset_node.parent_keys),
                "code_version": asset_node.code_version,
                "components": COMPONENTS.get(key.path[-1], {}),
                "resources": sorted(assets_def.required_resource_keys),
                "io_manager": assets_def.get_io_manager_key_for_asset_key(key),
                "blocking_checks": list(blocking_checks(assets_def, key)),
            }
        )
    return {"source": source, "nodes": nodes}


def load_graph(home: Path, definitions: Callable[[], Definitions]) -> dict:
    """The cached graph for the current source, worked out from `definitions()` (and cached)
    on a miss."""
    folder = home / FOLDER
    key = source_key()
    cached = folder / f"graph-{key[:24]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    described = describe_graph(definitions())
    for old in folder.glob("graph-*.json"):
        old.unlink(missing_ok=True)
    write_atomic(cached, json.dumps(described, indent=1, sort_keys=True).encode())
    return described
