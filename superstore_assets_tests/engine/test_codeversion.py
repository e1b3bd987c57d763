"""Code versions follow the code: comments and formatting do not count, settings and helpers do."""

import importlib
import json
import sys
import textwrap

import pytest

from superstore_assets.assets.definitions import all_assets
from superstore_assets.engine.codeversion import changed_modules, code_components, code_version
from superstore_assets.engine.versioned_asset import COMPONENTS
from superstore_assets.pipeline import config
from superstore_assets_tests.conftest import ASSETS

HELPERS = '''
THRESHOLD = 0.5
UNUSED = "nobody reads this"


def positive(values):
    """Values above the threshold."""
    return [v for v in values if v > THRESHOLD]
'''

STEPS = """
from cvpkg import helpers
from cvpkg.helpers import positive

GRIDS = ({"depth": [2, 4]}, {"depth": [8]})


def count(values):
    return len(positive(values))


def total(values):
    return sum(helpers.positive(values))


def fit(values):
    return max(values)


def make(grid):
    def step(values):
        return fit(values), grid

    return step


steps = [make(grid) for grid in GRIDS]
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package `cvpkg` that a test can edit and reload. Its bytecode is never
    written: an edit of the same size within the second would find the old bytecode current
    (Python checks the source's size and mtime in whole seconds)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    root = tmp_path / "cvpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def load(helpers: str = HELPERS, steps: str = STEPS):
        (root / "helpers.py").write_text(textwrap.dedent(helpers))
        (root / "steps.py").write_text(textwrap.dedent(steps))
        for name in ("cvpkg.steps", "cvpkg.helpers", "cvpkg"):
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        module = importlib.import_module("cvpkg.steps")
        return {
            name: code_version(code_components(function, package="cvpkg"))
            for name, function in [
                ("count", module.count),
                ("total", module.total),
                ("first", module.steps[0]),
                ("second", module.steps[1]),
            ]
        }

    yield load
    for name in ("cvpkg.steps", "cvpkg.helpers", "cvpkg"):
        sys.modules.pop(name, None)


def test_comments_docstrings_and_formatting_change_nothing(package):
    before = package()
    reformatted = HELPERS.replace(
        '    """Values above the threshold."""\n',
        '    """Values strictly above THRESHOLD (a new docstring)."""\n    # a new comment\n',
    ).replace(
        "return [v for v in values if v > THRESHOLD]",
        "return [\n        v\n        for v in values\n        if v > THRESHOLD\n    ]",
    )
    assert reformatted != HELPERS
    assert package(helpers=reformatted) == before


def test_a_setting_changes_the_steps_that_read_it_only(package):
    before = package()
    assert (
        package(helpers=HELPERS.replace('UNUSED = "nobody reads this"', 'UNUSED = "x"')) == before
    )
    after = package(helpers=HELPERS.replace("THRESHOLD = 0.5", "THRESHOLD = 0.7"))
    assert after["count"] != before["count"] and after["total"] != before["total"]
    assert after["first"] == before["first"] and after["second"] == before["second"]


def test_one_grid_changes_one_step(package):
    before = package()
    after = package(steps=STEPS.replace('{"depth": [8]}', '{"depth": [8, 16]}'))
    assert after["second"] != before["second"]
    assert {k: after[k] for k in ("count", "total", "first")} == {
        k: before[k] for k in ("count", "total", "first")
    }


def test_a_shared_helper_changes_every_step_that_calls_it(package):
    before = package()
    after = package(steps=STEPS.replace("return max(values)", "return min(values)"))
    assert after["first"] != before["first"] and after["second"] != before["second"]
    assert after["count"] == before["count"] and after["total"] == before["total"]


def test_changed_components_name_their_modules():
    recorded = {
        "superstore_assets.pipeline.config.MODEL_SPECS[1]": "a",
        "superstore_assets.pipeline.models.fit_best_model": "b",
        "superstore_assets.assets.models.model_asset.<locals>._model": "c",
    }
    current = {**recorded, "superstore_assets.pipeline.config.MODEL_SPECS[1]": "z"}
    assert changed_modules(recorded, current) == ["pipeline/config.py"]
    current["superstore_assets.assets.models.model_asset.<locals>._model"] = "y"
    assert changed_modules(recorded, current) == ["assets/models.py", "pipeline/config.py"]


def test_each_model_depends_on_its_own_spec_only():
    names = {"decision_tree", "random_forest", "logistic_regression"}
    for name in names:
        specs = [
            c
            for c in COMPONENTS[name]
            if c.startswith("superstore_assets.pipeline.config.MODEL_SPECS")
        ]
        assert len(specs) == 1, (name, specs)
    assert (
        len(
            {COMPONENTS[name]["superstore_assets.pipeline.models.fit_best_model"] for name in names}
        )
        == 1
    )


def test_every_computed_asset_has_a_derived_code_version():
    versions = {}
    for assets_def in all_assets:  # the sources (superstore_csv, orders_to_score) have none
        for key, version in getattr(assets_def, "code_versions_by_key", {}).items():
            assert version and len(version) == 16, key
            versions[key.to_user_string()] = version
    assert len(versions) == ASSETS
    # no asset's version depends on where the checkout is
    assert not any("/" in name for c in COMPONENTS.values() for name in c)


def test_a_private_cache_filled_at_run_time_changes_nothing(package):
    with_cache = (
        STEPS
        + """
_SEEN = {}


def remember(values):
    _SEEN[len(values)] = True
    return count(values)
