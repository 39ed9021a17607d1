"""The monitor: runs a :class:`~ezhifu.monitor.rules.RuleSet` over vouchers, keeping the history.

:class:`Monitor` evaluates every rule that applies to a voucher's VtCode and the stage, once per
detail row (``scope = "detail"``: detail fields, then header fields) or once per voucher
(``scope = "voucher"``). Before a voucher is evaluated its rows are added to the windows of the
aggregates (so a window includes the voucher itself); vouchers are identified by
(AdmDivCode, StYear, VtCode, VoucherNo, Id) and counted once however often they are checked.
The context's ``history`` is added to the windows without being evaluated.

Window semantics: ``days=N`` covers the voucher's ``VouDate`` and the N−1 days before it
(``days=1`` is the same day); ``period="month"`` the calendar month of ``VouDate`` (likewise
``day``/``year``). A window group keeps at most :data:`MAX_GROUP_ROWS` rows: older rows are
dropped first and the evidence says so. A rule is evaluated fast first (closures built once,
:mod:`ezhifu.monitor.compiled`); only when it fires is it evaluated again by the same closures
compiled with a recorder, so clean vouchers cost no evidence.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ezhifu.document.fields import FieldDef, spec_for
from ezhifu.document.models import Detail, Voucher, parse_amount, parse_date
from ezhifu.errors import InvalidInput
from ezhifu.monitor.alerts import AggregateEvidence, Alert, Evidence, VoucherRef, show
from ezhifu.monitor.compiled import Fast, Recorder, compile_expr, truthy
from ezhifu.monitor.context import MonitorContext
from ezhifu.monitor.expr import Aggregate, Call
from ezhifu.monitor.rules import Rule, RuleSet

__all__ = ["MAX_GROUP_ROWS", "MAX_SEEN_VOUCHERS", "Monitor"]

#: A window group keeps at most this many rows (oldest dropped first).
MAX_GROUP_ROWS = 5000
#: At most this many voucher identities are remembered for de-duplication (oldest forgotten).
MAX_SEEN_VOUCHERS = 2_000_000
#: Vouchers listed in an aggregate's evidence.
_EVIDENCE_REFS = 20

Value = Any  # Decimal | str | date | int | bool | None | tuple


class _Row:
    """One evaluation unit: a voucher and optionally one of its detail rows, with typed lookups.

    Rows of one voucher share the cache of header values.
    """

    __slots__ = ("cache", "detail", "header", "index", "spec", "voucher")

    def __init__(
        self,
        voucher: Voucher,
        detail: Detail | None,
        index: int | None,
        header: dict[str, Value] | None = None,
    ) -> None:
        self.voucher = voucher
        self.detail = detail
        self.index = index
        self.spec = spec_for(voucher.vt_code)
        self.header: dict[str, Value] = {} if header is None else header
        self.cache: dict[str, Value] = {}

    def get(self, name: str, header_only: bool = False) -> Value:
        if not header_only and self.detail is not None:
            if name in self.cache:
                return self.cache[name]
            text = self.detail.get(name)
            if text:  # a detail element that is present and not empty wins over the header
                value = _typed(text, self.spec.detail_field(name) if self.spec else None)
                self.cache[name] = value
                return value
            value = self._header(name)
            self.cache[name] = value
            return value
        return self._header(name)

    def _header(self, name: str) -> Value:
        if name in self.header:
            return self.header[name]
        value = _typed(self.voucher.get(name), self.spec.header_field(name) if self.spec else None)
        self.header[name] = value
        return value

    @property
    def day(self) -> date | None:
        value = self._header("VouDate")
        return value if isinstance(value, date) else None

    def ref(self) -> VoucherRef:
        v = self.voucher
        detail_id = self.detail.get("Id") if self.detail is not None else None
        return VoucherRef(
            v.adm_div_code, v.st_year, v.vt_code, v.voucher_no, v.id, self.index, detail_id or None
        )


def _typed(text: str | None, definition: FieldDef | None) -> Value:
    if text is None or text == "":
        return None
    kind = definition.type if definition else "text"
    try:
        if kind == "amount":
            return parse_amount(text)
        if kind == "date":
            return parse_date(text)
        if kind == "int":
            return Decimal(int(text))
    except (InvalidInput, ValueError):
        return None  # unreadable: validation reports it; monitoring treats it as absent
    return text


@dataclass(slots=True)
class _Group:
    ords: list[int] = field(default_factory=list)
    values: list[Decimal] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    dropped: int = 0


@dataclass(slots=True)
class _Bucket:
    total: Decimal = Decimal(0)
    count: int = 0
    refs: deque[str] = field(default_factory=lambda: deque(maxlen=_EVIDENCE_REFS))


class _Window:
    """The state of one aggregate occurrence: rows by group (and period)."""

    def __init__(self, agg: Aggregate, days: int | None) -> None:
        self.agg = agg
        self.days = days
        self.groups: dict[tuple[str, ...], _Group] = {}
        self.buckets: dict[tuple[Any, ...], _Bucket] = {}

    def period_key(self, day: date) -> Any:
        if self.agg.period == "day":
            return day.toordinal()
        if self.agg.period == "month":
            return (day.year, day.month)
        return day.year

    def add(self, group: tuple[str, ...], day: date, value: Decimal, ref: str) -> None:
        if self.agg.period is not None:
            bucket = self.buckets.setdefault((group, self.period_key(day)), _Bucket())
            bucket.total += value
            bucket.count += 1
            bucket.refs.append(ref)
            return
        g = self.groups.setdefault(group, _Group())
        o = day.toordinal()
        pos = bisect.bisect_right(g.ords, o)
        g.ords.insert(pos, o)
        g.values.insert(pos, value)
        g.refs.insert(pos, ref)
        if len(g.ords) > MAX_GROUP_ROWS:
            del g.ords[0], g.values[0], g.refs[0]
            g.dropped += 1

    def query(self, group: tuple[str, ...], day: date) -> tuple[Decimal, int, list[str], str]:
        if self.agg.period is not None:
            bucket = self.buckets.get((group, self.period_key(day)))
            label = {"day": day.isoformat(), "month": f"{day:%Y-%m}", "year": f"{day:%Y}"}[self.agg.period]
            if bucket is None:
                return Decimal(0), 0, [], f"{self.agg.period} {label}"
            return bucket.total, bucket.count, list(bucket.refs), f"{self.agg.period} {label}"
        days = self.days or 1
        first = day - timedelta(days=days - 1)
        label = f"{days} days {first.isoformat()}..{day.isoformat()}"
        g = self.groups.get(group)
        if g is None:
            return Decimal(0), 0, [], label
        lo = bisect.bisect_left(g.ords, first.toordinal())
        hi = bisect.bisect_right(g.ords, day.toordinal())
        if g.dropped:
            label += f" (window group capped at {MAX_GROUP_ROWS} rows, {g.dropped} oldest dropped)"
        return sum(g.values[lo:hi], Decimal(0)), hi - lo, g.refs[lo:hi][:_EVIDENCE_REFS], label


class Monitor:
    """Runs ``rules`` with ``context``; keeps windows and the payee register between calls."""

    def __init__(self, rules: RuleSet, context: MonitorContext | None = None) -> None:
        self.rules = rules
        self.context = context or MonitorContext()
        self.windows: dict[int, _Window] = {}
        self._sources: list[tuple[Rule, Aggregate, _Window, Fast | None]] = []
        self._fast: dict[int, Fast] = {}
        #: per thread, per rule: its recorder and its closures compiled with it (at its first alert)
        self._recording = threading.local()
        for rule in rules.rules:
            self._fast[id(rule)] = compile_expr(rule.when, rule, self)
            for agg in rule.aggregates:
                window = _Window(agg, rule.window_days(agg))
                self.windows[id(agg)] = window
                where = compile_expr(agg.where, rule, self) if agg.where is not None else None
                self._sources.append((rule, agg, window, where))
        self.payees: dict[str, set[str]] = {k: set(v) for k, v in self.context.payees.items()}
        self._seen: dict[tuple[str, ...], None] = {}
        for voucher in self.context.history:
            self.observe(voucher)
            self._learn_payees(voucher)

    # --- public ---------------------------------------------------------------------------

    def check(self, voucher: Voucher, *, stage: str = "batch") -> list[Alert]:
        """Every alert of every applicable rule on ``voucher`` (after adding it to the windows)."""
        rows = _RowSet(voucher)
        self._observe(voucher, rows)
        alerts: list[Alert] = []
        vt_code = voucher.vt_code
        for rule in self.rules.rules:
            if not rule.applies(vt_code, stage):
                continue
            fast = self._fast[id(rule)]
            for row in rows.of(rule.scope):
                if truthy(fast(row)):
                    alerts.append(self._alert(rule, row, stage))
        self._learn_payees(voucher)
        return alerts

    def run(self, vouchers: Iterable[Voucher], *, stage: str = "batch") -> list[Alert]:
        """:meth:`check` over ``vouchers`` in order; all alerts."""
        return [alert for voucher in vouchers for alert in self.check(voucher, stage=stage)]

    def observe(self, voucher: Voucher) -> bool:
        """Add ``voucher`` to the windows (once); ``False`` when it was already counted."""
        return self._observe(voucher, _RowSet(voucher))

    def _observe(self, voucher: Voucher, rows: _RowSet) -> bool:
        identity = (voucher.adm_div_code, voucher.st_year, voucher.vt_code, voucher.voucher_no, voucher.id)
        if identity in self._seen:
            return False
        self._seen[identity] = None
        if len(self._seen) > MAX_SEEN_VOUCHERS:
            del self._seen[next(iter(self._seen))]
        for rule, agg, window, where in self._sources:
            vts = agg.vt or rule.applies_to
            if vts and voucher.vt_code not in vts:
                continue
            for row in rows.of(rule.scope):
                self._add(agg, window, where, row)
        return True

    # --- windows --------------------------------------------------------------------------

    def _add(self, agg: Aggregate, window: _Window, where: Fast | None, row: _Row) -> None:
        day = row.day
        if day is None:
            return
        if where is not None and not truthy(where(row)):
            return
        if agg.field is not None:
            value = row.get(agg.field.name, agg.field.header_only)
            if not isinstance(value, Decimal):
                return
        else:
            value = Decimal(1)
        group = tuple(show(row.get(b.name, b.header_only)) or "" for b in agg.by)
        window.add(group, day, value, str(row.ref()))

    # --- what the compiled closures call (ezhifu.monitor.compiled) -------------------------

    def aggregate_value(self, agg: Aggregate, row: _Row, rule: Rule, rec: Recorder | None) -> Value:
        day = row.day
        if day is None:
            return None
        group = tuple(show(row.get(b.name, b.header_only)) or "" for b in agg.by)
        total, count, refs, label = self.windows[id(agg)].query(group, day)
        value: Decimal = total if agg.name == "sum_over" else Decimal(count)
        if rec is not None:
            rec.aggregates.append(
                AggregateEvidence(
                    agg.name,
                    agg.field.name if agg.field else None,
                    tuple(zip((b.name for b in agg.by), group, strict=True)),
                    label,
                    (show(value) or "0") if agg.name == "sum_over" else str(count),
                    count,
                    tuple(refs),
                    agg.vt,
                )
            )
        return value

    def call_value(self, node: Call, args: list[Value], rec: Recorder | None) -> Value:
        ctx = self.context
        result: Value
        if node.name == "len":
            result = 0 if args[0] is None else len(args[0]) if isinstance(args[0], (str, tuple)) else 0
            return Decimal(result)
        if node.name == "present":
            return args[0] is not None and args[0] != ""
        if node.name == "own_account":
            result = bool(args[1]) and str(args[1]) in ctx.accounts.get(str(args[0] or ""), frozenset())
        elif node.name == "working_day":
            result = not isinstance(args[0], date) or ctx.calendar.is_working_day(args[0])
        elif node.name == "quota":
            result = ctx.quotas.get(tuple(show(a) or "" for a in args))
        else:  # payee_status
            name, account = show(args[0]) or "", show(args[1]) or ""
            known = self.payees.get(name)
            result = "new" if known is None else "known" if account in known else "changed"
        if rec is not None:
            rec.lookups[f"{node.name}({', '.join(show(a) or '' for a in args)})"] = show(result)
        return result

    # --- alerts ---------------------------------------------------------------------------

    def _alert(self, rule: Rule, row: _Row, stage: str) -> Alert:
        rec, recording = self._recorder(rule)
        rec.reset()
        recording(row)
        evidence = rec.evidence()
        return Alert(
            rule.id,
            rule.version,
            rule.level,
            rule.category,
            rule.action,
            rule.source,
            stage,
            row.ref(),
            _render(rule, row, evidence),
            evidence,
            self.rules.info.id,
        )

    def _recorder(self, rule: Rule) -> tuple[Recorder, Fast]:
        """The rule's recorder and its condition compiled to note the evidence in it (one of each
        per thread: evidence noted for one alert never mixes with another thread's)."""
        by_rule: dict[int, tuple[Recorder, Fast]] | None = getattr(self._recording, "by_rule", None)
        if by_rule is None:
            by_rule = self._recording.by_rule = {}
        recording = by_rule.get(id(rule))
        if recording is None:
            rec = Recorder()
            recording = by_rule[id(rule)] = (rec, compile_expr(rule.when, rule, self, rec))
        return recording

    def _learn_payees(self, voucher: Voucher) -> None:
        rows: Sequence[Detail | Voucher] = (voucher, *voucher.details)
        for item in rows:
            name, account = item.get("PayeeAcctName"), item.get("PayeeAcctNo")
            if name and account:
                self.payees.setdefault(name, set()).add(account)


