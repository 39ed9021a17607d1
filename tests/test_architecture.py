"""The layout of ``src/ezhifu`` as a test (issue 12 item 8; docs/architecture.md).

The import graph is read with :mod:`ast` (nothing is imported), then checked:

* each package imports only from the layers listed before it in :data:`LAYERS`;
* there is no import cycle between modules, counting imports inside functions
  (imports under ``if TYPE_CHECKING:`` are for the type checker only and do not count);
* every module is one of the modules :data:`LAYOUT` lists for its package;
* an import inside a function carries a ``#`` reason on its line or the line above
  (it breaks a cycle or defers a heavy optional dependency);
* no module is over 600 lines and no function over 80, except the data tables named in
  :data:`DATA_TABLES`;
* every exception class is declared in ``ezhifu.errors``.

The tests of the test at the end build small fake packages and show each check failing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "ezhifu"

#: The layers, lowest first. A module of layer N may import layers 0..N (its own included).
#: "" is the package root (``ezhifu/__init__`` and ``__main__``), the curated API on top.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "results", "_fileio", "_lazy", "_closing", "_version", "schemas"),
    ("document",),
    ("crypto",),
    ("pki",),
    ("keystore",),
    ("sign",),
    ("seal",),
    ("verify",),
    ("flow",),
    ("monitor",),
    ("client",),
    ("service",),
    ("contingency",),
    ("testing",),
    ("report",),
    ("archive",),
    ("cli",),
    ("",),
)

#: The modules each package may hold (dotted below the package; "" is its ``__init__``).
#: A new module is added here on purpose, with docs/architecture.md.
LAYOUT: dict[str, frozenset[str]] = {
    "errors": frozenset({""}),
    "results": frozenset({""}),
    "_fileio": frozenset({""}),
    "_lazy": frozenset({""}),
    "_closing": frozenset({""}),
    "_version": frozenset({""}),
    "schemas": frozenset({""}),
    "document": frozenset(
        {
            "",
            "codes",
            "envelope",
            "envelope_xsd",
            "fields",
            "grammar",
            "issues",
            "models",
            "rules",
            "positions",
            "samples",
            "validation",
            "xmlparse",
            "xsdgen",
            "build",
            "levels",
        }
    ),
    "crypto": frozenset(
        {
            "",
            "base",
            "keytypes",
            "oids",
            "der",
            "signer",
            "sm3",
            "rsa_ec",
            "sm2",
            "sm2.openssl",
            "sm2.python",
            "sm2.curve",
            "sm2.provider",
            "sm2.keys",
        }
    ),
    "pki": frozenset(
        {
            "",
            "certs",
            "keys",
            "pathcache",
            "pkcs8",
            "signer",
            "policy",
            "trust",
            "path",
            "builder",
            "revocation",
            "ocsp",
            "tsp",
        }
    ),
    "keystore": frozenset(
        {
            "",
            "base",
            "registry",
            "memory",
            "encrypted_file",
            "pkcs12",
            "pkcs12_crypto",
            "pkcs11",
            "audit",
            "audit_head",
            "audit_store",
            "audit_verify",
            "audit_use",
            "integrity",
            "secret",
            "generation",
        }
    ),
    "sign": frozenset({"", "cms", "cms_fast", "cms_verify", "voucher"}),
    "seal": frozenset(
        {
            "",
            "apply",
            "make",
            "verify",
            "verify_vendor",
            "placement",
            "picture",
            "checks",
            "detect",
            "model",
            "vendor",
            "asn1",
            "asn1.v1",
            "asn1.v4",
            "asn1.v5",
            "asn1.vendor",
            "containers",
            "containers.base",
            "containers.v1",
            "containers.v4",
            "containers.v5",
            "containers.vendor",
            "containers.detect",
            "containers.fast",
        }
    ),
    "verify": frozenset(
        {"", "steps", "envelope", "diagnose", "pool", "cluster", "stream", "describe", "parties"}
    ),
    "flow": frozenset(
        {
            "",
            "library",
            "inbox",
            "outbox",
            "safebox",
            "status",
            "store",
            "store_postgres",
            "store_outbox",
            "transport",
            "receipts",
            "reconciliation",
            "monitoring",
            "hooks",
        }
    ),
    "monitor": frozenset(
        {
            "",
            "rules",
            "schema",
            "expr",
            "engine",
            "windows",
            "alerts",
            "caselog",
            "pack",
            "hook",
            "context",
            "compiled",
        }
    ),
    "client": frozenset({"", "operations", "soapenc", "soap_client", "stamp_request", "transport"}),
    "service": frozenset(
        {"", "app", "calls", "config", "jsonapi", "operations", "oplog", "runtime", "server", "wsdl"}
    ),
    "contingency": frozenset(
        {"", "ladder", "resync", "records", "catchup", "modes", "offline", "register", "drill"}
    ),
    "testing": frozenset(
        {"", "pki", "pictures", "pytest_plugin", "partner", "monitor", "network", "service_setup"}
    ),
    "report": frozenset(
        {"", "html", "html_page", "form", "pdf", "amounts", "identifiers", "localtime", "wording", "pictures"}
    ),
    "archive": frozenset(
        {
            "",
            "dat95",
            "xsdgen",
            "schema",
            "metadata",
            "metadata_xml",
            "events",
            "gbt7408",
            "manifest",
            "container",
            "reader",
            "registry",
            "package",
            "evidence",
            "rendition",
            "check",
            "check_items",
            "check_content",
            "revalidate",
        }
    ),
    "cli": frozenset(
        {
            "",
            "main",
            "group",
            "common",
            "demo",
            "demo_cmd",
            "inspect_cmd",
            "keyopts",
            "keystore_cmd",
            "seal_cmd",
            "sign_cmd",
            "validate_cmd",
            "verify_cmd",
            "view_cmd",
            "serve_cmd",
            "archive_cmd",
            "monitor_cmd",
            "contingency_cmd",
            "audit_cmd",
            "build_cmd",
            "checks",
            "exitcodes",
            "i18n",
            "options",
            "output",
        }
    ),
    "": frozenset({"", "__main__"}),
}

#: Modules that are pure data tables and may exceed the size limits (with the reason).
DATA_TABLES: dict[str, str] = {
    # Declarations only: issue 12 item 6 puts every exception class of the tree in one module.
    "errors": "the exception tree (class declarations and their docstrings)",
}

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted below ezhifu ("" = ezhifu/__init__)
    target: str  # imported module, dotted below ezhifu
    line: int
    in_function: bool
    type_checking: bool


@dataclass
class Module:
    name: str  # dotted below ezhifu: "seal.asn1.v4", "" for the package root
    path: Path
    tree: ast.Module
    lines: list[str] = field(default_factory=list)


def package_of(module: str) -> str:
    return module.split(".", 1)[0] if module not in ("", "__main__") else ""


def local_name(module: str) -> str:
    """The module's name inside its package ("" for a package's ``__init__``)."""
    if module in ("", "__main__"):
        return module
    return module.split(".", 1)[1] if "." in module else ""


def layer_of(package: str) -> int | None:
    for index, names in enumerate(LAYERS):
        if package in names:
            return index
    return None


def _rel(module: Module) -> str:
    """The module's file below the package root, as messages name it."""
    parts = module.path.parts
    return "/".join(parts[parts.index("ezhifu") + 1 :]) if "ezhifu" in parts else module.path.name


