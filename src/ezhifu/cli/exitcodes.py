"""The one table of exit codes of the ``ezhifu`` command (docs/cli.md, "Exit codes").

========  ===============================================================================
code      meaning
========  ===============================================================================
0         everything asked for is valid, verified or done
1         a voucher is invalid or does not verify (or a signature/seal was refused)
2         usage, configuration or credential error: a bad option, a missing or unreadable
          file, a configuration file refused (others may write it), a wrong or missing
          password or PIN, an unknown alias, an alias that exists, a PKCS#11 module or token
          problem, an output that exists (without ``--force``) or is the input, a
          signature or stamp position that is not a known position name
========  ===============================================================================

A closed pipe (``ezhifu verify ... | head``) ends quietly with :data:`EXIT_FAILED`: the
verdict was not all delivered, so a script with ``set -o pipefail`` never takes it for success.

:func:`exit_code_for` maps an exception to its code; :func:`cli_wording` rewrites the advice
that library messages give in Python terms into the command line's options.
"""

from __future__ import annotations

from ezhifu.errors import (
    AliasExists,
    BadPassword,
    ConfigurationError,
    EzhifuError,
    KeyNotFound,
    TokenError,
    UnknownPosition,
)

__all__ = [
    "CREDENTIAL_ERRORS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_TABLE",
    "EXIT_USAGE",
    "cli_wording",
    "exit_code_for",
]

#: Everything valid / verified / done.
EXIT_OK = 0
#: A voucher is invalid or does not verify.
EXIT_FAILED = 1
#: Usage, configuration or credential error (also click's own usage errors).
EXIT_USAGE = 2

#: code -> what it means (the table docs/cli.md shows; a test checks they agree).
EXIT_TABLE: dict[int, str] = {
    EXIT_OK: "ok: valid, verified or done",
    EXIT_FAILED: "a voucher is invalid or does not verify; a closed output pipe",
    EXIT_USAGE: "usage, configuration or credential error (password, PIN, alias, PKCS#11, output)",
}

#: Keystore failures that are the caller's credentials or configuration, not the voucher's.
#: ``KeyNotFound`` covers an unknown alias; ``TokenError`` a PKCS#11 module or token problem.
CREDENTIAL_ERRORS: tuple[type[EzhifuError], ...] = (BadPassword, KeyNotFound, AliasExists, TokenError)


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception raised by a verb (see the module table)."""
    if isinstance(exc, (ConfigurationError, OSError, UnknownPosition, *CREDENTIAL_ERRORS)):
        return EXIT_USAGE
    return EXIT_FAILED


#: Python advice in library messages -> the command line's way to say it (literal text, replaced
#: in this order: no pattern to compile at start-up).
_CLI_WORDING: tuple[tuple[str, str], ...] = (
    ("VerifyPolicy.legacy()", "--policy legacy"),
    ("pass allow_weak=True", "give --allow-weak"),
    ("allow_weak=True", "--allow-weak"),
    ("show_identifiers=True", "--show-identifiers"),
)


def cli_wording(message: str) -> str:
    """``message`` with Python advice ("use VerifyPolicy.legacy()") in CLI terms ("--policy legacy")."""
    for text, replacement in _CLI_WORDING:
        message = message.replace(text, replacement)
    return message
