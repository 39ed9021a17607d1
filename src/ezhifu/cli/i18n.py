"""The command line in Simplified Chinese or English (stdlib ``gettext``).

The language is Chinese when the global option ``--lang zh`` is given, or, without ``--lang``,
when the locale is Chinese (``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` starting with ``zh``, e.g.
``LANG=zh_CN.UTF-8``); English otherwise (``--lang en`` forces it). The catalogue is
``ezhifu/cli/locale/zh_CN/LC_MESSAGES/ezhifu.po`` (the source, kept in git) compiled to
``ezhifu.mo`` beside it (shipped as package data; ``msgfmt -o ezhifu.mo ezhifu.po``, a test
checks the two agree and that every help string of the command line is translated).

Help texts are translated when a command is shown (:func:`localize` on a click command and its
options), so the verb modules keep plain English strings; messages are translated by
:func:`_` where they are printed.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

import click

__all__ = ["DOMAIN", "LOCALE_DIR", "_", "current_language", "language_from_env", "localize", "set_language"]

#: gettext domain of the command line's catalogue.
DOMAIN = "ezhifu"
#: Folder holding ``zh_CN/LC_MESSAGES/ezhifu.mo``.
LOCALE_DIR = Path(__file__).with_name("locale")


class _Language:
    """The language in use and its translations (one per process)."""

    code: str | None = None
    translations: gettext.NullTranslations = gettext.NullTranslations()


_LANGUAGE = _Language()


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``"zh"`` when the first set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` starts with ``zh``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def set_language(language: str | None) -> str:
    """Use ``language`` (``"zh"``/``"en"``; ``None``: from the environment); returns the one chosen."""
    chosen = language_from_env() if language is None else language
    if chosen == "zh":
        _LANGUAGE.translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"], fallback=True)
    else:
        _LANGUAGE.translations = gettext.NullTranslations()
    _LANGUAGE.code = chosen
    return chosen


def current_language() -> str:
    """The language in use (``"zh"`` or ``"en"``)."""
    if _LANGUAGE.code is None:
        return set_language(None)
    return _LANGUAGE.code


def _(message: str) -> str:
    """``message`` in the language in use (itself when the catalogue has no translation)."""
    current_language()
    return _LANGUAGE.translations.gettext(message)


def localize(command: click.Command) -> click.Command:
    """Translate ``command``'s help, short help and option help in place (and its subcommands').

    The English originals are kept in ``command.__dict__`` so that switching language
    (tests, ``--lang``) translates from English again.
    """
    originals: dict[str, str | None] = command.__dict__.setdefault(
        "_ezhifu_en", {"help": command.help, "short_help": command.short_help}
    )
    command.help = _(originals["help"]) if originals["help"] else originals["help"]
    command.short_help = _(originals["short_help"]) if originals["short_help"] else originals["short_help"]
    for param in command.params:
        if isinstance(param, click.Option):
            english = param.__dict__.setdefault("_ezhifu_en", param.help)
            param.help = _(english) if english else english
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localize(sub)
    return command
