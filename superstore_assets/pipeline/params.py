"""Parameters: the knobs a data scientist turns without editing code, and their rules.

Every default is in config.py (one source of truth); this module names them as
`section.key`, checks an override before any run starts, and expands a sweep:

    decision_tree.max_depth=8          one value (a grid key then holds only it)
    decision_tree.max_depth=[4,8]      a grid of its own
    random_forest.n_estimators=200     a fixed setting of a model
    split.train=0.7 split.validation=0.15 split.test=0.15 split.seed=7
    tuning.metric=balanced_accuracy    the validation metric that picks a grid point
    tuning.max_rows=50000              lines each grid point is fitted on, at most
    champion.margin=0.1                the champion's gate (pipeline/champion.py)

A section is read by exactly the assets that declare it (`versioned_asset(params=...)`), and
its overrides are part of their versions: overriding the forest's depth makes the forest and
what lies below it stale, nothing else. Values are written as YAML scalars or flow lists.
"""

from __future__ import annotations

import difflib
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from superstore_assets.pipeline import config
from superstore_assets.pipeline.config import ModelSpec

SELECTION_METRICS = config.METRICS
# Fixed settings that change how a model is computed, not what it is.
NOT_PARAMETERS = {"n_jobs"}


class ParamError(ValueError):
    """An override that cannot be used; the message names the parameter and what it accepts."""


def defaults() -> dict[str, dict[str, object]]:
    """Every parameter's default, by section, read from config.py."""
    found: dict[str, dict[str, object]] = {}
    for spec in config.MODEL_SPECS:
        fixed = {k: v for k, v in spec.fixed.items() if k not in NOT_PARAMETERS}
        found[spec.name] = {**fixed, **{k: list(v) for k, v in spec.grid.items()}}
    found["split"] = {**config.SPLIT_FRACTIONS, "seed": config.SEED}
    found["tuning"] = {"metric": config.SELECTION_METRIC, "max_rows": config.MODEL_MAX_ROWS}
    found["champion"] = {"margin": config.CHAMPION_MARGIN, "tolerance": config.CHAMPION_TOLERANCE}
    return found


def known_keys() -> list[str]:
    return [f"{section}.{key}" for section, values in defaults().items() for key in values]


def _rule(key: str) -> tuple[str, object]:
    """What `key` accepts, in words, and a check of one value (True when accepted)."""
    section, name = key.split(".", 1)
    if section == "split":
        if name == "seed":
            return "a whole number >= 0", lambda v: _is_int(v) and v >= 0
        return "a fraction between 0 and 1", lambda v: _is_number(v) and 0 < v < 1
    if section == "tuning":
        if name == "metric":
            return f"one of {', '.join(SELECTION_METRICS)}", lambda v: v in SELECTION_METRICS
        return "a whole number >= 100", lambda v: _is_int(v) and v >= 100
    if section == "champion":
        return "a number between 0 and 1", lambda v: _is_number(v) and 0 <= v <= 1
    if name in ("max_depth", "n_estimators", "max_iter"):
        return "a whole number >= 1", lambda v: _is_int(v) and v >= 1
    if name == "min_samples_leaf":
        return "a whole number >= 1", lambda v: _is_int(v) and v >= 1
    if name == "C":
        return "a number > 0", lambda v: _is_number(v) and v > 0
    if name == "random_state":
        return "a whole number >= 0", lambda v: _is_int(v) and v >= 0
    return "a value of the same type as its default", lambda v: True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_value(text: str) -> object:
    """A value as written on the command line: a YAML scalar or a flow list ([4, 8])."""
    import yaml

    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def assignment(key: str, value: object) -> str:
    """An override written as `-S` takes it, `key=value`: the value as JSON, which YAML reads."""
    import json

    return f"{key}={json.dumps(value)}"


def written(overrides: Mapping[str, object]) -> str:
    """Overrides as one line of `key=value`, by key ("" for none)."""
    return " ".join(assignment(key, value) for key, value in sorted(overrides.items()))


