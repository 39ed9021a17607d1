"""The lazy package ``__init__``s (:mod:`ezhifu._lazy`): what type checkers see is what runs.

Each package names its API twice, by necessity: in the table :func:`~ezhifu._lazy.lazy_exports`
resolves at run time and as imports under ``if TYPE_CHECKING:`` for type checkers. These tests
read the second with ``ast`` and check it against the first, so the two lists cannot drift; and
that importing a package loads none of the modules its names come from.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ezhifu
from ezhifu._lazy import lazy_exports

SRC = Path(ezhifu.__file__).parent


def _lazy_packages() -> list[str]:
    """Every module of the tree whose source calls ``lazy_exports``, as a dotted name."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "_lazy.py" or "lazy_exports(" not in path.read_text(encoding="utf-8"):
            continue
        parts = ["ezhifu", *path.relative_to(SRC).with_suffix("").parts]
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _type_checking_names(module: str) -> dict[str, str]:
    """``{name: defining module}`` of the ``from M import N as N`` lines under ``if TYPE_CHECKING:``."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.module.startswith("ezhifu"):
                    for alias in stmt.names:
                        assert alias.asname == alias.name, f"{module}: import {alias.name} as itself"
                        names[alias.name] = stmt.module
    return names


def test_the_lazy_packages_are_found() -> None:
    packages = _lazy_packages()
    expected = {"ezhifu", "ezhifu.pki", "ezhifu.sign", "ezhifu.keystore", "ezhifu.verify", "ezhifu.cli.main"}
    assert expected <= set(packages)


@pytest.mark.parametrize("module", _lazy_packages())
def test_type_checking_imports_are_the_lazy_table(module: str) -> None:
    package = importlib.import_module(module)
    declared = _type_checking_names(module)
    own = [name for name in package.__all__ if name not in declared]
    assert set(own) <= {"__version__", "main"}, own  # names the package defines itself
    assert sorted(package.__all__) == sorted([*own, *declared])
    assert dir(package) == sorted(package.__all__)  # dir() sorts what __dir__ gives
    for name, defining in declared.items():
        assert getattr(package, name) is getattr(importlib.import_module(defining), name), name


@pytest.mark.parametrize("module", _lazy_packages())
def test_importing_a_lazy_package_loads_none_of_its_sources(module: str) -> None:
    sources = sorted(set(_type_checking_names(module).values()) - {"ezhifu.errors"})
    code = f"import json, sys, {module}\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [source for source in sources if source in set(json.loads(proc.stdout))] == []


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    namespace: dict[str, object] = {}
    public, getattr_, dir_ = lazy_exports("pkg", namespace, "json: dumps\n  loads", also=("VERSION",))
    assert public == ["VERSION", "dumps", "loads"] and dir_() == public
    assert getattr_("dumps") is json.dumps and namespace["dumps"] is json.dumps  # cached
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'nope'"):
        getattr_("nope")
    with pytest.raises(ValueError, match="'dumps' before any module"):
        lazy_exports("pkg", {}, "dumps json: loads")
