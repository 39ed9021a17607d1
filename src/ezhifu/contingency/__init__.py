"""ezhifu.contingency: the contingency ladder (应急预案) around the voucher libraries.

* :mod:`~ezhifu.contingency.resync`: status re-sync after an outage (``batchQueryAllVoucherStatus``
  over what is pending, classified);
* :mod:`~ezhifu.contingency.offline`: offline exchange packages (signed manifest with SM3 and
  SHA-256 digests), import with de-duplication, signed acknowledgements;
* :mod:`~ezhifu.contingency.register`: the outage register, emergency (paper) payments and their
  back-filled electronic vouchers, linked both ways, on the audit chain;
* :mod:`~ezhifu.contingency.drill`: drill mode, the ladder run end to end with a report.

docs/contingency.md is the runbook.
"""

from __future__ import annotations

from ezhifu.contingency.drill import DrillReport, DrillStep, run_drill
from ezhifu.contingency.offline import (
    Acknowledgement,
    ExportResult,
    ImportResult,
    export_offline,
    import_offline,
    read_acknowledgement,
)
from ezhifu.contingency.register import (
    BACKFILL_MARK,
    ContingencyRegister,
    EmergencyPayment,
    Outage,
    backfill_voucher,
)
from ezhifu.contingency.resync import ResyncItem, ResyncReport, StatusSource, resync

__all__ = [
    "BACKFILL_MARK",
    "Acknowledgement",
    "ContingencyRegister",
    "DrillReport",
    "DrillStep",
    "EmergencyPayment",
    "ExportResult",
    "ImportResult",
    "Outage",
    "ResyncItem",
    "ResyncReport",
    "StatusSource",
    "backfill_voucher",
    "export_offline",
    "import_offline",
    "read_acknowledgement",
    "resync",
    "run_drill",
]
