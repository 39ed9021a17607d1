"""``ezhifu view``: write the HTML view of an envelope (see :mod:`ezhifu.report.html`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, handle_errors, purpose_trust_options, read_input

__all__ = ["command"]


@click.command("view")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="PEM file of trusted root certificates (repeatable); without it nothing is verified.",
)
@click.option(
    "--policy",
    type=click.Choice(["default", "legacy"]),
    default="default",
    show_default=True,
    help="Verification policy: 'legacy' also accepts SHA-1 and RSA-1024 (2024 vendor format).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="HTML file to write (UTF-8, self-contained); with --pdf, the PDF file.",
)
@click.option(
    "--pdf",
    "as_pdf",
    is_flag=True,
    help="Write a PDF of the same page (printed by headless Chromium, CJK fonts embedded).",
)
@purpose_trust_options
@handle_errors
def command(
    file: str,
    trust_files: tuple[str, ...],
    seal_maker_trust_files: tuple[Path, ...],
    tsa_trust_files: tuple[Path, ...],
    policy: str,
    output: Path,
    as_pdf: bool,
) -> None:
    """Write FILE (a <MOF> envelope) as one self-contained HTML page.

    The page shows each voucher's header fields with their Chinese labels, the details with
    sums, and every signature and seal at its position with its picture and, when --trust is
    given, its verification status. Exit 0 when written (and, with --trust, all verified),
    1 when verification failed (the page is still written), 2 on usage errors.
    """
    # deferred: keeps `ezhifu --help` from loading lxml and the crypto stack
    from ezhifu.report.html import render_envelope_html, write_envelope_html
    from ezhifu.report.pdf import write_pdf

    data = read_input(file)
    result = None
    if trust_files:
        # deferred: only a verifying view needs the trust and verification layers
        from ezhifu.pki.trust import TrustStore, VerifyPolicy
        from ezhifu.verify.envelope import verify_envelope

        trust = TrustStore.from_purpose_files(
            [Path(p) for p in trust_files], seal_maker_trust_files, tsa_trust_files
        )
        chosen = VerifyPolicy.legacy() if policy == "legacy" else VerifyPolicy()
        result = verify_envelope(data, trust=trust, policy=chosen)
    name = "stdin" if file == "-" else Path(file).name
    if as_pdf:
        write_pdf(output, render_envelope_html(data, result=result, source_name=name))
    else:
        write_envelope_html(output, data, result=result, source_name=name)
    if result is None:
        click.echo(f"wrote {output} (not verified: no --trust given)")
        sys.exit(EXIT_OK)
    click.echo(f"wrote {output} ({'all verified' if result.valid else 'verification FAILED'})")
    sys.exit(EXIT_OK if result.valid else EXIT_FAILED)
