"""ezhifu.verify: the one verification spine for envelopes, bodies, signatures and seals.

* :mod:`~ezhifu.verify.envelope`: :func:`verify_envelope` and :func:`verify_body`;
* :mod:`~ezhifu.verify.steps`: the spine (the named steps, their phases);
* :mod:`~ezhifu.verify.diagnose`: every diagnosis of a failed signature, under one budget;
* :mod:`~ezhifu.verify.describe`: :func:`describe_envelope`, each body and mark with its result;
* :mod:`~ezhifu.verify.stream`: the streaming reader and :func:`verify_stream` for large batches.

Names are loaded on first use so that importing the package stays cheap.
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.verify.describe: BodyView describe_envelope
    ezhifu.verify.envelope: Positions signer_info_of verify_body verify_envelope
    ezhifu.verify.steps: DiagnosisBudget
    ezhifu.verify.stream: BatchSummary envelope_files iter_bodies summarize verify_stream
"""

if TYPE_CHECKING:
    from ezhifu.verify.describe import BodyView as BodyView
    from ezhifu.verify.describe import describe_envelope as describe_envelope
    from ezhifu.verify.envelope import Positions as Positions
    from ezhifu.verify.envelope import signer_info_of as signer_info_of
    from ezhifu.verify.envelope import verify_body as verify_body
    from ezhifu.verify.envelope import verify_envelope as verify_envelope
    from ezhifu.verify.steps import DiagnosisBudget as DiagnosisBudget
    from ezhifu.verify.stream import BatchSummary as BatchSummary
    from ezhifu.verify.stream import envelope_files as envelope_files
    from ezhifu.verify.stream import iter_bodies as iter_bodies
    from ezhifu.verify.stream import summarize as summarize
    from ezhifu.verify.stream import verify_stream as verify_stream

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
