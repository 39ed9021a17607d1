"""One lazy-export helper for the packages whose ``__init__`` names its API without importing it.

A package lists ``{public name: defining module}`` and gets back the module-level
``__getattr__`` and ``__dir__`` (PEP 562): the defining module is imported on first use of
a name and the value cached in the package's globals, so ``import ezhifu`` stays cheap and
the import graph stays one-way (architecture, layer 0).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    namespace: dict[str, Any],
    public: Sequence[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for *package* resolving names through *exports*.

    *namespace* is the package's ``globals()`` (a resolved value is cached there);
    *public* is its ``__all__``, what ``dir()`` shows.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__
