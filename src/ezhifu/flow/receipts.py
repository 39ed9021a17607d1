"""Receipts (回单): built from a received voucher, and bound to it when checked.

spec.md §5.6 step 3 (S1/S4 ``VoucherUtil.getVoucherStampXML``): the receiver processes the
voucher, fills the X-fields (spec.md §4.1: "X-prefixed fields are filled by the receiver in the
回单"; which fields are X-fields comes from the field data, :mod:`ezhifu.document.fields`), sets
``VoucherFlag=1`` and ``Attach=SUCCESS``, re-encodes the voucher with its own Base64 and applies
its own signature or seal.

The sender's signatures cover the *original* Base64 text (spec.md §5.3), which the receipt no
longer contains.  ezhifu keeps them checkable without changing the envelope format: the
receipt body carries only the new text and the receiver's signatures and seals, and the
original signed body is checked next to it:

* the original sender has its own copy in its library (the record it sent);
* any other party (a copy recipient, e.g. 财政 for a 2301 receipt sent with
  ``sendVoucherFullSigns``) receives the original signed envelope as an attachment of the same
  transport message;
* :func:`receipt_problems` then binds the two: same identifiers, same header and detail rows,
  differing only in X-fields.  With both envelopes' signatures valid, this proves that the
  receiver answered exactly the voucher the sender signed.

See docs/flow.md, "Receipts and the original signatures".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ezhifu.document.envelope import VoucherBody
from ezhifu.document.fields import spec_for
from ezhifu.document.models import FieldValue, Voucher
from ezhifu.errors import InvalidInput

__all__ = ["build_receipt", "is_x_field", "receipt_problems"]


def is_x_field(vt_code: str, name: str, *, detail: bool = False) -> bool:
    """Whether ``name`` is filled by the receiver in the 回单 of ``vt_code``.

    Uses the X-field flag of the field data; for a VtCode that is not modelled, the naming
    rule of spec.md §4.1 (``X`` followed by an upper-case letter).
    """
    spec = spec_for(vt_code)
    if spec is not None:
        definition = spec.detail_field(name) if detail else spec.header_field(name)
        if definition is not None:
            return definition.x_field
        return False
    return name[:1] == "X" and name[1:2].isupper()


def build_receipt(
    original: VoucherBody,
    *,
    fields: Mapping[str, FieldValue],
    details: Sequence[Mapping[str, FieldValue]] | None = None,
    attach: str = "SUCCESS",
) -> VoucherBody:
    """The unsigned 回单 body answering ``original`` (a 发送单 the caller received).

    ``fields`` fills header X-fields; ``details``, when given, has one mapping per detail row
    (in order) filling that row's X-fields.  Any other field is refused with
    :class:`InvalidInput`: a receipt never changes what the sender signed.  The caller signs
    or stamps the returned body with its own keys.
    """
    if original.voucher_flag != "0":
        raise InvalidInput(
            f"{original.vt_code} {original.voucher_no}: a receipt answers a 发送单 (VoucherFlag=0), "
            f"not VoucherFlag={original.voucher_flag}"
        )
    voucher = original.voucher
    vt = voucher.vt_code
    where = f"{vt} {voucher.voucher_no}"
    refused = [name for name in fields if not is_x_field(vt, name)]
    if refused:
        raise InvalidInput(
            f"{where}: {', '.join(refused)} not X-field(s) of VtCode {vt}; a receipt fills X-fields only"
        )
    rows = list(voucher.details)
    if details is not None:
        if len(details) != len(rows):
            raise InvalidInput(f"{where}: {len(details)} detail changes given for {len(rows)} detail rows")
        for i, (row, changes) in enumerate(zip(rows, details, strict=True), 1):
            bad = [name for name in changes if not is_x_field(vt, name, detail=True)]
            if bad:
                raise InvalidInput(f"{where}: Detail[{i}]: {', '.join(bad)} not X-field(s); refused")
            rows[i - 1] = row.replace(**changes)
    answered = voucher.replace(details=rows, **fields)
    body = VoucherBody.from_voucher(answered, voucher_flag="1")
    body.attach = attach
    body.return_reason = None
    # Keep the envelope identifiers of the original (they were checked against its signed text).
    body.adm_div_code = original.adm_div_code
    body.st_year = original.st_year
    body.vt_code = original.vt_code
    body.voucher_no = original.voucher_no
    return body


def receipt_problems(original: Voucher, receipt: Voucher) -> list[str]:
    """Why ``receipt`` is not a receipt of ``original`` (empty when it is).

    Both vouchers must have the same header elements and values, and the same detail rows,
    except X-fields (which the receiver fills).  Element order is not compared: a receiver may
    insert an X-field the sender left out.
    """
    problems: list[str] = []
    vt = original.vt_code
    for name in ("AdmDivCode", "StYear", "VtCode", "VoucherNo"):
        if original.get(name) != receipt.get(name):
            problems.append(f"{name} differs: original {original.get(name)!r}, receipt {receipt.get(name)!r}")
    if problems:
        return problems
    head_o, head_r = dict(original.fields), dict(receipt.fields)
    for name in sorted(set(head_o) | set(head_r)):
        if head_o.get(name) != head_r.get(name) and not is_x_field(vt, name):
            problems.append(
                f"header {name} changed by the receipt: {head_o.get(name)!r} -> {head_r.get(name)!r}"
            )
    rows_o, rows_r = original.details, receipt.details
    if len(rows_o) != len(rows_r):
        problems.append(f"detail rows differ: original {len(rows_o)}, receipt {len(rows_r)}")
        return problems
    for i, (row_o, row_r) in enumerate(zip(rows_o, rows_r, strict=True), 1):
        d_o, d_r = dict(row_o.fields), dict(row_r.fields)
        for name in sorted(set(d_o) | set(d_r)):
            if d_o.get(name) != d_r.get(name) and not is_x_field(vt, name, detail=True):
                problems.append(
                    f"Detail[{i}]/{name} changed by the receipt: {d_o.get(name)!r} -> {d_r.get(name)!r}"
                )
    return problems
