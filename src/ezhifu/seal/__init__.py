"""Electronic seals (电子印章) and seal signatures (电子签章).

Standards: GM/T 0031-2014 (v1), GB/T 38540-2020 (v4), GM/T 0031-2025 (v5, read only), and the
vendor stamp of 2024 treasury messages (spec.md §5.4). Modules:

* :mod:`~ezhifu.seal.asn1.v1`, :mod:`~ezhifu.seal.asn1.v4`, :mod:`~ezhifu.seal.asn1.v5`: the ASN.1;
* :mod:`~ezhifu.seal.detect`: which structure and version a blob is;
* :mod:`~ezhifu.seal.model`: frozen views keeping the raw bytes that signatures cover;
* :mod:`~ezhifu.seal.make`: making a seal (制章); :mod:`~ezhifu.seal.apply`: applying it (签章)
  to a voucher at a stamp position;
* :mod:`~ezhifu.seal.verify`: the standards' verification steps, ``verify_stamp`` for vouchers;
* :mod:`~ezhifu.seal.vendor`: the vendor stamp; :mod:`~ezhifu.seal.picture`: seal pictures.

Seals made or applied with software keys are for testing and development only and are not
legally effective.
"""

from __future__ import annotations

__all__: list[str] = []
