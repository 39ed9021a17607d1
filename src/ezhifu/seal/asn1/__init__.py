"""ASN.1 declarations of the seal formats, named as in the standards.

* :mod:`~ezhifu.seal.asn1.v1`: GM/T 0031-2014;
* :mod:`~ezhifu.seal.asn1.v4`: GB/T 38540-2020 (keeps the v1 structures it does not change);
* :mod:`~ezhifu.seal.asn1.v5`: GM/T 0031-2025 (read only);
* :mod:`~ezhifu.seal.asn1.vendor`: the 2024 vendor stamp (spec.md §5.4; descriptive names).

A later version states only what it changes: :func:`derived_fields` copies an earlier version's
field list with the changed specs swapped in.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import core

__all__ = ["Fields", "derived_fields"]

#: An asn1crypto ``_fields`` list: ``(name, spec, options)`` per field, in the standard's order.
Fields = list[tuple[str, type[core.Asn1Value], dict[str, Any]]]


def derived_fields(earlier: type[core.Sequence], replace: dict[str, type[core.Asn1Value]]) -> Fields:
    """The ``_fields`` of ``earlier`` with the specs named in ``replace`` swapped.

    The declaring classes stay fresh ``core.Sequence`` subclasses, not subclasses of ``earlier``:
    asn1crypto caches its field map on the class, and a shared cache would decode the later
    version with the earlier layout.
    """
    fields: Fields = earlier._fields
    return [(name, replace.get(name, spec), dict(options)) for name, spec, options in fields]