class _RowSet:
    """The rows of one voucher for each scope, built once and shared by every rule."""

    __slots__ = ("_detail", "_voucher", "voucher")

    def __init__(self, voucher: Voucher) -> None:
        self.voucher = voucher
        self._voucher: list[_Row] | None = None
        self._detail: list[_Row] | None = None

    def of(self, scope: str) -> list[_Row]:
        if self._voucher is None:
            self._voucher = [_Row(self.voucher, None, None)]
        if scope != "detail" or not self.voucher.details:
            return self._voucher
        if self._detail is None:
            shared = self._voucher[0].header
            self._detail = [_Row(self.voucher, d, i, shared) for i, d in enumerate(self.voucher.details, 1)]
        return self._detail


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")


def _render(rule: Rule, row: _Row, evidence: Evidence) -> str:
    """The rule's message with ``{Field}``, ``{voucher.Field}``, ``{param.x}``, ``{aggN}`` filled in."""
    aggs = evidence.aggregates

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("param."):
            return show(rule.params.get(name[6:])) or ""
        if name.startswith("agg") and name[3:].isdigit():
            n = int(name[3:])
            return aggs[n - 1].value if 0 < n <= len(aggs) else ""
        if name.startswith("voucher."):
            return show(row.get(name[8:], True)) or ""
        if "." in name:
            return m.group(0)
        return show(row.get(name)) or ""

    return _PLACEHOLDER.sub(fill, rule.message)
