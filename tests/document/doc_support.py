"""Shared constants of the document-layer tests (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path

from ezhifu.document.fields import SCHEMA_VERSIONS, known_vt_codes, specs

HERE = Path(__file__).parent
INVALID = HERE / "invalid"
REPO = HERE.parent.parent

#: (schema version, VtCode) for every modelled type
ALL_TYPES = [(version, vt) for version in SCHEMA_VERSIONS for vt in sorted(specs(version))]
VT_CODES = list(known_vt_codes())