def load_modules(root: Path) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        text = path.read_text(encoding="utf-8")
        modules[name] = Module(name, path, ast.parse(text, str(path)), text.splitlines())
    return modules


def _resolve(module: Module, node: ast.ImportFrom | ast.Import, root_pkg: str, known: set[str]) -> set[str]:
    """The modules below the root package that ``node`` imports (dotted, "" = the root)."""
    if isinstance(node, ast.Import):
        return {
            alias.name[len(root_pkg) + 1 :] if alias.name != root_pkg else ""
            for alias in node.names
            if alias.name == root_pkg or alias.name.startswith(root_pkg + ".")
        }
    if node.level:
        base = module.name.split(".") if module.name else []
        if module.path.name != "__init__.py":
            base = base[:-1]
        drop = node.level - 1
        base = base[: len(base) - drop] if drop <= len(base) else []
        modname = ".".join(p for p in (".".join(base), node.module or "") if p)
    elif node.module == root_pkg or (node.module or "").startswith(root_pkg + "."):
        modname = node.module[len(root_pkg) + 1 :] if node.module != root_pkg else ""  # type: ignore[index]
    else:
        return set()
    targets = set()
    for alias in node.names:
        # ``from ezhifu.seal import asn1`` imports the submodule when there is one.
        sub = f"{modname}.{alias.name}" if modname else alias.name
        targets.add(sub if sub in known else modname)
    return targets


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: Module, known: Iterable[str], root_pkg: str = "ezhifu") -> list[Import]:
    known_set = set(known)
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            func = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            tc = type_checking or (isinstance(child, ast.If) and _is_type_checking(child.test))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                targets = _resolve(module, child, root_pkg, known_set) & known_set
                for target in sorted(targets):
                    if target != module.name:
                        found.append(Import(module.name, target, child.lineno, in_function, type_checking))
            visit(child, func, tc)

    visit(module.tree, False, False)
    return found


