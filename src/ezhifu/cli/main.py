"""Entry point of the ``ezhifu`` console script.

Verbs are registered from their own modules so each stays small: every module in
``_COMMANDS`` exposes a click command (or group) named ``command``.
"""

from __future__ import annotations

import importlib

import click

from ezhifu.cli.common import CliState

__all__ = ["cli", "main"]

# module name -> the verb it provides
_COMMANDS = (
    "ezhifu.cli.validate_cmd",
    "ezhifu.cli.inspect_cmd",
    "ezhifu.cli.sign_cmd",
    "ezhifu.cli.verify_cmd",
    "ezhifu.cli.seal_cmd",
    "ezhifu.cli.keystore_cmd",
    "ezhifu.cli.demo_cmd",
    "ezhifu.cli.view_cmd",
    "ezhifu.cli.serve_cmd",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="ezhifu")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """ezhifu: treasury payment e-vouchers (国库集中支付电子凭证).

    Exit codes: 0 ok, 1 validation or verification failed, 2 usage or configuration error.
    """
    ctx.obj = CliState(verbose=verbose)


def _register() -> None:
    for name in _COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # verb not built yet
                continue
            raise
        cli.add_command(module.command)


_register()


def main() -> None:
    cli(prog_name="ezhifu")


if __name__ == "__main__":
    main()
