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

from ezhifu._lazy import lazy_exports

#: The public names by the module of this package that defines them.
_MODULES: dict[str, tuple[str, ...]] = {
    "package": ("create_package", "write_package", "CreatedPackage"),
    "registry": ("Registry", "Booking"),
    "check": ("check_package",),
    "check_items": ("CheckReport", "CheckItem"),
    "revalidate": ("revalidate_package", "renew_package", "Revalidation"),
    "reader": ("ZipLimits",),
    "manifest": ("canonical_json",),
}
_EXPORTS: dict[str, str] = {
    name: f"ezhifu.archive.{module}" for module, names in _MODULES.items() for name in names
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("ezhifu.archive", _EXPORTS, globals(), __all__)
