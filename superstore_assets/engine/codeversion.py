"""Code versions derived from the code itself, so that no one writes a version string by hand.

An asset's code version is a hash over the *components* it depends on: its own function, every
function and class of this package that it reaches (transitively, through names it reads), and
every setting it reads (a constant of `config`, a closure variable such as a model's spec).
Each component is hashed from its syntax tree without docstrings, so reformatting a module or
editing a comment or docstring changes nothing, while editing a hyperparameter changes exactly
the assets that read it. The components are kept by name, so a changed version can be traced
to the module that changed it.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import enum
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import re
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACKAGE = "superstore_assets"
# Modules that say where things are, not what is computed: their values differ per checkout.
NOT_CODE = ("superstore_assets.engine.project",)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _in_package(obj: Any, package: str = PACKAGE) -> bool:
    """Whether a function, class or module is the package's code (and so hashed by content)."""
    if isinstance(obj, types.ModuleType):
        module = obj.__name__
    else:
        module = getattr(obj, "__module__", None) or ""
    if module in NOT_CODE:
        return False
    return module == package or module.startswith(package + ".")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


_TREES: dict[Any, tuple[str, list[list[str]]] | None] = {}


def _parsed(obj: Callable | type) -> tuple[str, list[list[str]]] | None:
    """The dumped syntax tree of a definition and the dotted names it reads, parsed once."""
    key = getattr(obj, "__code__", obj)
    if key not in _TREES:
        tree = _definition_tree(obj)
        _TREES[key] = None if tree is None else (ast.dump(tree), _referenced_chains(tree))
    return _TREES[key]


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _module_definitions(filename: str) -> dict[tuple[int, str] | str, ast.AST]:
    """Every function and class defined in a source file, parsed once per version of the file
    (its size and modification time): a module edited and imported again in the same process
    is parsed again."""
    try:
        stat = os.stat(filename)
    except OSError:
        return {}
    return _parsed_module(filename, stat.st_size, stat.st_mtime_ns)


@functools.cache
def _parsed_module(filename: str, size: int, mtime_ns: int) -> dict[tuple[int, str] | str, ast.AST]:
    """Functions by (first line, decorators included, and name), as their code objects record
    them; classes by qualified name."""
    try:
        with open(filename, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    found: dict[tuple[int, str] | str, ast.AST] = {}
    pending: list[tuple[ast.AST, str]] = [(tree, "")]
    while pending:
        parent, prefix = pending.pop()
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, _DEFINITIONS):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                found[(first, node.name)] = node
                found[prefix + node.name] = node
                inner = f"{prefix}{node.name}." + (
                    "" if isinstance(node, ast.ClassDef) else "<locals>."
                )
                pending.append((node, inner))
            else:
                pending.append((node, prefix))
    return found


def _located(obj: Callable | type) -> ast.AST | None:
    """A definition's node from its module's one parse, or None where it cannot be told."""
    obj = inspect.unwrap(obj)  # a decorated function's own definition, as inspect finds it
    code = getattr(obj, "__code__", None)
    if code is not None:
        return _module_definitions(code.co_filename).get((code.co_firstlineno, obj.__name__))
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    filename = getattr(module, "__file__", None)
    if not isinstance(obj, type) or filename is None:
        return None
    return _module_definitions(filename).get(obj.__qualname__)


def _definition_tree(obj: Callable | type) -> ast.AST | None:
    """The syntax tree of a function or class, without decorators and docstrings."""
    node = _located(obj)
    node = copy.deepcopy(node) if node is not None else _source_tree(obj)
    if isinstance(node, _DEFINITIONS):
        node.decorator_list = []
        return _strip_docstrings(node)
    return None


def _source_tree(obj: Callable | type) -> ast.AST | None:
    """The definition parsed from its own source (inspect's way: slower, for what the module's
    parse does not locate)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return None  # a lambda inside an expression, or code without a source file
    return tree.body[0] if tree.body else None


def _local_names(tree: ast.AST) -> set[str]:
    """Names bound inside the definition (arguments, assignments, loop and import targets):
    these shadow module globals of the same name, such as an input named like its asset."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _referenced_chains(tree: ast.AST) -> list[list[str]]:
    """Dotted global names the code reads: `config.MODEL_SPECS` is ["config", "MODEL_SPECS"]."""
    chains: list[list[str]] = []
    inner: set[int] = set()
    local = _local_names(tree)
    if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        local.discard(tree.name)  # a recursive call is a reference to itself, harmless
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            parts, current = [], node
            while isinstance(current, ast.Attribute):
                inner.add(id(current.value))
                parts.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name) and current.id not in local:
                chains.append([current.id, *reversed(parts)])
        elif isinstance(node, ast.Name) and id(node) not in inner and node.id not in local:
            chains.append([node.id])
    return chains


