"""The ``ezhifu`` click group: the command table and the global options.

Verbs live in their own modules, one per verb, each exposing a click command (or group) named
``command``. They are loaded lazily (click's documented "lazily loading subcommands" pattern):
``ezhifu --help`` imports click, the catalogue and this table, no verb module, so it does not
load lxml, xmlschema or the crypto stack; ``ezhifu VERB`` imports only that verb. The short
help shown by ``ezhifu --help`` comes from :data:`VERBS`; a test checks it equals each
command's own. The console script is :func:`ezhifu.cli.main.main`, which answers ``--version``
before this module (and click) loads.
"""

from __future__ import annotations

import importlib

import click

from ezhifu.cli.i18n import _, localize, set_language

__all__ = ["CLI_HELP", "VERBS", "cli"]

#: verb -> (module providing ``command``, short help shown by ``ezhifu --help``)
VERBS: dict[str, tuple[str, str]] = {
    "archive": (
        "ezhifu.cli.archive_cmd",
        "Archive vouchers as DA/T 95—2022 packages and check them (四性)...",
    ),
    "audit": ("ezhifu.cli.audit_cmd", "Audit trails of key use (审计记录): verify against heads kept..."),
    "build": ("ezhifu.cli.build_cmd", "Build a VtCode voucher from DATA (JSON, TOML or CSV) and write..."),
    "demo": ("ezhifu.cli.demo_cmd", "Build, validate, sign, seal (v4) and verify a 5201 voucher..."),
    "contingency": (
        "ezhifu.cli.contingency_cmd",
        "Contingency (应急): drills and offline exchange packages.",
    ),
    "inspect": (
        "ezhifu.cli.inspect_cmd",
        "Show the bodies, header fields (with Chinese labels), details...",
    ),
    "keystore": ("ezhifu.cli.keystore_cmd", "Create, fill and list keystores (the safe box): keys,..."),
    "monitor": ("ezhifu.cli.monitor_cmd", "Fund monitoring: run a rule pack over envelopes, check a rule..."),
    "seal": ("ezhifu.cli.seal_cmd", "Electronic seals (GM/T 0031-2014, GB/T 38540-2020; vendor..."),
    "sign": ("ezhifu.cli.sign_cmd", "Sign the vouchers of envelope FILE at POS (detached CMS,..."),
    "validate": ("ezhifu.cli.validate_cmd", "Validate envelopes (<MOF>) or inner vouchers (<Voucher>)..."),
    "verify": ("ezhifu.cli.verify_cmd", "Verify the signatures and seals of envelope files (a..."),
    "serve": ("ezhifu.cli.serve_cmd", "Serve the 凭证库 operations (SOAP at /realware/services/..., WSDL..."),
    "view": ("ezhifu.cli.view_cmd", "Write FILE (a <MOF> envelope) as one self-contained HTML page."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see the module docstring)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*VERBS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = VERBS.get(cmd_name)
        if entry is None:
            return None
        command: click.Command = localize(importlib.import_module(entry[0]).command, ctx)
        self.commands[cmd_name] = command
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # The language first, so that click's own words (usage errors included) are in it.
        set_language(_lang_in(args))
        localize(self, ctx)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        localize(self, ctx)
        super().format_help(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _(VERBS[name][1])) for name in sorted(VERBS)]
        if rows:
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)


def _lang_in(args: list[str]) -> str | None:
    """The value of a global ``--lang zh|en`` among ``args`` (before the verb), else ``None``."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            value: str | None = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.removeprefix("--lang=")
        elif arg in VERBS:
            return None
        else:
            continue
        return value if value in ("zh", "en") else None
    return None


def _choose_language(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    set_language(value)
    return value


#: The group's help (one string, so that the catalogue can translate it as a whole).
CLI_HELP = (
    "ezhifu: treasury payment e-vouchers (国库集中支付电子凭证).\n\n"
    "Exit codes: 0 ok, 1 validation or verification failed, 2 usage, configuration or credential "
    'error (docs/cli.md, "Exit codes").'
)


@click.group(cls=LazyGroup, help=CLI_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    is_eager=True,
    expose_value=False,
    callback=_choose_language,
    help="Language of help and messages (default: zh when the locale is Chinese, e.g. LANG=zh_CN.UTF-8).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show full tracebacks on errors.")
@click.option(
    "--insecure-config-ok",
    is_flag=True,
    help="Accept configuration, key and trust files or PKCS#11 modules that others may write.",
)
@click.option(
    "--show-identifiers",
    is_flag=True,
    help="Show resident identity numbers in full (masked by default).",
)
@click.version_option(package_name="ezhifu")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, insecure_config_ok: bool, show_identifiers: bool) -> None:
    """The ``ezhifu`` group: global options into :class:`CliState` (help: :data:`CLI_HELP`)."""
    # why: cli.common (the errors, cryptography's exceptions) loads when a verb runs, not for --help
    from ezhifu.cli.common import CliState

    ctx.obj = CliState(
        verbose=verbose, insecure_config_ok=insecure_config_ok, show_identifiers=show_identifiers
    )

