"""Document rules written once: envelope attributes, ``VoucherCount``, amounts and sums.

Every layer above the document (signing, verification, validation, the HTML view, the flow)
asks these functions instead of writing the rule again:

* :func:`attribute_mismatches`: the four ``VoucherBody`` attributes ``AdmDivCode``,
  ``StYear``, ``VtCode`` and ``VoucherNo`` are **not signed**; each must equal the same field
  of the signed inner voucher (spec.md §5.5). A relabelled envelope is refused by the signer,
  fails verification and is reported by the validator, all with the same words;
  :class:`ValidatedVoucher` carries the validator's reading of those fields to the signer.
* :func:`voucher_count_matches`: ``VoucherCount`` is a decimal of at most nine digits equal to
  the number of ``VoucherBody`` elements (spec.md §2.1).
* :func:`classify_refused_value`: why a value its XSD type refused is wrong, by field type;
* :func:`amount_fields` and :func:`sum_amounts`: which fields hold amounts comes from the typed
  field data (:mod:`ezhifu.document.fields`, type ``amount``), never from the element's name;
  amounts are decimal strings with exactly two decimals (spec.md §4.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ezhifu.document import fields as _fields
from ezhifu.document.fields import AMOUNT, PARTNER_AMOUNT, FieldDef, Level, field_pattern
from ezhifu.document.models import parse_amount
from ezhifu.errors import InvalidInput

__all__ = [
    "ATTRIBUTE_RULES",
    "ENVELOPE_ATTRIBUTES",
    "MAX_VOUCHER_COUNT_DIGITS",
    "AttributeMismatch",
    "ValidatedVoucher",
    "amount_fields",
    "attribute_mismatches",
    "classify_refused_value",
    "sum_amounts",
    "voucher_count_matches",
]

#: The unsigned ``VoucherBody`` attributes that repeat a field of the signed voucher (spec.md §5.5),
#: with the :class:`~ezhifu.document.envelope.VoucherBody` attribute that holds each.
ENVELOPE_ATTRIBUTES: Mapping[str, str] = {
    "AdmDivCode": "adm_div_code",
    "StYear": "st_year",
    "VtCode": "vt_code",
    "VoucherNo": "voucher_no",
}
_AMOUNT_RULE = {
    "partner": "an amount of at most 15 integer digits and at most two decimals (0, 2.0, 2.00)",
    "strict": "an amount with exactly two decimals and at most 15 integer digits (2.00)",
}
#: The rule of each ``VoucherBody`` attribute (spec.md §2.1), as reports state it (zh, en).
ATTRIBUTE_RULES: dict[str, tuple[str, str]] = {
    "AdmDivCode": ("6 位数字（或 9 位）的行政区划代码", "6 ASCII digits (or 9), the administrative division"),
    "StYear": ("4 位数字的业务年度", "4 ASCII digits (yyyy), the budget year"),
    "VtCode": ("4 位字母或数字的凭证类型", "4 ASCII letters or digits, the voucher type"),
    "VoucherNo": ("1 至 60 个字符的凭证号", "1 to 60 characters, the voucher number"),
}
#: ``VoucherCount`` has at most this many digits (a billion bodies is beyond any message size).
MAX_VOUCHER_COUNT_DIGITS = 9
_COUNT = re.compile(rf"[0-9]{{1,{MAX_VOUCHER_COUNT_DIGITS}}}")


class AttributeMismatch(NamedTuple):
    """An envelope attribute whose value differs from the signed inner voucher's."""

    attribute: str
    envelope: str
    signed: str

    def describe(self) -> str:
        """The one sentence every layer reports a mismatch with."""
        return (
            f"envelope attribute {self.attribute}={self.envelope!r} differs from the signed voucher's "
            f"{self.attribute}={self.signed!r} (envelope attributes are not signed, spec.md §5.5)"
        )


@dataclass(frozen=True, slots=True)
class ValidatedVoucher:
    """What :func:`ezhifu.document.validation.validate` read of one inner voucher it accepted:
    the exact Base64 text of its ``<Voucher>`` and the values of the four envelope attributes
    it signs (spec.md §5.5; ``""`` for one that is absent).

    A body handed it (:meth:`ezhifu.document.envelope.VoucherBody.adopt`, ``sign_body(...,
    validated=)``) compares its unsigned attributes with these values instead of decoding and
    parsing the same text again; a body whose text is not exactly ``text`` ignores it, so one
    document's reading never stands for another's.
    """

    text: str
    attributes: tuple[tuple[str, str], ...]


