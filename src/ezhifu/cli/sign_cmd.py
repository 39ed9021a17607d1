"""``ezhifu sign``: add a ``<Signature>`` at a position to every (or one) voucher of an envelope.

Example::

    ezhifu sign in.xml --key key.pem --password-env KEY_PW --cert cert.pem --position cz_dwfz -o out.xml

The envelope is validated first (partner level) and an invalid voucher is refused, exit 1,
every problem listed, unless ``--no-validate``; the position must be a known position name
(:mod:`ezhifu.cli.checks`).

The signature is a detached CMS over the exact Base64 text of ``<Voucher>`` (spec.md §5.3);
without ``--signed-attributes`` it has none, as the deployed partners expect. The output file
is written atomically (a temporary file in the same directory, then renamed), so a failure
never leaves a half-written envelope behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from ezhifu.cli.checks import (
    declared_positions,
    no_validate_option,
    parties_option,
    position_argument,
    validate_first,
)
from ezhifu.cli.common import handle_errors, read_input
from ezhifu.cli.i18n import _
from ezhifu.cli.keyopts import KeySource, key_options, open_signer
from ezhifu.cli.options import EXISTING_FILE, tsa_option
from ezhifu.cli.output import check_output, force_option, is_stdout, output_option, write_output
from ezhifu.document.xmlparse import DEFAULT_MAX_BYTES
from ezhifu.keystore.audit_use import audit_context

if TYPE_CHECKING:
    from ezhifu.sign.cms import OidStyle

__all__ = ["command"]


@click.command(name="sign")
@click.argument("file", type=EXISTING_FILE)
@key_options
@click.option("--position", required=True, metavar="POS", help="Signature position (e.g. cz_dwfz).")
@parties_option
@click.option("--voucher-no", metavar="N", help="Sign only the VoucherBody with this VoucherNo.")
@click.option(
    "--signed-attributes",
    is_flag=True,
    help="Add CMS signed attributes (content type, message digest, signing time); partners use none.",
)
@click.option(
    "--oid-style",
    type=click.Choice(["gbt35275", "pkcs7"]),
    help="CMS object identifiers for SM2 (default gbt35275; RSA always uses pkcs7).",
)
@output_option("Output envelope ('-' for standard output; never the input file).")
@tsa_option
@force_option
@no_validate_option
@handle_errors
def command(
    file: Path,
    key_source: KeySource,
    position: str,
    voucher_no: str | None,
    signed_attributes: bool,
    oid_style: str | None,
    output: Path,
    tsa_url: str | None,
    no_validate: bool,
) -> None:
    """Sign the vouchers of envelope FILE at POS (detached CMS, spec.md §5.3).

    With --tsa URL each signature carries an RFC 3161 token over its signature value (the
    unsigned attribute id-aa-timeStampToken); an unreachable TSA is refused (exit 1)."""
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.document.envelope import Envelope
    from ezhifu.pki.tsp import fetch_token
    from ezhifu.sign.voucher import sign_envelope

    check_output(output, inputs=(file,))
    position_argument(position)
    data = read_input(file, max_bytes=DEFAULT_MAX_BYTES)
    if not no_validate:
        validate_first(data, str(file), verb="sign")
    envelope = Envelope.from_bytes(data)
    with (
        open_signer(key_source) as (signer, chain),
        audit_context("cli sign", position=position, voucher_no=voucher_no or ""),
    ):
        if oid_style == "gbt35275" and signer.algorithm.key_kind != "sm2":
            raise click.UsageError("--oid-style gbt35275 applies to SM2 keys only")
        elements = sign_envelope(
            envelope,
            signer,
            position,
            voucher_no=voucher_no,
            signed_attributes=signed_attributes,
            oid_style=cast("OidStyle | None", oid_style),
            chain=chain,
            validate=False,  # validated above (validate_first), or --no-validate
            positions=declared_positions(),
            timestamp_hook=(lambda value: fetch_token(tsa_url, value)) if tsa_url else None,
        )
    # Keep the input's declared encoding (GBK in every observed deployment, spec.md §2.1).
    data = envelope.to_bytes(encoding=envelope.encoding)
    write_output(output, data, inputs=(file,))
    one = len(elements) == 1
    said = _("signed {n} voucher at position {position}")
    if not one:
        said = _("signed {n} vouchers at position {position}")
    click.echo(
        said.format(n=len(elements), position=position) + ("" if is_stdout(output) else f" -> {output}"),
        err=True,
    )
