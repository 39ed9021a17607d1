"""ezhifu.verify: the one verification spine for envelopes, bodies, signatures and seals.

* :mod:`~ezhifu.verify.envelope`: :func:`verify_envelope` and :func:`verify_body`;
* :mod:`~ezhifu.verify.steps`: the spine (the named steps, their phases);
* :mod:`~ezhifu.verify.diagnose`: every diagnosis of a failed signature, under one budget;
* :mod:`~ezhifu.verify.describe`: :func:`describe_envelope`, each body and mark with its result;
* :mod:`~ezhifu.verify.stream`: the streaming reader and :func:`verify_stream` for large batches.

Names are loaded on first use so that importing the package stays cheap.
"""

from __future__ import annotations

from ezhifu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "verify_envelope": "ezhifu.verify.envelope",
    "verify_body": "ezhifu.verify.envelope",
    "Positions": "ezhifu.verify.envelope",
    "signer_info_of": "ezhifu.verify.envelope",
    "iter_bodies": "ezhifu.verify.stream",
    "verify_stream": "ezhifu.verify.stream",
    "BatchSummary": "ezhifu.verify.stream",
    "summarize": "ezhifu.verify.stream",
    "envelope_files": "ezhifu.verify.stream",
    "describe_envelope": "ezhifu.verify.describe",
    "BodyView": "ezhifu.verify.describe",
    "DiagnosisBudget": "ezhifu.verify.diagnose",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("ezhifu.verify", _EXPORTS, globals(), __all__)
