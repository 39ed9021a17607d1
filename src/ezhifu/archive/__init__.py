"""ezhifu.archive: DA/T 95—2022 archive packages of vouchers, their 四性 check and re-validation.

* :mod:`~ezhifu.archive.package`: :func:`create_package` / :func:`write_package` (one zip per
  envelope and its 回单: verbatim envelopes, B.1/D.1/E.1 metadata, evidence, renditions and a
  signed canonical manifest);
* :mod:`~ezhifu.archive.registry`: :class:`Registry`, the booking registry refusing a second
  package for the same voucher;
* :mod:`~ezhifu.archive.check`: :func:`check_package`, the 四性 items;
* :mod:`~ezhifu.archive.revalidate`: :func:`revalidate_package` (as of the evidence time and
  today) and :func:`renew_package` (a fresh signature, nothing rewritten).

See docs/archive.md. Names are loaded on first use so that importing the package stays cheap.
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.archive.check: check_package
    ezhifu.archive.check_items: CheckItem CheckReport
    ezhifu.archive.manifest: canonical_json
    ezhifu.archive.package: CreatedPackage create_package write_package
    ezhifu.archive.reader: ZipLimits
    ezhifu.archive.registry: Booking Registry
    ezhifu.archive.revalidate: Revalidation renew_package revalidate_package
"""

if TYPE_CHECKING:
    from ezhifu.archive.check import check_package as check_package
    from ezhifu.archive.check_items import CheckItem as CheckItem
    from ezhifu.archive.check_items import CheckReport as CheckReport
    from ezhifu.archive.manifest import canonical_json as canonical_json
    from ezhifu.archive.package import CreatedPackage as CreatedPackage
    from ezhifu.archive.package import create_package as create_package
    from ezhifu.archive.package import write_package as write_package
    from ezhifu.archive.reader import ZipLimits as ZipLimits
    from ezhifu.archive.registry import Booking as Booking
    from ezhifu.archive.registry import Registry as Registry
    from ezhifu.archive.revalidate import Revalidation as Revalidation
    from ezhifu.archive.revalidate import renew_package as renew_package
    from ezhifu.archive.revalidate import revalidate_package as revalidate_package

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
