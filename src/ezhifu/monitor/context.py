"""Context tables the caller supplies to monitoring: accounts, quotas, calendar, payees, history.

None of these can be read from a voucher (reference §1.2: 预算指标 / 用款计划 and 银行账户 come from
outside it), so the caller passes them in, in Python or as a TOML context file::

    history = ["history/"]          # envelopes (files or directories) of earlier payments; top-level
                                    # keys come before the first [table] in TOML

    [accounts]                      # AgencyCode -> the unit's own accounts (基本户, 实有资金, 零余额)
    "101001" = ["11001010100000001", "11001010100000002"]

    [[quota]]                       # remaining 指标 / 用款计划 for a key (any fields, in order)
    key = ["101001", "2010101"]
    remaining = "1000000.00"

    [calendar]                      # the official 调休 calendar: holidays and working weekend days
    holidays = ["2026-10-01", "2026-10-02"]
    workdays = ["2026-09-27"]

    [payees]                        # payee name -> accounts already known (new/changed payee rule)
    "某某科技有限公司" = ["6222020200000001"]

Relative history paths are read from the context file's directory. Limits:
:data:`MAX_CONTEXT_ENTRIES` entries per table, :data:`MAX_HISTORY_FILES` history files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ezhifu.document.envelope import Envelope
from ezhifu.document.models import Voucher
from ezhifu.errors import ContextFileError, EzhifuError
from ezhifu.flow.status import State
from ezhifu.flow.store import VoucherStore

__all__ = [
    "MAX_CONTEXT_ENTRIES",
    "MAX_HISTORY_FILES",
    "MonitorContext",
    "WorkCalendar",
    "envelope_files",
    "history_from_store",
]

#: A context table with more entries than this is refused.
MAX_CONTEXT_ENTRIES = 100_000
#: More history files than this are refused.
MAX_HISTORY_FILES = 10_000


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Working days: Monday to Friday, less ``holidays``, plus ``workdays`` (调休 weekends)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


@dataclass(frozen=True, slots=True)
class MonitorContext:
    """What the rules may consult besides the voucher (see the module documentation)."""

    accounts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    quotas: Mapping[tuple[str, ...], Decimal] = field(default_factory=dict)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    payees: Mapping[str, frozenset[str]] = field(default_factory=dict)
    history: tuple[Voucher, ...] = ()

    def __post_init__(self) -> None:
        for name in ("accounts", "quotas", "payees", "history"):
            if len(getattr(self, name)) > MAX_CONTEXT_ENTRIES:
                raise ContextFileError(
                    f"监控上下文 {name} 超过 {MAX_CONTEXT_ENTRIES} 项 / context table {name} has more than "
                    f"{MAX_CONTEXT_ENTRIES} entries"
                )

    @classmethod
    def load(cls, path: str | Path) -> MonitorContext:
        """Read a TOML context file (format in the module documentation)."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ContextFileError(f"{p}: 无法读取监控上下文 / cannot read the context file: {exc}") from exc
        known = {"accounts", "quota", "calendar", "payees", "history"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ContextFileError(
                f"{p}: 未知的表 / unknown tables: {', '.join(unknown)} (known: {sorted(known)})"
            )
        history: list[Voucher] = []
        for item in _strings(data.get("history", []), f"{p}: history"):
            target = Path(item) if Path(item).is_absolute() else p.parent / item
            for file in envelope_files([target]):
                history.extend(_vouchers_of(file))
        return cls(
            accounts=_string_sets(data.get("accounts", {}), f"{p}: [accounts]"),
            quotas=_quotas(data.get("quota", []), p),
            calendar=_calendar(data.get("calendar", {}), p),
            payees=_string_sets(data.get("payees", {}), f"{p}: [payees]"),
            history=tuple(history),
        )


def history_from_store(
    store: VoucherStore, *, vt_codes: Sequence[str] = (), limit: int = MAX_CONTEXT_ENTRIES
) -> tuple[Voucher, ...]:
    """The 发送单 a voucher library holds (sent or received, not discarded) as monitoring history.

    Oldest first, at most ``limit`` (:data:`MAX_CONTEXT_ENTRIES`); receipts are left out (they
    repeat their voucher). Pass it as ``MonitorContext(history=...)``.
    """
    if not 0 < limit <= MAX_CONTEXT_ENTRIES:
        raise ContextFileError(
            f"limit 须在 1..{MAX_CONTEXT_ENTRIES} / limit must be 1..{MAX_CONTEXT_ENTRIES}"
        )
    wanted = set(vt_codes)
    out: list[Voucher] = []
    for record in store.find(voucher_flag="0"):
        if record.state is State.DISCARDED or (wanted and record.key.vt_code not in wanted):
            continue
        try:
            out.extend(body.voucher for body in Envelope.from_bytes(record.envelope).bodies)
        except EzhifuError as exc:
            raise ContextFileError(
                f"{record.key}: 无法读取库中凭证 / cannot read the stored voucher: {exc}"
            ) from exc
        if len(out) >= limit:
            break
    return tuple(out[:limit])


def envelope_files(targets: Sequence[str | Path]) -> list[Path]:
    """Files named, and the ``*.xml`` files of directories named, sorted; bounded."""
    out: list[Path] = []
    for target in targets:
        t = Path(target)
        if t.is_dir():
            out.extend(sorted(x for x in t.rglob("*.xml") if x.is_file()))
        elif t.is_file():
            out.append(t)
        else:
            raise ContextFileError(f"{t}: 文件不存在 / no such file or directory")
        if len(out) > MAX_HISTORY_FILES:
            raise ContextFileError(f"超过 {MAX_HISTORY_FILES} 个文件 / more than {MAX_HISTORY_FILES} files")
    return out


def _vouchers_of(path: Path) -> list[Voucher]:
    try:
        envelope = Envelope.from_bytes(path.read_bytes())
        return [body.voucher for body in envelope.bodies]
    except (OSError, EzhifuError) as exc:
        raise ContextFileError(f"{path}: 无法读取历史凭证 / cannot read history envelope: {exc}") from exc


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContextFileError(f"{where}: 须为字符串列表 / must be a list of strings")
    if len(value) > MAX_CONTEXT_ENTRIES:
        raise ContextFileError(
            f"{where}: 超过 {MAX_CONTEXT_ENTRIES} 项 / more than {MAX_CONTEXT_ENTRIES} items"
        )
    return list(value)


def _string_sets(value: Any, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict):
        raise ContextFileError(f"{where}: 须为表 / must be a table")
    return {str(k): frozenset(_strings(v, f"{where} {k}")) for k, v in value.items()}


def _quotas(value: Any, path: Path) -> dict[tuple[str, ...], Decimal]:
    if not isinstance(value, list):
        raise ContextFileError(f"{path}: [[quota]] 须为表数组 / must be an array of tables")
    out: dict[tuple[str, ...], Decimal] = {}
    for i, item in enumerate(value, 1):
        where = f"{path}: quota #{i}"
        if not isinstance(item, dict) or set(item) != {"key", "remaining"}:
            raise ContextFileError(f"{where}: 须有 key 与 remaining / needs exactly key and remaining")
        try:
            out[tuple(_strings(item["key"], where))] = Decimal(str(item["remaining"]))
        except InvalidOperation as exc:
            raise ContextFileError(f"{where}: remaining 不是金额 / remaining is not an amount") from exc
    return out


def _calendar(value: Any, path: Path) -> WorkCalendar:
    if not isinstance(value, dict) or set(value) - {"holidays", "workdays"}:
        raise ContextFileError(f"{path}: [calendar] 只能有 holidays, workdays / only holidays and workdays")

    def days(name: str) -> frozenset[date]:
        try:
            return frozenset(date.fromisoformat(d) for d in _strings(value.get(name, []), f"{path}: {name}"))
        except ValueError as exc:
            raise ContextFileError(
                f"{path}: [calendar] {name}: 日期须为 YYYY-MM-DD / dates must be YYYY-MM-DD"
            ) from exc

    return WorkCalendar(days("holidays"), days("workdays"))