class _Deriver:
    def __init__(self, package: str) -> None:
        self.package = package
        self.components: dict[str, str] = {}
        self._seen: set[int] = set()

    # Values (settings, closure variables, defaults) become canonical text; package functions
    # and classes they mention become components of their own.
    def value(self, obj: Any) -> str:
        if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
            return repr(obj)
        if isinstance(obj, enum.Enum):
            return f"{type(obj).__qualname__}.{obj.name}"
        if type(obj) in (list, tuple):  # not their subclasses (an AssetKey bans iterating)
            return type(obj).__name__ + "(" + ",".join(self.value(v) for v in obj) + ")"
        if isinstance(obj, (set, frozenset)):
            return "set(" + ",".join(sorted(self.value(v) for v in obj)) + ")"
        if isinstance(obj, dict):
            items = sorted((self.value(k), self.value(v)) for k, v in obj.items())
            return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return self.reference(type(obj)) + self.value(fields)
        if isinstance(obj, types.ModuleType):
            return f"module:{obj.__name__}"
        if callable(obj) or isinstance(obj, type):
            return self.reference(obj)
        text = repr(obj)
        return type(obj).__qualname__ if " at 0x" in text else f"{type(obj).__qualname__}:{text}"

    def reference(self, obj: Any) -> str:
        """A name for a function or class; a package one is also added as a component."""
        obj = inspect.unwrap(obj) if callable(obj) else obj
        qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
        name = f"{getattr(obj, '__module__', None) or type(obj).__module__}.{qualname}"
        if _in_package(obj, self.package) and (inspect.isfunction(obj) or inspect.isclass(obj)):
            self.definition(obj, name)
        return name

    def definition(self, obj: Callable | type, name: str) -> None:
        if id(obj) in self._seen:
            return
        self._seen.add(id(obj))
        parsed = _parsed(obj)
        parts = [parsed[0] if parsed is not None else self._bytecode(obj)]
        namespace = getattr(obj, "__globals__", None)
        if namespace is None:  # a class: its names resolve in its module
            module = inspect.getmodule(obj)
            namespace = vars(module) if module else {}
        if parsed is not None:
            for chain in parsed[1]:
                parts.append(self._resolve(chain, namespace))
        if inspect.isfunction(obj):
            closure = inspect.getclosurevars(obj).nonlocals
            parts += [f"{k}={self.setting(v, f'{name}.{k}')}" for k, v in sorted(closure.items())]
            if obj.__defaults__:
                parts.append(self.value(obj.__defaults__))
            if obj.__kwdefaults__:
                parts.append(self.value(obj.__kwdefaults__))
        self.components[name] = _digest("\n".join(parts))

    def setting(self, obj: Any, fallback: str) -> str:
        """A closure variable: plain values inline, anything larger a component of its own,
        named after the package setting that holds it (`config.MODEL_SPECS[1]`) if one does."""
        if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
            return repr(obj)
        if callable(obj) and not dataclasses.is_dataclass(obj):
            return self.reference(obj)
        name = _setting_name(obj, self.package) or fallback
        self.components[name] = _digest(self.value(obj))
        return name

    def _resolve(self, chain: list[str], namespace: dict) -> str:
        """Follow a dotted name through package modules; settings become their values."""
        if chain[0] not in namespace:
            return ""  # a local variable, an argument or a builtin
        obj, used = namespace[chain[0]], [chain[0]]
        for attribute in chain[1:]:
            if not (isinstance(obj, types.ModuleType) and _in_package(obj, self.package)):
                break
            if not hasattr(obj, attribute):
                break
            obj, used = getattr(obj, attribute), [*used, attribute]
        if isinstance(obj, types.ModuleType):
            return f"module:{obj.__name__}"
        if callable(obj) or isinstance(obj, type):
            return self.reference(obj)
        # A private mutable value (`_ROWS = {}`) is a cache, run-time state: named, not hashed,
        # or a version would depend on what the process had done before it was derived.
        if used[-1].startswith("_") and isinstance(obj, (dict, list, set)):
            return f"state:{used[-1]}"
        # A setting read from a package module: a component named after where it lives.
        home = namespace.get("__name__", "?")
        if home in NOT_CODE:
            return f"{home}.{'.'.join(used)}"
        if len(used) > 1:
            module = namespace[used[0]]
            home = getattr(module, "__name__", home)
            setting = ".".join(used[1:])
        else:
            setting = used[0]
        if not home.startswith(self.package):
            return f"{home}.{setting}"
        name = f"{home}.{setting}"
        self.components[name] = _digest(self.value(obj))
        return name

    @staticmethod
    def _bytecode(obj: Any) -> str:
        code = getattr(obj, "__code__", None)
        if code is None:
            return getattr(obj, "__qualname__", repr(obj))
        consts = [c for c in code.co_consts if not isinstance(c, types.CodeType)]
        return code.co_code.hex() + repr(consts) + repr(code.co_names)


