"""ASN.1 declarations of the seal formats, named as in the standards.

* :mod:`~ezhifu.seal.asn1.v1`: GM/T 0031-2014;
* :mod:`~ezhifu.seal.asn1.v4`: GB/T 38540-2020;
* :mod:`~ezhifu.seal.asn1.v5`: GM/T 0031-2025 (read only);
* :mod:`~ezhifu.seal.asn1.vendor`: the 2024 vendor stamp (spec.md §5.4; descriptive names).
"""

from __future__ import annotations

__all__: list[str] = []