def attribute_mismatches(
    envelope: Mapping[str, str | None], signed: Mapping[str, str | None], *, only_present: bool = False
) -> list[AttributeMismatch]:
    """The attributes of :data:`ENVELOPE_ATTRIBUTES` whose envelope value differs from the
    signed voucher's, in that order. A missing value counts as empty; with ``only_present``
    an attribute missing on either side is not compared (the validator reports it apart)."""
    out: list[AttributeMismatch] = []
    for attribute in ENVELOPE_ATTRIBUTES:
        outer, inner = envelope.get(attribute), signed.get(attribute)
        if only_present and (outer is None or inner is None):
            continue
        if (outer or "") != (inner or ""):
            out.append(AttributeMismatch(attribute, outer or "", inner or ""))
    return out


def voucher_count_matches(declared: str | None, bodies: int) -> bool:
    """Whether a ``VoucherCount`` text states ``bodies`` (``None``: nothing declared, a built
    envelope, which always matches)."""
    if declared is None:
        return True
    return _COUNT.fullmatch(declared) is not None and int(declared) == bodies


def amount_fields(vt_code: str, *, detail: bool = False, version: str | None = None) -> frozenset[str]:
    """The header (or ``detail``) fields of ``vt_code`` typed ``amount`` in the field data.

    With no ``version`` the fields of every schema version are joined (a viewer does not know
    which version produced a message). Unknown VtCode: empty.
    """
    versions = _fields.SCHEMA_VERSIONS if version is None else (version,)
    out: set[str] = set()
    for v in versions:
        spec = _fields.spec_for(vt_code, v)
        if spec is not None:
            out.update(spec.amount_fields(detail=detail))
    return frozenset(out)


def sum_amounts(values: Iterable[str], *, skip_empty: bool = True, level: Level = "strict") -> Decimal | None:
    """The sum of amount texts (spec.md §4.1 format, :func:`~ezhifu.document.models.parse_amount`);
    ``None`` when one is not an amount. Empty texts are skipped unless ``skip_empty`` is False,
    in which case they make the sum ``None`` too."""
    total = Decimal("0.00")
    for text in values:
        if text == "" and skip_empty:
            continue
        try:
            total += parse_amount(text, level=level)
        except InvalidInput:
            return None
    return total


def classify_refused_value(f: FieldDef, value: str, level: Level = "strict") -> tuple[str, str]:
    """(issue code, reason) for a value of field ``f`` that the XSD of ``level`` refused: the
    reason states the rule (spec.md §4.1, §2.1), e.g. ``negative-amount`` or ``date-format``."""
    label = f"{f.name} ({f.label})"
    if value == "" and f.required:
        return "required-empty", f"{label} is required and must not be empty"
    if f.name == "VtCode":
        return "vtcode-mismatch", f"{label} does not match the schema's VtCode"
    if f.name in ("StYear", "AdmDivCode"):
        return "value-format", f"{label} must be {ATTRIBUTE_RULES[f.name][1]}"
    if f.type == "amount":
        unsigned = value[1:] if value.startswith("-") else value
        negative = not f.negative and value.startswith("-")
        # "-2.00": only the sign is wrong; "-1" is reported as a format issue (stable codes)
        if negative and unsigned and _amount_ok(unsigned, "strict"):
            return "negative-amount", f"{label} must not be negative in this voucher type"
        pattern = field_pattern(f, level)
        sign = "; negative amounts are not allowed in this voucher type" if negative else ""
        return "amount-format", f"{label} is not {_AMOUNT_RULE[level]} ({pattern}, level {level}){sign}"
    if f.type == "date":
        return "date-format", f"{label} is not a date yyyyMMdd of 8 ASCII digits"
    if f.type == "int":
        return "int-format", f"{label} is not an integer of at most 10 ASCII digits"
    pattern = field_pattern(f, level)
    if pattern is not None:
        return "value-format", f"{label} does not match {pattern}"
    if len(value) > f.limit():
        return "max-length", f"{label} is {len(value)} characters long, more than {f.limit()}"
    return "value-format", f"{label} is not a valid value"


def _amount_ok(text: str, level: Level) -> bool:
    return re.fullmatch(AMOUNT if level == "strict" else PARTNER_AMOUNT, text) is not None
