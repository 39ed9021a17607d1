"""Checks ``ezhifu sign`` and ``ezhifu seal apply`` make before touching a key (issue 15 item 5).

* The envelope is validated first (partner level, :func:`ezhifu.document.validation.check`):
  an invalid voucher is refused, exit 1, every problem listed, unless ``--no-validate``.
  Signing ``PayAmt`` ``12,3145771.73`` and having ``verify`` print OK afterwards is what this
  prevents: a signature vouches for the voucher's content.
* The position must be a known position name, ``<party>_<kind>`` with a kind of the vocabulary
  in :mod:`ezhifu.document.positions` (spec.md §5.1), or one that the ``--parties FILE`` declares
  under ``[positions.VTCODE]`` for the VtCode of every voucher signed or stamped
  (docs/parties.md): ``bad pos<>`` is a usage error, exit 2, naming the vocabulary.

``--parties`` (:func:`parties_option`) is stored in the click context (``ctx.meta``) rather than
passed to the verb, so a verb takes it with one decorator; :func:`declared_positions` reads the
file (:class:`ezhifu.verify.parties.Parties`, the same file ``ezhifu verify --parties`` takes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ezhifu.errors import SchemaValidationError, UnknownPosition

if TYPE_CHECKING:
    from ezhifu.document.envelope import VoucherBody
    from ezhifu.document.positions import PositionTable

__all__ = [
    "check_position",
    "declared_positions",
    "no_validate_option",
    "parties_option",
    "position_argument",
    "position_for_bodies",
    "validate_first",
]

#: ``ctx.meta`` keys: the ``--parties`` path, and the position table read from it.
_PARTIES_KEY = "ezhifu.checks.parties_file"
_TABLE_KEY = "ezhifu.checks.parties_positions"

F = TypeVar("F", bound=Callable[..., Any])


def check_position(position: str, declared: Iterable[str] = ()) -> str:
    """The position vocabulary's check (:func:`ezhifu.document.positions.check_position_name`)."""
    from ezhifu.document.positions import check_position_name  # reason: keep `ezhifu --help` cheap

    return check_position_name(position, declared)


def _remember_parties(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    ctx.meta[_PARTIES_KEY] = value


def parties_option(func: F) -> F:
    """``--parties FILE``: positions its ``[positions.VTCODE]`` declares are accepted too."""
    return click.option(
        "--parties",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember_parties,
        help="Parties file (docs/parties.md): positions its [positions.VTCODE] declares are accepted "
        "besides the position vocabulary.",
    )(func)


def declared_positions() -> PositionTable | None:
    """The position table of the ``--parties`` file given to the running verb (``None``: none)."""
    ctx = click.get_current_context()
    path = ctx.meta.get(_PARTIES_KEY)
    if path is None:
        return None
    if _TABLE_KEY not in ctx.meta:
        from ezhifu.verify.parties import Parties  # reason: keep `ezhifu --help` free of the crypto stack

        ctx.meta[_TABLE_KEY] = Parties.load(path).positions
    table: PositionTable = ctx.meta[_TABLE_KEY]
    return table


def position_argument(position: str) -> str:
    """:func:`check_position` for a command-line option: an unknown name is a usage error (exit 2).

    With ``--parties``, a name the file declares for any VtCode passes here; the VtCodes of the
    vouchers are checked by :func:`position_for_bodies` once the envelope is read.
    """
    table = declared_positions()
    try:
        return check_position(position, table.declared() if table is not None else ())
    except UnknownPosition as exc:
        raise click.UsageError(str(exc)) from None


def position_for_bodies(position: str, bodies: Iterable[VoucherBody]) -> str:
    """:func:`position_argument` against the positions declared for these bodies' VtCodes."""
    table = declared_positions()
    try:
        return check_position(position, table.declared(b.vt_code for b in bodies) if table else ())
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