"""
    )
    import importlib as _importlib

    package(steps=with_cache)
    module = _importlib.import_module("cvpkg.steps")
    before = code_version(code_components(module.remember, package="cvpkg"))
    module.remember([1, 2, 3])  # the cache now holds something
    assert code_version(code_components(module.remember, package="cvpkg")) == before


def test_a_record_that_refuses_iteration_is_a_value_not_a_list_of_settings():
    # observation.SOURCE is an AssetKey: a tuple subclass whose iteration Dagster forbids.
    from superstore_assets.assets.ingest import record_source_version
    from superstore_assets.engine.observation import SOURCE

    components = code_components(record_source_version)
    assert "superstore_assets.engine.observation.observed_version" in components
    again = code_components(record_source_version)
    assert components == again and isinstance(SOURCE, tuple)


def test_definitions_found_in_the_modules_parse_are_the_ones_inspect_finds():
    # The module is parsed once and definitions are looked up in it; each tree, docstrings
    # stripped as for a version, must be the one parsed from the definition's own source (a
    # method's source is dedented first, which changes only its docstrings' indentation).
    import ast
    import copy
    import inspect

    from superstore_assets.engine import codeversion

    compared = 0
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("superstore_assets.") or name.startswith("superstore_assets_tests"):
            continue
        for value in vars(module).values():
            if getattr(value, "__module__", None) != name:
                continue
            candidates = [value]
            if inspect.isclass(value):
                candidates += [v for v in vars(value).values() if inspect.isfunction(v)]
            for obj in candidates:
                if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                    continue
                located = codeversion._located(obj)
                from_source = codeversion._source_tree(obj)
                if from_source is None:
                    continue
                assert located is not None, obj
                located = codeversion._strip_docstrings(copy.deepcopy(located))
                assert ast.dump(located) == ast.dump(codeversion._strip_docstrings(from_source)), (
                    obj
                )
                compared += 1
    assert compared > 100


def test_the_columns_an_asset_loads_are_part_of_its_code_version():
    from superstore_assets.engine.versioned_asset import versioned_asset

    def make(columns):
        @versioned_asset(name="reads_columns", columns={"orders_clean": columns})
        def reads_columns(orders_clean):
            return orders_clean

        return reads_columns

    first, same, other = make(("Sales",)), make(("Sales",)), make(("Sales", "Profit"))
    assert first.code_versions_by_key == same.code_versions_by_key
    assert first.code_versions_by_key != other.code_versions_by_key
    loaded = other.node_def.input_def_named("orders_clean").metadata
    assert loaded == {"columns": ["Sales", "Profit"]}
    assert changed_modules(COMPONENTS["reads_columns"], {}) == ["engine/test_codeversion.py"]


def columns_loaded(table: str) -> dict[str, tuple[str, ...] | None]:
    """For each asset that loads `table` (not only waits for it), the columns it loads."""
    loads = {}
    for assets_def in all_assets[1:]:
        for input_def in assets_def.node_def.input_defs:
            if input_def.name == table and not input_def.dagster_type.is_nothing:
                columns = input_def.metadata.get("columns")
                loads[assets_def.key.to_user_string()] = columns and tuple(columns)
    return loads


def test_the_pipeline_loads_only_the_columns_each_step_of_the_orders_reads():
    from superstore_assets.pipeline import eda, features

    loads = columns_loaded("orders_clean")
    assert loads["model_features"] == features.FEATURE_SOURCE_COLUMNS
    assert loads["summary_statistics"] == eda.SUMMARY_COLUMNS
    assert {spec.name: spec.columns for spec in eda.EDA_FIGURES}.items() <= loads.items()
    assert len(loads) == 8


def test_the_models_their_metrics_and_the_champion_load_only_the_model_columns():
    from superstore_assets.pipeline import split

    loads = columns_loaded("train_val_test")
    names = [spec.name for spec in config.MODEL_SPECS]
    assert set(loads) == {*names, *(f"{name}_metrics" for name in names), "champion"}
    assert set(loads.values()) == {split.MODEL_TABLE_COLUMNS}


@pytest.fixture
def components_cache(tmp_path, monkeypatch):
    """An empty cache folder for code components, and nothing of them kept in memory."""
    from superstore_assets.engine import codeversion

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for cached in (codeversion._kept_components, codeversion._components_file):
        cached.cache_clear()
    yield tmp_path / "superstore-assets"
    for cached in (codeversion._kept_components, codeversion._components_file):
        cached.cache_clear()


def test_kept_components_are_the_worked_out_ones_and_are_read_back(components_cache, monkeypatch):
    from superstore_assets.engine import codeversion
    from superstore_assets.pipeline.split import assign_split, split_summary

    worked_out = code_components(assign_split, split_summary)
    assert codeversion.cached_components("train_val_test", assign_split, split_summary) == (
        worked_out
    )
    (kept,) = components_cache.glob("code-components-*.json")
    assert list(json.loads(kept.read_text()).values()) == [worked_out]

    # Another process: read from the file, not worked out again.
    codeversion._kept_components.cache_clear()
    monkeypatch.setattr(codeversion, "code_components", lambda *objects: pytest.fail("worked out"))
    assert codeversion.cached_components("train_val_test", assign_split, split_summary) == (
        worked_out
    )


def test_functions_alike_but_for_what_they_close_over_are_kept_apart(components_cache):
    from superstore_assets.engine.codeversion import _identity

    def factory(depth):
        def fit():
            return depth

        fit.__module__ = "superstore_assets.assets.models"  # as the package's own factory's
        return fit

    shallow, deep, deep_again = factory(4), factory(8), factory(8)
    assert _identity(shallow) != _identity(deep)
    assert _identity(deep) == _identity(deep_again)
    # A function closed over is named by what it is, not where it sits in this process's memory.
    assert " at 0x" not in _identity(factory(split_summary_function()))


def split_summary_function():
    from superstore_assets.pipeline.split import split_summary

    return split_summary
