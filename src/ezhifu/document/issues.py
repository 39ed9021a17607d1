"""The issues of one validation run, bounded: the first :data:`MAX_ISSUES`, then one issue
"and K more" (docs/security.md "Limits"). Used by :mod:`ezhifu.document.validation`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from ezhifu.document.fields import Level
from ezhifu.document.levels import element_path, excerpt
from ezhifu.document.xmlparse import source_line
from ezhifu.errors import (
    DecodingError,
    HostileInputError,
    InputLimitExceeded,
    InvalidInput,
    ValidationIssue,
)

__all__ = [
    "HOSTILE_CODES",
    "MAX_ISSUES",
    "MAX_XSD_ERRORS",
    "UNREADABLE_CODES",
    "Collector",
    "unreadable_issue",
    "unreadable_of",
]

#: Issues reported per document: the first MAX_ISSUES, then one ``too-many-issues`` issue.
MAX_ISSUES = 1000
#: Errors taken from xmlschema per document: it builds one object per error (50,000
#: attributes took over 60 s, issue 14 finding 5), so its iteration stops there.
MAX_XSD_ERRORS = MAX_ISSUES
#: Issue codes that make ``validate`` raise :class:`~ezhifu.errors.HostileDocumentError`.
HOSTILE_CODES = frozenset({"hostile-input", "input-limit"})
#: Code of the one issue of a document that cannot be read at all -> the error the reader
#: refused it with (checked most specific first).
UNREADABLE_CODES: dict[str, type[InvalidInput]] = {
    "input-limit": InputLimitExceeded,
    "hostile-input": HostileInputError,
    "decoding": DecodingError,
    "not-xml": InvalidInput,
}
_LINE = re.compile(r"\bline (\d+)")


def unreadable_issue(exc: InvalidInput, data: bytes) -> ValidationIssue:
    """The one issue of a document the reader refused (:func:`~ezhifu.document.xmlparse.parse_xml`
    raised ``exc``): its code (:data:`UNREADABLE_CODES`), path ``/``, the line of the refusal
    when known and the refusal as its reason. Used by ``iter_errors``/``is_valid``/``validate``,
    which never raise for a document (issue 14 item 5)."""
    code = next(c for c, kind in UNREADABLE_CODES.items() if isinstance(exc, kind))
    line: int | None = None
    if isinstance(exc, DecodingError) and exc.offset is not None:
        line = data.count(b"\n", 0, exc.offset) + 1
    else:
        found = _LINE.search(str(exc))
        line = int(found.group(1)) if found else None
    offset = exc.offset if isinstance(exc, DecodingError) else None
    return ValidationIssue(path="/", line=line, reason=str(exc), code=code, offset=offset)


class Collector:
    """Every issue of a run, each (path, code) once, at most :data:`MAX_ISSUES` of them."""

    def __init__(self, level: Level = "partner") -> None:
        #: the validation level every check of this run applies
        self.level: Level = level
        self.issues: list[ValidationIssue] = []
        self.more = 0  # issues found beyond MAX_ISSUES
        self.truncated = False  # a check stopped early (MAX_XSD_ERRORS): ``more`` is a lower bound
        self._seen: set[tuple[str, str]] = set()
        #: paths of elements whose children ezhifu's structural check already reported: the
        #: XSD validator's content-model error on the same element says the same, less precisely
        self.structural: set[str] = set()

    def at(
        self,
        element: etree._Element,
        root: etree._Element,
        prefix: str,
        reason: str,
        value: str | None,
        code: str,
    ) -> None:
        """:meth:`add` an issue of ``element``, at its path below ``root`` and its line."""
        self.add(element_path(element, root, prefix), source_line(element), reason, value, code)

    def add(self, path: str, line: int | None, reason: str, value: str | None, code: str) -> None:
        key = (path, code)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.issues) >= MAX_ISSUES:
            self.more += 1
            return
        # a value is quoted as a short excerpt, never whole (a VoucherBody holds kilobytes)
        self.issues.append(
            ValidationIssue(path=path, line=line, reason=reason, value=excerpt(value), code=code)
        )

    def final(self) -> list[ValidationIssue]:
        """The issues, with "and K more" past :data:`MAX_ISSUES`."""
        if not self.more:
            return self.issues
        least = "至少 " if self.truncated else ""
        at_least = "at least " if self.truncated else ""
        note = ValidationIssue(
            path="/",
            line=None,
            reason=f"还有{least} {self.more} 个问题未列出 / and {at_least}{self.more} more issues not listed",
            code="too-many-issues",
        )
        return [*self.issues, note]


def unreadable_of(issues: Sequence[ValidationIssue]) -> ValidationIssue | None:
    """The issue of :func:`unreadable_issue` when ``issues`` are those of an unreadable document."""
    if len(issues) == 1 and issues[0].path == "/" and issues[0].code in UNREADABLE_CODES:
        return issues[0]
    return None
