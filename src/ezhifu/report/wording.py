"""The language of a rendered page's own labels (the HTML view, :mod:`ezhifu.report.html`).

A page is rendered in one language: ``"zh"`` (Simplified Chinese), ``"en"`` (English), or
``None``, both (Chinese first, ``未验证 not verified``) — the library's default, kept for callers
that choose no language. The command line passes the language of its help and messages
(``--lang``, or the locale: docs/cli.md, "Language and time"). The language is held in a
:class:`contextvars.ContextVar` for the duration of one render (:func:`page_language`), so
concurrent renders in threads or tasks do not see each other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["LANGUAGES", "current", "name", "page_language", "say"]

#: The languages a page can be rendered in (``None``: both).
LANGUAGES = ("zh", "en")

_LANG: ContextVar[str | None] = ContextVar("ezhifu_page_language", default=None)


@contextmanager
def page_language(language: str | None) -> Iterator[str | None]:
    """Render in ``language`` inside the ``with`` block (anything but "zh"/"en": both)."""
    chosen = language if language in LANGUAGES else None
    token = _LANG.set(chosen)
    try:
        yield chosen
    finally:
        _LANG.reset(token)


def current() -> str | None:
    """The language of the page being rendered (``None``: both)."""
    return _LANG.get()


def say(zh: str, en: str) -> str:
    """A label in the page's language (both, Chinese first, when none was chosen)."""
    language = _LANG.get()
    return zh if language == "zh" else en if language == "en" else f"{zh} {en}"


def name(zh: str, en: str) -> str:
    """A name shown in Chinese unless the page is English (``行政区划`` / ``AdmDivCode``)."""
    return en if _LANG.get() == "en" else zh
