"""Personal identifiers masked wherever a result is shown (issue 15 item 3).

Real treasury certificates carry the holder's 18-digit resident identity number (GB 11643-1999,
公民身份号码) in the subject's ``title`` or ``serialNumber``; ``ezhifu verify``, ``seal show`` and
the HTML view print subjects. :func:`mask_identifiers` is the one masking function: the number
``420602199001011234`` is shown ``4206**********1234`` (region prefix and last four kept, as
banks print them). The result objects keep the full text: masking happens where a result is
rendered, and the command line's ``--show-identifiers`` turns it off.

Only numbers that *are* resident identity numbers are masked: 17 digits and a check character
(a digit or ``X``) that matches the ISO 7064 MOD 11-2 checksum, with a plausible birth date, not
inside a longer run of digits — so an 18-digit bank account number is left alone unless it
happens to pass all three checks.
"""

from __future__ import annotations

import re

__all__ = ["is_resident_id", "mask_identifiers"]

_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

#: Longest text masked in one call (a rendered report; longer text is masked in slices).
MAX_MASKED_CHARS = 64 * 1024 * 1024


def is_resident_id(text: str) -> bool:
    """True when ``text`` is an 18-character resident identity number with a valid checksum."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    year, month, day = int(text[6:10]), int(text[10:12]), int(text[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(ch) * w for ch, w in zip(text[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == text[17].upper()


def _mask(match: re.Match[str]) -> str:
    number = match.group(1)
    return number[:4] + "*" * 10 + number[-4:] if is_resident_id(number) else number


def mask_identifiers(text: str) -> str:
    """``text`` with every resident identity number shown as ``4206**********1234``."""
    if len(text) > MAX_MASKED_CHARS:
        return "".join(
            mask_identifiers(text[i : i + MAX_MASKED_CHARS]) for i in range(0, len(text), MAX_MASKED_CHARS)
        )
    return _CANDIDATE.sub(_mask, text)
