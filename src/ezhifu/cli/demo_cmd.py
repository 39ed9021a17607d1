"""``ezhifu demo``: the whole job once, with a readable report (see :mod:`ezhifu.cli.demo`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, echo_json, handle_errors, mark
from ezhifu.cli.i18n import _, current_language
from ezhifu.cli.options import DIR_PATH, json_option

__all__ = ["command"]


@click.command("demo")
@click.option(
    "-o",
    "--output",
    "--out",
    "out_dir",
    type=DIR_PATH,
    default=Path("ezhifu-demo"),
    show_default=True,
    help=(
        "Directory for envelope.xml, root.pem, seal-maker-root.pem, parties.toml and voucher.html"
        " (created if needed; --out is an alias)."
    ),
)
@click.option(
    "--test-keys",
    type=DIR_PATH,
    default=None,
    help="Also write the throwaway signer key, chain, root and seal to this directory "
    "(test only: to try ezhifu sign and seal apply).",
)
@click.option(
    "--service",
    "service_dir",
    type=DIR_PATH,
    default=None,
    help="Instead: write a three-party service setup (finance, pbc, bank) into this directory.",
)
@click.option("--base-port", type=click.IntRange(1, 65000), default=8701, show_default=True)
@json_option
@handle_errors
def command(
    out_dir: Path, as_json: bool, test_keys: Path | None, service_dir: Path | None, base_port: int
) -> None:
    """Build, validate, sign, seal (v4) and verify a 5201 voucher with a throwaway SM2 test PKI.

    Writes the signed and sealed envelope (envelope.xml), the demo's root certificates by
    purpose (root.pem for the signer, seal-maker-root.pem for the seal maker), the parties file
    (parties.toml) and an HTML view (voucher.html) to -o DIR, so that

        ezhifu verify OUT/envelope.xml --trust OUT/root.pem
            --seal-maker-trust OUT/seal-maker-root.pem --parties OUT/parties.toml

    verifies the result. The keys exist only in memory (unless --test-keys DIR writes them);
    the seal is a software test seal with no legal effect. Exit 0 when every step succeeded
    and everything verified.
    """
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.cli.demo import DemoStep, run_demo

    if service_dir is not None:
        _service_setup(service_dir, base_port, as_json)
        return

    def show(step: DemoStep) -> None:
        if not as_json:
            detail = f": {step.detail}" if step.detail else ""
            click.echo(f"{mark(step.ok)} {step.name}{detail}")

    if not as_json:
        click.echo(f"ezhifu demo -> {out_dir}")
    result = run_demo(out_dir, on_step=show, test_keys=test_keys, language=current_language())
    if as_json:
        echo_json(result.to_dict())
    else:
        if result.verification is not None:
            click.echo("")
            for body in result.verification.bodies:
                for item in body.items:
                    why = "" if item.valid else f" ({item.reason})"
                    click.echo(f"  {mark(item.valid)} {item.kind} at {item.position}{why}")
        click.echo("")
        if result.ok:
            parties = result.root_path.parent / "parties.toml" if result.root_path else "parties.toml"
            click.echo(
                _(
                    "All verified. Try: ezhifu verify {envelope} --trust {root} --seal-maker-trust "
                    "{seal_maker_root} --parties {parties}"
                ).format(
                    envelope=result.envelope_path,
                    root=result.root_path,
                    seal_maker_root=result.seal_maker_root_path,
                    parties=parties,
                )
            )
            click.echo(_("Open the view: {path}").format(path=result.html_path))
        else:
            click.echo(_("The demo did not complete: see the ✗ step above."), err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _service_setup(directory: Path, base_port: int, as_json: bool) -> None:
    """``--service DIR``: configs, test keystores, trust and peers for three services."""
    # reason: verbs load lazily; the PKI and keystore code load only when this option is used
    from ezhifu.cli.demo import seal_picture_png
    from ezhifu.testing.service_setup import write_service_setup  # reason: as above

    paths = write_service_setup(directory, picture=seal_picture_png(), base_port=base_port)
    if as_json:
        echo_json({party: str(path) for party, path in paths.items()})
        return
    click.echo(f"Three-party service setup (TEST keys and seals only) in {directory}:")
    for party, path in paths.items():
        click.echo(f"  ezhifu serve {path}        # {party}")
    click.echo("Then follow docs/service.md for one voucher from finance to the People's Bank and back.")