def code_components(*objects: Any, package: str = PACKAGE) -> dict[str, str]:
    """Every component the objects depend on, as {qualified name: digest}; code outside
    `package` (pandas, Dagster) is named, not hashed."""
    deriver = _Deriver(package)
    for obj in objects:
        if obj is not None:
            deriver.value(obj)
    return dict(sorted(deriver.components.items()))


def cached_components(name: str, *objects: Any) -> dict[str, str]:
    """`code_components(*objects)` for the asset `name`, kept in a file per state of the
    package's source (manifest.source_key: every module, Python's and Dagster's versions), on
    which alone they depend: working them out reads the syntax of every function an asset
    reaches, which every process that loads the definitions would otherwise repeat."""
    present = [obj for obj in objects if obj is not None]
    if not all(
        isinstance(obj, types.FunctionType) and obj.__module__.startswith(PACKAGE)
        for obj in present
    ):
        # Code from outside the package (a test's), or a callable whose state _identity
        # cannot tell apart: worked out every time, never kept.
        return code_components(*objects)
    key = name + "|" + _digest("|".join(_identity(obj) for obj in present))
    kept = _kept_components()
    if key not in kept:
        kept[key] = code_components(*objects)
        _keep_components(kept)
    return dict(kept[key])


# Files of other states of the source kept beside the current one's.
_KEPT_STATES = 8
# Where a repr names an object's memory (`<function f at 0x7f…>`): different in every process.
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _identity(obj: Any) -> str:
    """What tells one function from another with the same name: its bytecode and the values
    it closes over (two models made by one factory differ only there)."""
    cells = [_ADDRESS.sub("", repr(cell.cell_contents)) for cell in obj.__closure__ or ()]
    return f"{obj.__module__}.{obj.__qualname__}:{_Deriver._bytecode(obj)}:{cells}"


@functools.cache
def _kept_components() -> dict[str, dict[str, str]]:
    try:
        return json.loads(_components_file().read_text())
    except (OSError, ValueError):
        return {}


def _keep_components(kept: dict) -> None:
    from superstore_assets.engine.files import write_atomic

    # A read-only cache folder: they are worked out in every process, as before.
    with contextlib.suppress(OSError):
        path = _components_file()
        write_atomic(path, json.dumps(kept, sort_keys=True).encode())
        # Other states of the source (edits since, other checkouts): the newest few stay.
        older = sorted(path.parent.glob("code-components-*.json"), key=os.path.getmtime)
        for stale in [p for p in older if p != path][:-_KEPT_STATES]:
            stale.unlink(missing_ok=True)


@functools.cache
def _components_file() -> Path:
    from superstore_assets.engine.manifest import source_key

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "superstore-assets" / f"code-components-{source_key()[:24]}.json"


def code_version(components: dict[str, str]) -> str:
    """One version string for a set of components."""
    return _digest(json.dumps(components, sort_keys=True))


def _setting_name(obj: Any, package: str) -> str | None:
    """Where a package module keeps `obj`: `superstore_assets.pipeline.config.MODEL_SPECS[1]`."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == package or module_name.startswith(package + ".")):
            continue
        for attribute, value in vars(module).items():
            if value is obj:
                return f"{module_name}.{attribute}"
            if type(value) in (list, tuple):  # a setting's list, not an AssetKey (a tuple)
                for index, item in enumerate(value):
                    if item is obj:
                        return f"{module_name}.{attribute}[{index}]"
    return None


def changed_modules(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """The source files whose components differ between two sets, as `models.py`, `config.py`."""
    names = {k for k in recorded.keys() | current.keys() if recorded.get(k) != current.get(k)}
    return sorted({_module_file(name) for name in names})


def _module_file(name: str) -> str:
    """`superstore_assets.assets.models.model_asset.<locals>._model` → `assets/models.py`."""
    parts = name.split(".<locals>")[0].split("[")[0].split(".")
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[:end])
        try:
            if importlib.util.find_spec(candidate) is not None:
                return "/".join(parts[1:end]) + ".py"
        except (ImportError, ValueError):
            continue
    return ".".join(parts)
