"""Shared pieces of the command line: exit codes, error handling, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from ezhifu.errors import ConfigurationError, EzhifuError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliState",
    "echo_json",
    "fail_usage",
    "handle_errors",
]

#: Everything valid / verified.
EXIT_OK = 0
#: A validation or verification failed.
EXIT_FAILED = 1
#: Usage or configuration error (also click's own usage errors).
EXIT_USAGE = 2

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """Global options, reachable from every command via ``click.get_current_context().obj``."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose


def _verbose() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, CliState):
            return ctx.obj.verbose
        ctx = ctx.parent
    return False


def fail_usage(message: str) -> NoReturn:
    """Print a one-line usage/configuration error and exit 2."""
    click.echo(f"ezhifu: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def handle_errors(func: F) -> F:
    """Turn every ``EzhifuError`` (and OS errors on files) into a one-line message.

    Configuration and usage problems exit 2; any other ``EzhifuError`` means the input
    failed (validation, verification) and exits 1. ``--verbose`` re-raises for a traceback.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except ConfigurationError as exc:
            if _verbose():
                raise
            fail_usage(str(exc))
        except OSError as exc:
            if _verbose():
                raise
            fail_usage(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        except EzhifuError as exc:
            if _verbose():
                raise
            click.echo(f"ezhifu: {type(exc).__name__}: {exc}", err=True)
            sys.exit(EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


def echo_json(data: Any) -> None:
    """Print JSON (UTF-8, Chinese kept readable)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
