"""The command line in Simplified Chinese or English (stdlib ``gettext``).

The language is Chinese when the global option ``--lang zh`` is given, or, without ``--lang``,
when the locale is Chinese (``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` starting with ``zh``, e.g.
``LANG=zh_CN.UTF-8``); English otherwise (``--lang en`` forces it). The catalogue is
``ezhifu/cli/locale/zh_CN/LC_MESSAGES/ezhifu.po`` (the source, kept in git) compiled to
``ezhifu.mo`` beside it (shipped as package data; ``msgfmt -o ezhifu.mo ezhifu.po``, a test
checks the two agree and that every help string of the command line is translated).

Help texts are translated when a command is shown (:func:`localize` on a click command and its
options, looked up by their :func:`inspect.cleandoc` text), so the verb modules keep plain English
strings; messages are translated by :func:`_` where they are printed.

click's own words ("Usage:", "Options", "Error: ...", "Show this message and exit.", its usage
errors) go through the same catalogue by click's own mechanism: click calls the stdlib's global
``gettext.gettext``/``ngettext``, so under Chinese :func:`set_language` makes ``ezhifu`` the global
text domain (``gettext.bindtextdomain``/``gettext.textdomain``) and sets ``LANGUAGE=zh_CN`` in the
process environment (the variable the stdlib reads first to choose the catalogue, so that
``--lang zh`` wins over ``LANG=C``); under English the earlier domain is restored (click's
strings stay English) and ``LANGUAGE`` gets back its earlier value; a process that never chose
Chinese keeps its gettext state untouched. Only the command line calls
:func:`set_language`: importing ezhifu as a library changes no global state.
"""

from __future__ import annotations

import gettext
import inspect
import os
from collections.abc import Mapping
from pathlib import Path

import click

__all__ = [
    "DOMAIN",
    "HELP_OPTION_HELP",
    "LOCALE_DIR",
    "_",
    "current_language",
    "language_from_env",
    "localize",
    "set_language",
]

#: gettext domain of the command line's catalogue.
DOMAIN = "ezhifu"
#: Folder holding ``zh_CN/LC_MESSAGES/ezhifu.mo``.
LOCALE_DIR = Path(__file__).with_name("locale")


class _Language:
    """The language in use and its translations (one per process)."""

    code: str | None = None
    translations: gettext.NullTranslations = gettext.NullTranslations()
    #: ``LANGUAGE`` (``None``: unset) and the global text domain before :func:`set_language` first
    #: changed them; both restored under English (``None``: nothing changed).
    saved: tuple[str | None, str] | None = None


_LANGUAGE = _Language()


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``"zh"`` when the first set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` starts with ``zh``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def set_language(language: str | None, *, for_click: bool = True) -> str:
    """Use ``language`` (``"zh"``/``"en"``; ``None``: from the environment); returns the one chosen.

    ``for_click`` also points the stdlib's global gettext (click's words) at the catalogue; only
    the command line does so (:func:`current_language` alone never changes global state).
    """
    chosen = language_from_env() if language is None else language
    if chosen == "zh":
        _LANGUAGE.translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"], fallback=True)
    else:
        _LANGUAGE.translations = gettext.NullTranslations()
    if for_click:
        _global_gettext(chinese=chosen == "zh")
    _LANGUAGE.code = chosen
    return chosen


def _global_gettext(*, chinese: bool) -> None:
    """Point the stdlib's global gettext (which click calls) at the catalogue, or away from it."""
    if chinese:
        if _LANGUAGE.saved is None:
            _LANGUAGE.saved = (os.environ.get("LANGUAGE"), gettext.textdomain())
        gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
        gettext.textdomain(DOMAIN)
        os.environ["LANGUAGE"] = "zh_CN"
        return
    if _LANGUAGE.saved is None:
        return  # never switched: the host program's gettext state is left as it is
    value, domain = _LANGUAGE.saved
    gettext.textdomain(domain)  # the domain before ezhifu's (the stdlib default "messages")
    if value is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = value
    _LANGUAGE.saved = None


def current_language() -> str:
    """The language in use (``"zh"`` or ``"en"``)."""
    if _LANGUAGE.code is None:
        return set_language(None, for_click=False)
    return _LANGUAGE.code


def _(message: str) -> str:
    """``message`` in the language in use (itself when the catalogue has no translation)."""
    current_language()
    return _LANGUAGE.translations.gettext(message)


def _help(text: str | None) -> str | None:
    """``text`` (a help string, perhaps an indented docstring) in the language in use."""
    return _(inspect.cleandoc(text)) if text else text


#: English help of click's ``--help`` option (click creates it once, in the language of that moment).
HELP_OPTION_HELP = "Show this message and exit."


def localize(command: click.Command, ctx: click.Context | None = None) -> click.Command:
    """Translate ``command``'s help, short help and option help in place (and its subcommands').

    The English originals are kept in ``command.__dict__`` so that switching language
    (tests, ``--lang``) translates from English again. With ``ctx``, the ``--help`` option click
    adds is translated too.
    """
    originals: dict[str, str | None] = command.__dict__.setdefault(
        "_ezhifu_en", {"help": command.help, "short_help": command.short_help}
    )
    command.help = _help(originals["help"])
    command.short_help = _help(originals["short_help"])
    for param in command.params:
        if isinstance(param, click.Option):
            english = param.__dict__.setdefault("_ezhifu_en", param.help)
            param.help = _help(english)
    help_option = command.get_help_option(ctx) if ctx is not None else None
    if help_option is not None:
        help_option.help = _(HELP_OPTION_HELP)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localize(sub, ctx)
    return command
