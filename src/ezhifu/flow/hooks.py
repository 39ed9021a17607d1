"""Extension point of the voucher library: hooks run before signing and on receipt.

A :class:`VoucherHook` is any callable ``hook(stage, key, body)`` given to
:class:`~ezhifu.flow.library.VoucherLibrary` as ``hooks=[...]``. The library calls it

* with ``stage="pre_sign"`` when a draft is about to be signed and sent (:meth:`send`), before
  any signature is made; raising :class:`~ezhifu.errors.HookRefused` stops the send (the draft
  stays a draft, the exception reaches the caller);
* with ``stage="on_receipt"`` for every voucher or receipt body that passed verification and
  validation, before it is accepted; raising :class:`~ezhifu.errors.HookRefused` rejects that
  body (rejection log, the sender told 接收失败) with the hook's message as the reason.

Fund monitoring plugs in here (:class:`ezhifu.monitor.FlowMonitor`); other uses are an audit
copy or a custom business check. Hooks must not modify the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from ezhifu.document.envelope import VoucherBody
from ezhifu.flow.status import RecordKey

__all__ = ["HookStage", "VoucherHook", "run_hooks"]

HookStage = Literal["pre_sign", "on_receipt"]


class VoucherHook(Protocol):
    def __call__(self, stage: HookStage, key: RecordKey, body: VoucherBody) -> None: ...


def run_hooks(hooks: Sequence[VoucherHook], stage: HookStage, key: RecordKey, body: VoucherBody) -> None:
    """Call each hook in order; a :class:`~ezhifu.errors.HookRefused` stops at the first."""
    for hook in hooks:
        hook(stage, key, body)
