"""The one decorator every computed asset goes through: versions by content, reuse by record.

`versioned_asset` wraps Dagster's `@asset`. It derives the asset's code version from the code
and settings the function reaches (superstore_assets.engine.codeversion), and at run time:

1. reads the data versions of the asset's inputs, as Dagster will record them;
2. asks the freshness rule (freshness.find_prior) for an earlier materialization that stands
   for the asset now (same code version, input versions and settings, its stored output
   intact); if there is one, restores it, with `reused_from_run` in the metadata, and computes
   nothing;
3. otherwise calls the function, encodes the value, and returns it with the SHA-256 of its
   bytes as the data version, so that an unchanged result cuts off everything below it.

Checks are functions of the stored value (and part of the code version), so a restored output
gets the results recorded for the same bytes, or, where none are found, is checked again.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    ConfigurableResource,
    DagsterType,
    MetadataValue,
    Output,
    TypeCheck,
    asset,
)

from superstore_assets.engine.codecs import decode
from superstore_assets.engine.codeversion import cached_components, code_version
from superstore_assets.engine.dagster_internals import (
    check_evaluations_of,
    input_data_versions,
    versioned_output,
)
from superstore_assets.engine.freshness import (
    CODE_COMPONENTS,
    COMPUTE_SECONDS,
    REUSED_FROM_RUN,
    SETTINGS,
    find_prior,
    node_of,
    reuse_allowed,
)
from superstore_assets.engine.io_manager import COLUMNS, LAZY_INPUTS_TAG, Pending, Stored
from superstore_assets.engine.lineage import DATASET_SHA256
from superstore_assets.engine.memory import release_memory

IO_MANAGERS = {
    "table": "io_manager",
    "json": "json_io_manager",
    "figure": "figure_io_manager",
    "model": "model_io_manager",
    "skops": "champion_io_manager",
    "html": "report_io_manager",
}
# Metadata that describes one storing of an output, not the output: never copied on reuse.
_PER_RUN_METADATA = {COMPUTE_SECONDS, DATASET_SHA256}

Checks = Callable[[Any], Iterable[AssetCheckResult]]

# The code components of every versioned asset, by asset name: what `superstore status` compares
# with the components recorded at materialization to say which module changed.
COMPONENTS: dict[str, dict[str, str]] = {}


def stored_type(inner: DagsterType) -> DagsterType:
    """A Dagster type that checks the value inside a `Stored` (a restored one is not reloaded:
    it passed when it was made)."""

    def check(context, stored: Any) -> TypeCheck:
        if isinstance(stored, Stored):
            if stored.value is None:
                return TypeCheck(success=True, description="restored from an earlier run")
            stored = stored.value
        return inner.type_check(context, stored)

    return DagsterType(
        type_check_fn=check,
        name=inner.unique_name,
        description=inner.description,
        metadata=inner.metadata,
    )


def _call(function: Callable, context: AssetExecutionContext, inputs: Mapping[str, Any]) -> Any:
    """Call with the context if the function takes one, and the inputs it names."""
    parameters = inspect.signature(function).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    arguments = dict(inputs) if takes_all else {k: v for k, v in inputs.items() if k in parameters}
    if "context" in parameters:
        arguments["context"] = context
    return function(**arguments)


def versioned_asset(
    *,
    kind: str = "table",
    checks: Checks | None = None,
    prepare: Callable[..., None] | None = None,
    dagster_type: DagsterType | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    params: Sequence[str] = (),
    **asset_arguments: Any,
) -> Callable[[Callable], AssetsDefinition]:
    """Like `@asset`, with a derived code version, content data versions and reuse.

    `kind` picks the IO manager and format; `checks(value)` (or `checks(value, metadata)`, with
    the materialization's metadata, computed or restored, or `checks(metadata)`: then a
    restored output is not decoded for them) yields the asset's check results;
    `prepare(context, ...)` runs before the reuse lookup (orders_raw observes its file there)
    and may return metadata for the materialization either way. `columns` names, per input
    table, the only columns the function reads: only those are loaded, and they are part of the
    code version. `params` names the parameter sections the function reads (resources of the
    same names, pipeline/params.py): the function gets their overrides as `params`, and they
    are part of the asset's settings, so an override makes this asset stale and no other.
    """

    def decorate(function: Callable) -> AssetsDefinition:
        arguments = dict(asset_arguments)
        name = arguments.pop("name", None) or function.__name__
        components = cached_components(name, function, checks, prepare)
        check_reads = tuple(inspect.signature(checks).parameters) if checks is not None else ()
        for input_name, names in sorted((columns or {}).items()):
            components[f"{_qualified(function)}.{input_name}.columns"] = code_version(
                {"columns": list(names)}
            )
        version = code_version(components)
        COMPONENTS[name] = components
        signature = inspect.signature(function)
        # Inputs arrive as Pending (loaded only if computed), so Dagster must not check
        # their annotated types; resources keep theirs, which is how Dagster recognises them.
        parameters = [
            p if _is_resource(p.annotation) else p.replace(annotation=inspect.Parameter.empty)
            for p in signature.parameters.values()
            if p.name not in ("context", "params")
        ]

        def compute(context: AssetExecutionContext, **inputs: Any):
            release_memory()  # what an earlier step of millions of rows left behind
            started = time.perf_counter()
            noted = dict(_call(prepare, context, inputs) or {}) if prepare is not None else {}
            node = node_of(context.assets_def, context.asset_key, _resources(context), components)
            value = None
            prior = None
            recorded = None  # the earlier output's check results, when it is restored
            if reuse_allowed(context.run.tags):
                prior = find_prior(context.instance, node, input_data_versions(context))
            if prior is not None:
                metadata = {k: v for k, v in prior.metadata.items() if k not in _PER_RUN_METADATA}
                # The run that computed it, however many reuses ago.
                made_by = prior.metadata.get(REUSED_FROM_RUN)
                origin = made_by.value if made_by is not None else prior.run_id
                metadata[REUSED_FROM_RUN] = origin
                stored = Stored(version=prior.version, reused_from_run=origin)
                if checks is not None and check_reads != ("metadata",):
                    recorded = _recorded_checks(context, prior)
                    if recorded is None:
                        value = decode(kind, node.store.verified(name, prior.version))
            else:
                loaded = {k: v.load() if isinstance(v, Pending) else v for k, v in inputs.items()}
                if params:
                    loaded["params"] = {s: getattr(context.resources, s).values() for s in params}
                result = _call(function, context, loaded)
                # The inputs are let go before the output is encoded: at millions of lines the
                # clean orders would otherwise be encoded beside the raw ones.
                del loaded
                for pending in inputs.values():
                    if isinstance(pending, Pending):
                        pending.release()
                value, metadata = (
                    (result.value, dict(result.metadata))
                    if isinstance(result, Output)
                    else (result, {})
                )
                stored = Stored.of(kind, value)
            metadata.update(noted)
            metadata[COMPUTE_SECONDS] = MetadataValue.float(round(time.perf_counter() - started, 3))
            metadata[CODE_COMPONENTS] = MetadataValue.json(components)
            metadata[SETTINGS] = MetadataValue.json(dict(node.settings))
            yield versioned_output(stored, stored.version, metadata)
            if recorded is not None:
                yield from recorded
            elif check_reads == ("metadata",):
                yield from checks(metadata)
            elif checks is not None:
                yield from checks(value, metadata) if len(check_reads) > 1 else checks(value)

        context_parameter = inspect.Parameter(
            "context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=AssetExecutionContext
        )
        compute.__signature__ = inspect.Signature([context_parameter, *parameters])
        compute.__name__ = name
        compute.__doc__ = function.__doc__
        tags = {**arguments.pop("op_tags", {}), LAZY_INPUTS_TAG: "true"}
        if params:
            arguments["required_resource_keys"] = {
                *arguments.pop("required_resource_keys", ()),
                *params,
            }
        if columns:
            ins = dict(arguments.pop("ins", {}))
            for input_name, names in columns.items():
                metadata = {COLUMNS: list(names)}
                ins[input_name] = AssetIn(metadata=metadata)
            arguments["ins"] = ins
        return asset(
            name=name,
            op_tags=tags,
            code_version=version,
            io_manager_key=IO_MANAGERS[kind],
            dagster_type=stored_type(dagster_type) if dagster_type is not None else None,
            **arguments,
        )(compute)

    return decorate


def _recorded_checks(context: AssetExecutionContext, prior) -> list[AssetCheckResult] | None:
    """The check results recorded for the earlier output being restored, given again: the
    checks are functions of the stored value and part of the code version, so the same bytes
    give the same results, and the output is not decoded to work them out again (at millions
    of lines, orders_raw and orders_clean take seconds to decode). None if any is not found."""
    names = [key.name for key in context.assets_def.check_keys]
    if not names or prior.storage_id is None:
        return None
    found = check_evaluations_of(context.instance, context.asset_key, names, prior.storage_id)
    if found is None:
        return None
    return [
        AssetCheckResult(
            check_name=evaluation.check_name,
            passed=evaluation.passed,
            severity=evaluation.severity,
            metadata=evaluation.metadata,
            description=evaluation.description,
        )
        for evaluation in found
    ]


def _qualified(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _is_resource(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, ConfigurableResource)


def _resources(context: AssetExecutionContext) -> dict[str, Any]:
    """The resources the asset uses, by key (its IO manager among them)."""
    keys = context.assets_def.required_resource_keys
    return {key: getattr(context.resources, key) for key in keys}