def split_assignment(text: str) -> tuple[str, str]:
    """`key=value` into its two sides, or a ParamError saying how to write it."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise ParamError(
            f"{text!r}: write a parameter as key=value, e.g. random_forest.max_depth=8"
        )
    return key.strip(), value.strip()


def check(overrides: Mapping[str, object]) -> dict[str, object]:
    """The overrides, each checked against its rule, and the split as a whole; a ParamError
    naming the first that is refused, and what it accepts."""
    known = known_keys()
    for key, value in overrides.items():
        if key not in known:
            near = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(near)}?" if near else f"known: {', '.join(known)}"
            raise ParamError(f"unknown parameter {key!r}; {hint}")
        accepts, accepted = _rule(key)
        grid = isinstance(defaults()[key.split(".")[0]][key.split(".", 1)[1]], list)
        values = value if grid and isinstance(value, list) else [value]
        if not values or not all(accepted(v) for v in values):
            shape = f"{accepts} (or a list of them, a grid)" if grid else accepts
            raise ParamError(f"{key}={value!r} is refused: {key} takes {shape}")
    if section_overrides(overrides, "split"):
        _check_fractions(fractions_of(overrides))
    return dict(overrides)


def _check_fractions(fractions: Mapping[str, float]) -> None:
    from superstore_assets.pipeline.split import folds_per_side

    written = " + ".join(f"{side} {share:g}" for side, share in fractions.items())
    if abs(sum(fractions.values()) - 1) > 1e-9:
        raise ParamError(
            f"split fractions must sum to 1: {written} = {sum(fractions.values()):g} "
            "(set split.train, split.validation and split.test together)"
        )
    try:
        folds_per_side(dict(fractions))
    except ValueError:
        raise ParamError(
            f"split fractions {written} are not whole folds: each side must be a whole number "
            "of equal folds, as 0.6/0.2/0.2 (5 folds) or 0.5/0.25/0.25 (4)"
        ) from None


def parse(assignments: Iterable[str]) -> dict[str, object]:
    """`key=value` texts into checked overrides (a later one of the same key wins)."""
    overrides = {}
    for text in assignments:
        key, value = split_assignment(text)
        overrides[key] = parse_value(value)
    return check(overrides)


def section_overrides(overrides: Mapping[str, object], section: str) -> dict[str, object]:
    """The overrides of one section, by key within it."""
    prefix = f"{section}."
    return {k[len(prefix) :]: v for k, v in sorted(overrides.items()) if k.startswith(prefix)}


def fractions_of(overrides: Mapping[str, object]) -> dict[str, float]:
    """The split's train, validation and test shares under these overrides."""
    values = {**defaults()["split"], **section_overrides(overrides, "split")}
    return {side: values[side] for side in config.SPLIT_FRACTIONS}


def model_spec(spec: ModelSpec, overrides: Mapping[str, object]) -> ModelSpec:
    """`spec` with its section's overrides: a grid key set to one value holds only it."""
    fixed, grid = dict(spec.fixed), {k: list(v) for k, v in spec.grid.items()}
    for key, value in overrides.items():
        if key in grid:
            grid[key] = list(value) if isinstance(value, list) else [value]
        else:
            fixed[key] = value
    return replace(spec, fixed=fixed, grid=grid)


# The two functions below read only the settings of their own section from config.py (not
# defaults(), which reads them all): an asset's code version follows what its code reaches, so
# editing one model's grid in config.py does not make the split stale.


def split_settings(overrides: Mapping[str, object]) -> tuple[dict[str, float], int]:
    """The split's fractions and seed under the `split` section's overrides."""
    fractions = {side: overrides.get(side, share) for side, share in config.SPLIT_FRACTIONS.items()}
    return fractions, int(overrides.get("seed", config.SEED))


def tuning_settings(overrides: Mapping[str, object]) -> tuple[str, int]:
    """The selection metric and the most lines a grid point is fitted on."""
    metric = overrides.get("metric", config.SELECTION_METRIC)
    return str(metric), int(overrides.get("max_rows", config.MODEL_MAX_ROWS))


def champion_settings(overrides: Mapping[str, object]) -> tuple[float, float]:
    """The champion gate's margin over the baseline and tolerance against the earlier one."""
    margin = overrides.get("margin", config.CHAMPION_MARGIN)
    return float(margin), float(overrides.get("tolerance", config.CHAMPION_TOLERANCE))


def sweep_points(text: str) -> list[object]:
    """The values of one swept parameter, `4,8,16` or `[4,8],[16]`: split on the commas that
    are not inside brackets."""
    points, depth, current = [], 0, ""
    for character in text:
        depth += {"[": 1, "]": -1}.get(character, 0)
        if character == "," and depth == 0:
            points.append(current)
            current = ""
        else:
            current += character
    points.append(current)
    return [parse_value(point.strip()) for point in points]


def combinations(
    assignments: Sequence[str], sample: int | None = None, seed: int = 0
) -> list[dict[str, object]]:
    """Every combination of the swept values (or `sample` of them, chosen with `seed`), each
    checked: a ParamError for the first that is refused, before anything runs."""
    axes: dict[str, list[object]] = {}
    for text in assignments:
        key, value = split_assignment(text)
        axes[key] = sweep_points(value)
    points = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    for point in points:
        check(point)
    if sample is not None and sample < len(points):
        points = random.Random(seed).sample(points, sample)
    return points


def differing(overrides: Mapping[str, object]) -> dict[str, object]:
    """The overrides that differ from the defaults (a grid set to one of its values differs)."""
    found = {}
    for key, value in sorted(overrides.items()):
        section, name = key.split(".", 1)
        if defaults()[section][name] != value:
            found[key] = value
    return found
