"""Code lists as data, never as enums.

Code values differ between regions and years (spec.md §4.9: ``PayTypeCode`` is ``11``/``12`` in
the 2014-era ITFE code, ``1`` in the 2024 Hubei messages, ``001001`` in Tianjin), and the
interface's own 代码表 is not public. ``data/codes.json`` records the values actually observed,
each with its source; a deployment loads its own list with :func:`load_code_lists`. Validation
never refuses a value for being absent from a list: the lists only label values for display.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from ezhifu.errors import ConfigurationError

__all__ = ["CodeValue", "code_list", "code_lists", "label_of", "load_code_lists"]


@dataclass(frozen=True, slots=True)
class CodeValue:
    """One observed value of a code element, its name and the source that shows it."""

    code: str
    name: str
    source: str


def load_code_lists(data: bytes | str) -> Mapping[str, tuple[CodeValue, ...]]:
    """Parse code lists in the JSON shape of ``data/codes.json``: ``{element: [{code, name,
    source}, ...]}`` (keys starting with ``_`` are comments)."""
    try:
        raw: Any = json.loads(data)
        lists = {
            element: tuple(
                CodeValue(str(v["code"]), str(v["name"]), str(v.get("source", ""))) for v in values
            )
            for element, values in raw.items()
            if not element.startswith("_")
        }
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigurationError(f"code lists are not in the expected JSON shape: {exc}") from exc
    return MappingProxyType(lists)


@lru_cache(maxsize=1)
def code_lists() -> Mapping[str, tuple[CodeValue, ...]]:
    """The bundled observed code lists (``ezhifu/document/data/codes.json``)."""
    text = resources.files("ezhifu.document").joinpath("data", "codes.json").read_text(encoding="utf-8")
    return load_code_lists(text)


def code_list(element: str) -> tuple[CodeValue, ...]:
    """Observed values of ``element`` (empty when none is recorded)."""
    return code_lists().get(element, ())


def label_of(element: str, code: str) -> str | None:
    """The name(s) observed for ``code`` in ``element``, joined with " / ", or ``None``."""
    names = [v.name for v in code_list(element) if v.code == code and v.name]
    return " / ".join(dict.fromkeys(names)) or None
