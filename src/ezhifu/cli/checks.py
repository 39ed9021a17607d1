"""Checks ``ezhifu sign`` and ``ezhifu seal apply`` make before touching a key (issue 15 item 5).

* The envelope is validated first (partner level, :func:`ezhifu.document.validation.check`):
  an invalid voucher is refused, exit 1, every problem listed, unless ``--no-validate``.
  Signing ``PayAmt`` ``12,3145771.73`` and having ``verify`` print OK afterwards is what this
  prevents: a signature vouches for the voucher's content.
* The position must be a known position name (:data:`KNOWN_POSITIONS`, or the form
  ``<party>_<kind>`` with a kind of spec.md §5.1): ``bad pos<>`` is a usage error, exit 2.

The vocabulary lives here, in one place, until the document layer's position table
(``document/positions.py``) provides it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ezhifu.errors import SchemaValidationError, UnknownPosition

__all__ = [
    "KNOWN_POSITIONS",
    "POSITION_KINDS",
    "check_position",
    "no_validate_option",
    "position_argument",
    "validate_first",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Position names seen in public sources (spec.md §5.1: S4, S5, S8, S11).
KNOWN_POSITIONS: frozenset[str] = frozenset(
    {"rh_ywzqz", "rh_zqz", "rh_qm", "cz_jb", "cz_dwfz", "cz_dwgz", "cz_dwsz"}
)
#: Kind suffixes of ``<party>_<kind>`` names (spec.md §5.1, S3 ``VOUCHERSAMP_*``), and ``fz``
#: (负责人, the 2024 signature position ``cz_dwfz``).
POSITION_KINDS: tuple[str, ...] = (
    "zqz", "gz", "fjz", "ywzyz", "sz", "qm", "jzysz", "fhysz", "jzyqm", "fhyqm", "fz",
)  # fmt: skip
_FORM = re.compile(r"[a-z]{2,8}_[a-z]{0,12}")


def check_position(position: str) -> str:
    """``position`` if it is a known position name, else :class:`~ezhifu.errors.UnknownPosition`."""
    if position in KNOWN_POSITIONS:
        return position
    if len(position) <= 24 and _FORM.fullmatch(position) and position.endswith(POSITION_KINDS):
        return position
    shown = position if len(position) <= 24 else position[:24] + "…"
    raise UnknownPosition(
        f"未知的签章位置 {shown!r}：应为已知位置名（如 {', '.join(sorted(KNOWN_POSITIONS))}）或 "
        f"<单位>_<类型>，类型为 {'/'.join(POSITION_KINDS)} / unknown position {shown!r}: use a known "
        f"position name (e.g. cz_dwfz, cz_dwgz) or <party>_<kind> with kind one of "
        f"{', '.join(POSITION_KINDS)} (docs/concepts.md, spec.md §5.1)"
    )


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
