"""The result shape of ``ezhifu archive check``: the 四性 items, each with outcome and reason.

DA/T 94—2022 and DA/T 95—2022 §8.2.4 a) name the four properties an archived voucher must keep
(四性): 真实性 authentic, 完整性 complete, 可用性 usable, 安全性 secure. Each :class:`CheckItem`
belongs to one, has a stable ``name`` (for scripts), a Chinese label, an outcome — ``pass``,
``fail`` or ``skip`` (not checkable with what was given, e.g. no trust for the archive's key) —
and a reason that names the file or element concerned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PROPERTIES", "CheckItem", "CheckReport", "Outcome", "Property", "all_failed"]

Property = Literal["authentic", "complete", "usable", "secure"]
Outcome = Literal["pass", "fail", "skip"]

#: The four properties in report order, with their Chinese names.
PROPERTIES: dict[Property, str] = {
    "authentic": "真实性",
    "complete": "完整性",
    "usable": "可用性",
    "secure": "安全性",
}


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One check item of one property."""

    quality: Property
    name: str
    label: str
    outcome: Outcome
    reason: str

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "property": self.quality,
            "name": self.name,
            "label": self.label,
            "outcome": self.outcome,
            "reason": self.reason,
        }


def all_failed(rows: Sequence[tuple[Property, str, str]], reason: str) -> list[CheckItem]:
    """Each ``(property, name, label)`` of *rows* as a failed item for the one *reason*
    (the items a missing or unreadable member makes impossible to check)."""
    return [CheckItem(quality, name, label, "fail", reason) for quality, name, label in rows]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every item of a package check; ``ok`` when none failed."""

    package_id: str
    items: tuple[CheckItem, ...]

    @classmethod
    def of(cls, package_id: str, items: Iterable[CheckItem]) -> CheckReport:
        order = list(PROPERTIES)
        return cls(package_id, tuple(sorted(items, key=lambda i: order.index(i.quality))))

    @property
    def ok(self) -> bool:
        return all(item.outcome != "fail" for item in self.items)

    def item(self, name: str) -> CheckItem:
        """The item called ``name`` (``KeyError`` when there is none)."""
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def failed(self) -> tuple[CheckItem, ...]:
        return tuple(i for i in self.items if i.outcome == "fail")

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package_id,
            "ok": self.ok,
            "properties": {
                prop: {
                    "label": label,
                    "ok": all(i.outcome != "fail" for i in self.items if i.quality == prop),
                }
                for prop, label in PROPERTIES.items()
            },
            "items": [i.to_dict() for i in self.items],
        }