def layer_violations(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in modules.values():
        src_layer = layer_of(package_of(module.name))
        for imp in imports_of(module, modules):
            dst_layer = layer_of(package_of(imp.target))
            if src_layer is None or dst_layer is None:
                continue  # reported by layout_violations
            if dst_layer > src_layer:
                problems.append(
                    f"{_rel(module)}: layer {src_layer} imports "
                    f"ezhifu{'.' if imp.target else ''}{imp.target} (layer {dst_layer}) above it"
                )
    return problems


def layout_violations(modules: dict[str, Module]) -> list[str]:
    problems = []
    for name, module in modules.items():
        package = package_of(name)
        if layer_of(package) is None:
            problems.append(f"{_rel(module)}: package {package!r} is not in LAYERS")
        elif local_name(name) not in LAYOUT.get(package, frozenset()):
            problems.append(f"{_rel(module)}: module ezhifu.{name} is not in the LAYOUT of {package!r}")
    return problems


def find_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module in modules.values():
        for imp in imports_of(module, modules):
            if not imp.type_checking:
                graph[module.name].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def strongconnect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            strongconnect(name)
    return cycles


def _import_groups(body: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    """Runs of consecutive import statements in one block (one reason covers a run)."""
    run: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            run.append(stmt)
            continue
        if run:
            yield run
        run = []
    if run:
        yield run


def unexplained_function_imports(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in modules.values():
        for node in ast.walk(module.tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for block in ast.walk(node):
                for name in ("body", "orelse", "finalbody"):
                    stmts = getattr(block, name, None)
                    if not isinstance(stmts, list):
                        continue
                    for run in _import_groups(stmts):
                        first, last = run[0].lineno, run[-1].end_lineno or run[-1].lineno
                        text = module.lines[first - 2 : last]  # the line above and the run
                        if not any("#" in line for line in text):
                            problems.append(f"{_rel(module)}: import inside {node.name}() has no '# reason'")
    return sorted(set(problems))


def size_violations(modules: dict[str, Module]) -> list[str]:
    problems = []
    for name, module in modules.items():
        if name in DATA_TABLES:
            continue
        if len(module.lines) > MAX_MODULE_LINES:
            problems.append(f"{_rel(module)}: module over {MAX_MODULE_LINES} lines")
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{_rel(module)}: {node.name}() over {MAX_FUNCTION_LINES} lines")
    return problems


def _is_exception_base(base: ast.expr, exception_names: set[str]) -> bool:
    name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
    return (
        name in exception_names
        or name.endswith(("Error", "Exception"))
        or name in {"InvalidSignature", "Exception", "BaseException"}
    )


def exceptions_outside_errors(modules: dict[str, Module]) -> list[str]:
    problems = []
    for name, module in modules.items():
        if name == "errors":
            continue
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = node.bases
            if any(getattr(b, "id", getattr(b, "attr", "")).endswith("Warning") for b in bases):
                continue  # warnings are categories, not failures
            if any(_is_exception_base(b, set()) for b in bases):
                problems.append(f"{_rel(module)}: exception {node.name} outside errors.py")
    return problems


# --- the checks on ezhifu itself -------------------------------------------------------------

#: Problems present when this test landed, being removed by the issue 12 work. Nothing may be
#: added here; an entry is deleted when its problem is fixed. docs/architecture.md lists any
#: entry that stays, with the reason.
BASELINE: frozenset[str] = frozenset()


def new_problems(problems: Iterable[str]) -> list[str]:
    return sorted(set(problems) - BASELINE)


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return load_modules(SRC)


def test_layers_import_downwards_only(modules: dict[str, Module]) -> None:
    assert new_problems(layer_violations(modules)) == []


def test_every_module_is_in_the_layout(modules: dict[str, Module]) -> None:
    assert new_problems(layout_violations(modules)) == []


def test_no_import_cycles(modules: dict[str, Module]) -> None:
    assert new_problems(" <-> ".join(c) for c in find_cycles(modules)) == []


def test_function_level_imports_say_why(modules: dict[str, Module]) -> None:
    assert new_problems(unexplained_function_imports(modules)) == []


def test_module_and_function_sizes(modules: dict[str, Module]) -> None:
    assert new_problems(size_violations(modules)) == []


def test_exceptions_live_in_errors(modules: dict[str, Module]) -> None:
    assert new_problems(exceptions_outside_errors(modules)) == []


def test_invalid_signature_is_also_cryptographys() -> None:
    from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature

    from ezhifu.errors import EzhifuError, InvalidSignature

    assert issubclass(InvalidSignature, EzhifuError)
    assert issubclass(InvalidSignature, CryptographyInvalidSignature)


def test_all_names_import_from_ezhifu() -> None:
    import ezhifu

    missing = [name for name in ezhifu.__all__ if not hasattr(ezhifu, name)]
    assert missing == []


# --- tests of the test: each check fails on a fake package that breaks it ----------------------


def _fake(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    root = tmp_path / "ezhifu"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for directory in [p for p in root.rglob("*") if p.is_dir()] + [root]:
        (directory / "__init__.py").touch()
    return load_modules(root)


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    mods = _fake(
        tmp_path,
        {"crypto/base.py": "from ezhifu.verify.envelope import x\n", "verify/envelope.py": "x = 1\n"},
    )
    problems = layer_violations(mods)
    assert len(problems) == 1 and "imports ezhifu.verify.envelope" in problems[0]


def test_a_relative_upward_import_is_caught(tmp_path: Path) -> None:
    mods = _fake(tmp_path, {"document/models.py": "from ..seal import make\n", "seal/make.py": ""})
    assert any("ezhifu.seal.make" in p for p in layer_violations(mods))


def test_a_downward_import_is_fine(tmp_path: Path) -> None:
    mods = _fake(
        tmp_path, {"verify/envelope.py": "from ezhifu.crypto.base import x\n", "crypto/base.py": "x = 1\n"}
    )
    assert layer_violations(mods) == []


def test_a_cycle_is_caught_even_inside_functions(tmp_path: Path) -> None:
    mods = _fake(
        tmp_path,
        {
            "crypto/base.py": "from ezhifu.crypto import signer\n",
            "crypto/signer.py": "def f():\n    # why\n    from ezhifu.crypto import base\n",
        },
    )
    assert find_cycles(mods) == [["crypto.base", "crypto.signer"]]


def test_type_checking_imports_make_no_cycle(tmp_path: Path) -> None:
    mods = _fake(
        tmp_path,
        {
            "crypto/base.py": "from ezhifu.crypto import signer\n",
            "crypto/signer.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ezhifu.crypto import base\n",
        },
    )
    assert find_cycles(mods) == []


def test_a_module_outside_the_layout_is_caught(tmp_path: Path) -> None:
    mods = _fake(tmp_path, {"crypto/helpers.py": "", "gadgets/thing.py": ""})
    problems = layout_violations(mods)
    assert any("ezhifu.crypto.helpers" in p for p in problems)
    assert any("package 'gadgets'" in p for p in problems)


def test_an_unexplained_function_import_is_caught(tmp_path: Path) -> None:
    mods = _fake(
        tmp_path,
        {
            "crypto/base.py": "def f():\n    import json\n    return json\n",
            "crypto/sm3.py": "def f():\n    import json  # defer\n    return json\n",
        },
    )
    problems = unexplained_function_imports(mods)
    assert len(problems) == 1 and "crypto/base.py: import inside f()" in problems[0]


def test_sizes_are_caught(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(90))
    mods = _fake(tmp_path, {"crypto/base.py": "def long():\n" + body + "\n" * 600})
    problems = size_violations(mods)
    assert "crypto/base.py: module over 600 lines" in problems
    assert "crypto/base.py: long() over 80 lines" in problems


def test_an_exception_outside_errors_is_caught(tmp_path: Path) -> None:
    mods = _fake(
        tmp_path,
        {"crypto/base.py": "class Oops(ValueError):\n    pass\nclass Careful(UserWarning):\n    pass\n"},
    )
    problems = exceptions_outside_errors(mods)
    assert len(problems) == 1 and "Oops" in problems[0]
