"""The package's conventions, enforced: layout, unique names, one way to validate and seed."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import pytest

import mlsys_kit

PACKAGE = Path(mlsys_kit.__file__).parent

#: The notebook-facing core at the top of the package; everything else is a subpackage.
CORE = {
    "claims",
    "datasets",
    "exercises",
    "notebook",
    "params",
    "results",
    "stats",
    "timing",
}
#: One subpackage per part of the book, and the command's machinery.
SUBPACKAGES = {
    "kit",
    "deployment",
    "sim",
    "design",
    "data_engineering",
    "training_data",
    "features",
    "modeling",
    "monitoring",
    "continual",
    "responsible",
    "infrastructure",
}


def all_modules() -> list[str]:
    found = ["mlsys_kit"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="mlsys_kit."):
        found.append(info.name)
    return sorted(found)


def module_path(name: str) -> Path:
    module = importlib.import_module(name)
    return Path(module.__file__)


def public_names(name: str) -> list[str]:
    module = importlib.import_module(name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n in vars(module) if not n.startswith("_")]


def test_top_level_is_the_core_and_the_subpackages():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert modules == CORE
    assert packages == SUBPACKAGES


@pytest.mark.parametrize("name", sorted(SUBPACKAGES))
def test_every_subpackage_maps_its_modules_to_the_book(name):
    package = importlib.import_module(f"mlsys_kit.{name}")
    doc = package.__doc__ or ""
    modules = {p.stem for p in (PACKAGE / name).glob("*.py")} - {"__init__"}
    missing = sorted(m for m in modules if f"``{m}``" not in doc and not m.startswith("_"))
    assert not missing, f"mlsys_kit.{name}'s docstring does not map {missing} to the book"


def test_public_names_are_unique_across_the_package():
    """One idea, one name: a public name is defined in one module only (re-exports aside)."""
    homes = defaultdict(set)
    for name in all_modules():
        module = importlib.import_module(name)
        for public in public_names(name):
            obj = getattr(module, public, None)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                homes[public].add(obj.__module__)
            elif not inspect.ismodule(obj):
                homes[public].add(id(obj))  # a constant: re-exported means the same object
    clashes = {public: sorted(map(str, where)) for public, where in homes.items() if len(where) > 1}
    assert not clashes, f"public names defined in several modules: {clashes}"


_OWN_CHECKER = re.compile(r"^_(check|validate|require|ensure|assert)\w*$")
_CHOICE_WORDING = re.compile(r"choose one of|must be one of|should be one of", re.IGNORECASE)


@pytest.mark.parametrize("name", [m for m in all_modules() if m != "mlsys_kit.params"])
def test_modules_validate_with_params_only(name):
    """No module defines its own argument checkers or its own "choose one of" wording."""
    tree = ast.parse(module_path(name).read_text(encoding="utf-8"))
    checkers = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _OWN_CHECKER.match(node.name)
    ]
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    wordings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _CHOICE_WORDING.search(node.value)
    ]
    assert not checkers, f"{name} defines its own checkers {checkers}: use mlsys_kit.params"
    assert not wordings, f"{name} words its own choice errors {wordings}: use check_choice"


def _public_callables():
    for name in all_modules():
        module = importlib.import_module(name)
        for public in public_names(name):
            obj = getattr(module, public, None)
            if getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj):
                yield f"{name}.{public}", obj
            elif inspect.isclass(obj):
                yield f"{name}.{public}", obj.__init__


@pytest.mark.parametrize(
    ("qualname", "function"),
    list(_public_callables()),
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_random_functions_take_a_reproducible_seed(qualname, function):
    """Randomness comes in as ``seed`` (or ``random_state`` for scikit-learn), never None."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return
    for pname in ("seed", "random_state"):
        if pname in parameters:
            assert parameters[pname].default is not None, (
                f"{qualname}({pname}=None) is not reproducible: default to 0"
            )
    assert "rng" not in parameters, f"{qualname} takes 'rng': name it 'seed' (int or Generator)"
