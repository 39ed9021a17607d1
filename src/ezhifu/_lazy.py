"""One lazy-export helper for the packages whose ``__init__`` names its API without importing it.

A package gives a table of its names by defining module and gets back its ``__all__``, the
module-level ``__getattr__`` and ``__dir__`` (PEP 562): the defining module is imported on first
use of a name and the value cached in the package's globals, so importing the package stays cheap
(``ezhifu --help`` loads no crypto or document code, docs/performance.md "The command line") and
the import graph stays one-way (architecture, layer 0). The same names are imported under
``if TYPE_CHECKING:`` in the package, for type checkers; tests/test_lazy_exports.py checks that
the two lists agree.
"""

from __future__ import annotations

import importlib

#: ``typing.TYPE_CHECKING`` without importing :mod:`typing` on the start-up path: type checkers
#: (mypy, ruff) take any ``if TYPE_CHECKING:`` block as reached.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["TYPE_CHECKING", "lazy_exports"]


def lazy_exports(
    package: str,
    namespace: dict[str, Any],
    exports: str,
    *,
    also: Sequence[str] = (),
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for *package* (its ``__name__``).

    *namespace* is the package's ``globals()`` (a resolved value is cached there). *exports* is
    the table: each defining module followed by a colon, then the names it exports, separated by
    spaces or new lines (``"ezhifu.pki.trust: TrustStore"``). *also* names the package defines
    itself (``__version__``), listed first in ``__all__``.
    """
    where: dict[str, str] = {}
    module = ""
    for word in exports.split():
        if word.endswith(":"):
            module = word[:-1]
        elif not module:
            raise ValueError(f"{package}: exported name {word!r} before any module")
        else:
            where[word] = module
    public = [*also, *sorted(where)]

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(public)

    return public, __getattr__, __dir__
