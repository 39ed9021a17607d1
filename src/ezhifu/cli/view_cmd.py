"""``ezhifu view``: write the HTML view of an envelope (see :mod:`ezhifu.report.html`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, cli_state, handle_errors, read_input
from ezhifu.cli.i18n import _, current_language
from ezhifu.cli.options import (
    Revocation,
    TrustFiles,
    policy_option,
    purpose_trust_options,
    revocation_options,
    trust_option,
    verify_policy,
)
from ezhifu.cli.output import check_output, force_option, note, output_option, write_output

__all__ = ["command"]


@click.command("view")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@trust_option("PEM file of trusted root certificates (repeatable); without it nothing is verified.")
@policy_option("policy")
@output_option(
    "HTML file to write (UTF-8, self-contained; '-' for standard output); with --pdf, the PDF file."
)
@force_option
@click.option(
    "--pdf",
    "as_pdf",
    is_flag=True,
    help="Write a PDF of the same page (printed by headless Chromium, CJK fonts embedded).",
)
@click.option(
    "--all-fields",
    is_flag=True,
    help="Also show the header fields left empty on the form (and open the list of all fields).",
)
@purpose_trust_options
@revocation_options
@handle_errors
def command(
    file: str,
    anchors: TrustFiles,
    revocation: Revocation,
    policy: str,
    output: Path,
    as_pdf: bool,
    all_fields: bool,
) -> None:
    """Write FILE (a <MOF> envelope) as one self-contained HTML page.

    The page shows each voucher as its paper form (a layout per VtCode: title, 联, the header
    fields a clerk reads, the amount with its 大写金额, each seal and signature in its box with
    its picture and, when --trust is given, its status and trust facts), all header fields
    with their Chinese labels, and the details with sums. Exit 0 when written (and, with --trust, all
    verified), 1 when verification failed (the page is still written), 2 on usage errors.
    """
    # deferred: keeps `ezhifu --help` from loading lxml and the crypto stack
    from ezhifu.document.xmlparse import DEFAULT_MAX_BYTES
    from ezhifu.report.html import render_envelope_html
    from ezhifu.report.pdf import html_to_pdf

    inputs: tuple[str | Path, ...] = (file, *anchors.files, *revocation.crl_files)
    check_output(output, inputs=inputs)
    data = read_input(file, max_bytes=DEFAULT_MAX_BYTES)  # bounded: /dev/zero (issue 14 finding 6)
    result = None
    if anchors.signers:
        # deferred: only a verifying view needs the verification layer
        from ezhifu.verify.envelope import verify_envelope

        trust = anchors.load()
        result = verify_envelope(data, trust=trust, policy=revocation.applied(verify_policy(policy)))
    name = "stdin" if file == "-" else Path(file).name
    show = cli_state().show_identifiers
    page = render_envelope_html(
        data,
        result=result,
        source_name=name,
        show_identifiers=show,
        all_fields=all_fields,
        language=current_language(),
    )
    write_output(output, html_to_pdf(page) if as_pdf else page.encode("utf-8"), inputs=inputs)
    if result is None:
        note(_("wrote {output} (not verified: no --trust given)").format(output=output), output)
        sys.exit(EXIT_OK)
    done = _("wrote {output} (all verified)") if result.valid else _("wrote {output} (verification FAILED)")
    note(done.format(output=output), output)
    sys.exit(EXIT_OK if result.valid else EXIT_FAILED)
