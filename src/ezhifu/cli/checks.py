"""Checks ``ezhifu sign`` and ``ezhifu seal apply`` make before touching a key (issue 15 item 5).

* The envelope is validated first (partner level, :func:`ezhifu.document.validation.check`):
  an invalid voucher is refused, exit 1, every problem listed, unless ``--no-validate``.
  Signing ``PayAmt`` ``12,3145771.73`` and having ``verify`` print OK afterwards is what this
  prevents: a signature vouches for the voucher's content.
* The position must be a known position name, ``<party>_<kind>`` with a kind of the vocabulary
  in :mod:`ezhifu.document.positions` (spec.md §5.1): ``bad pos<>`` is a usage error, exit 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ezhifu.errors import SchemaValidationError, UnknownPosition

__all__ = [
    "check_position",
    "no_validate_option",
    "position_argument",
    "validate_first",
]

F = TypeVar("F", bound=Callable[..., Any])


def check_position(position: str) -> str:
    """The position vocabulary's check (:func:`ezhifu.document.positions.check_position_name`)."""
    from ezhifu.document.positions import check_position_name  # reason: keep `ezhifu --help` cheap

    return check_position_name(position)


def position_argument(position: str) -> str:
    """:func:`check_position` for a command-line option: an unknown name is a usage error (exit 2)."""
    try:
        return check_position(position)
    except UnknownPosition as exc:
        raise click.UsageError(str(exc)) from None


def no_validate_option(func: F) -> F:
    """The ``--no-validate`` flag."""
    return click.option(
        "--no-validate",
        is_flag=True,
        help="Sign even if the voucher does not validate (default: validate first, refuse if invalid).",
    )(func)


def validate_first(data: bytes, source: str, *, verb: str) -> None:
    """Refuse (``SchemaValidationError``, exit 1 with every issue) an envelope that is not valid."""
    from ezhifu.document.validation import check  # reason: keep `ezhifu --help` free of xmlschema

    report = check(data, level="partner", source=source)
    if report.valid:
        return
    click.echo(
        f"ezhifu: {verb}: 凭证未通过校验，拒绝{'签名' if verb == 'sign' else '盖章'}（修正后重试，或加 "
        f"--no-validate）/ the voucher does not validate: refusing to {verb} (fix it, or pass --no-validate)",
        err=True,
    )
    raise SchemaValidationError(report.issues, source=source, level=report.level)
