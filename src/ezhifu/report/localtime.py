"""Times as people in China read them: Beijing time (Asia/Shanghai) with its offset.

Results keep aware datetimes (UTC from certificates and CMS); JSON writes them in ISO 8601
with their offset. Where a time is *shown* — the HTML view, ``ezhifu`` text output —
:func:`display_time` converts it to Asia/Shanghai (``zoneinfo``; the ``tzdata`` package where
the system has no time-zone database, e.g. Windows) and writes the offset:
``2026-12-03 23:14:17 +08:00``. China has kept UTC+8 without daylight saving since 1991, so
when no time-zone database is found the fixed offset +08:00 is used.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache

__all__ = ["BEIJING", "beijing_tz", "display_time"]

#: The zone every displayed time is converted to.
BEIJING = "Asia/Shanghai"


@cache
def beijing_tz() -> tzinfo:
    """Asia/Shanghai from the time-zone database, or the fixed offset +08:00 without one."""
    # reason: zoneinfo reads the time-zone database on first use only
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(BEIJING)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8), "CST")


def display_time(value: datetime | None) -> str:
    """``value`` in Beijing time with its offset (``2026-12-03 23:14:17 +08:00``); naive is UTC."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(beijing_tz())
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"
