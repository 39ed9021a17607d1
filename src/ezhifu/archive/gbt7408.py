"""Dates and times in the GB/T 7408 complete representation (DA/T 95—2022 §6.3.6).

DA/T 95 §6.3.6 asks for the dates and times of the metadata in the *complete representation*
(完全表示法) of GB/T 7408 (the ISO 8601 counterpart), extended format:

* a calendar date: ``YYYY-MM-DD`` (``2026-12-03``);
* a date and time of day with its offset from UTC: ``YYYY-MM-DDThh:mm:ss+08:00``.

Voucher dates on the wire are ``yyyyMMdd`` (spec.md §4.1); :func:`voucher_date` converts them.
Times are written in China Standard Time (UTC+08:00), the time zone of the treasury systems;
a time without a time zone is refused, since its instant is unknown.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from ezhifu.errors import InvalidInput

__all__ = ["CST", "date_text", "datetime_text", "parse_datetime", "voucher_date"]

#: China Standard Time, UTC+08:00.
CST = timezone(timedelta(hours=8), "CST")

_WIRE_DATE = re.compile(r"[0-9]{8}")
#: The complete extended representation with seconds and an offset (what :func:`datetime_text` writes).
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})")


def datetime_text(when: datetime) -> str:
    """``when`` as ``YYYY-MM-DDThh:mm:ss+08:00`` (seconds, China Standard Time)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput(
            f"时间缺少时区 / a time without a time zone cannot be archived: {when.isoformat()}"
        )
    return when.astimezone(CST).replace(microsecond=0).isoformat()


def date_text(day: date) -> str:
    """``day`` as ``YYYY-MM-DD``."""
    return day.isoformat()


def voucher_date(text: str, *, where: str = "date") -> str:
    """A wire date ``yyyyMMdd`` as ``YYYY-MM-DD``; an empty text stays empty.

    Raises :class:`InvalidInput` naming ``where`` for anything else (a calendar check included).
    """
    value = text.strip()
    if not value:
        return ""
    if not _WIRE_DATE.fullmatch(value):
        raise InvalidInput(f"{where}: 日期格式错误 / not a yyyyMMdd date: {text!r}")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError as exc:
        raise InvalidInput(f"{where}: 日期无效 / not a calendar date: {text!r}") from exc


def parse_datetime(text: str, *, where: str = "time") -> datetime:
    """Read a time written by :func:`datetime_text` (``Z`` accepted); always timezone-aware (UTC)."""
    if not _DATETIME.fullmatch(text):
        raise InvalidInput(f"{where}: 时间格式错误 / not a GB/T 7408 complete date and time: {text!r}")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise InvalidInput(f"{where}: 时间无效 / not a valid date and time: {text!r}") from exc
