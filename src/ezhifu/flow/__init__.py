"""ezhifu.flow: the exchange between 财政, 人民银行 and 代理银行 (spec.md §5.6, §6, §8).

* :mod:`~ezhifu.flow.status`: the 凭证库 status codes −1 … 14 and the life-cycle state machine;
* :mod:`~ezhifu.flow.library`: :class:`~ezhifu.flow.library.VoucherLibrary`, one party's
  电子凭证库 with the §6 operations, verification on arrival and the rejection log;
* :mod:`~ezhifu.flow.receipts`: 回单 built from a received voucher and bound to it;
* :mod:`~ezhifu.flow.store`: the store interface and the SQLite store;
* :mod:`~ezhifu.flow.transport`: in-memory and drop-folder transports, at-least-once;
* :mod:`~ezhifu.flow.reconciliation`: 3507/3502 statements, 2507/5507 answers, matching;
* :mod:`~ezhifu.flow.monitoring`: fund monitoring (资金监控) rules.

Submodules are imported on demand (``from ezhifu.flow.library import VoucherLibrary``) so that
importing one part does not load the verifier and the validator. See docs/flow.md.
"""

from __future__ import annotations

__all__: list[str] = []
