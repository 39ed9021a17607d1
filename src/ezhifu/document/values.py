"""The values of voucher fields (spec.md §4.1): amounts with two decimals, dates ``yyyyMMdd``,
integers, and a Python value's element text by its field's type. Read strictly: no spaces,
``+``, exponents or Unicode digits; what partners send (``0``, ``2.0``) at the ``partner`` level
(spec.md §4.4). :mod:`ezhifu.document.models` uses them and names them for its callers.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from ezhifu.document.fields import FieldDef, Level
from ezhifu.errors import InvalidInput

__all__ = [
    "FieldValue",
    "format_amount",
    "format_date",
    "parse_amount",
    "parse_date",
    "to_text",
    "typed_value",
]

#: What :meth:`Voucher.replace` and :meth:`Voucher.build` accept for a field.
FieldValue = str | Decimal | int | date | None

#: Two decimals, at most 15 integer digits (see xsdgen.MAX_AMOUNT_INTEGER_DIGITS).
_AMOUNT = re.compile(r"-?[0-9]{1,15}\.[0-9]{2}")
_PARTNER_AMOUNT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{8}")
_INT = re.compile(r"[0-9]+")
_CENT = Decimal("0.01")


def parse_amount(text: str, *, where: str = "amount", level: Level = "strict") -> Decimal:
    """Parse an amount without spaces, ``+``, exponents or Unicode digits.

    ``level="strict"``: ``-?[0-9]{1,15}\\.[0-9]{2}`` (what ezhifu writes); ``level="partner"``:
    also ``0`` and ``2.0`` (what real partners send, spec.md §4.4).
    """
    regex = _AMOUNT if level == "strict" else _PARTNER_AMOUNT
    if not regex.fullmatch(text):
        rule = "exactly two decimals" if level == "strict" else "at most two decimals"
        raise InvalidInput(f"{where}: {text!r} is not an amount with {rule} and at most 15 integer digits")
    return Decimal(text)


def format_amount(value: Decimal | int | str, *, where: str = "amount") -> str:
    """Write an amount with exactly two decimals; refuse values that would need rounding."""
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: a bool is not an amount")
    if isinstance(value, str):
        parse_amount(value, where=where)
        return value
    try:
        dec = Decimal(value)
        quantized = dec.quantize(_CENT)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{where}: {value!r} is not a finite amount") from exc
    if quantized != dec:
        raise InvalidInput(f"{where}: {value!r} has more than two decimals")
    text = f"{quantized:.2f}"
    return "0.00" if text == "-0.00" else text


def parse_date(text: str, *, where: str = "date") -> date:
    """Parse ``yyyyMMdd`` (ASCII digits only) into a real calendar date."""
    if not _DATE.fullmatch(text):
        raise InvalidInput(f"{where}: {text!r} is not a date yyyyMMdd")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise InvalidInput(f"{where}: {text!r} is not a calendar date") from exc


def format_date(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def to_text(value: FieldValue, definition: FieldDef | None = None, *, where: str = "field") -> str:
    """Convert a Python value to the element text, using the field's type when known."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: bool values are not accepted")
    kind = definition.type if definition else None
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal) or kind == "amount":
        return format_amount(value, where=where)
    if isinstance(value, int):
        return str(value)
    raise InvalidInput(f"{where}: unsupported value type {type(value).__name__}")


def typed_value(text: str, definition: FieldDef | None, where: str) -> str | Decimal | date | int | None:
    if definition is None:
        return text
    if text == "":
        return None
    if definition.type == "amount":
        return parse_amount(text, where=where, level="partner")  # read what partners send
    if definition.type == "date":
        return parse_date(text, where=where)
    if definition.type == "int":
        if not _INT.fullmatch(text):
            raise InvalidInput(f"{where}: {text!r} is not an integer")
        return int(text)
    return text
