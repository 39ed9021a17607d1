"""``ezhifu build --type VT DATA -o envelope.xml``: a voucher from one's own data.

``DATA`` is JSON, TOML or CSV (by suffix, or ``--format``): header fields by element name,
``DetailList`` as rows (:mod:`ezhifu.document.build`). The voucher is validated at the strict
level (what ezhifu writes) and written as an unsigned GBK ``<MOF>`` envelope, ready for
``ezhifu sign``; ``--voucher-only`` writes the inner ``<Voucher>`` document instead.

Exit 0 written; 1 the data does not make a valid voucher (every problem listed, naming the
field and row); 2 usage errors (missing file, unknown type).
"""

from __future__ import annotations

from pathlib import Path

import click

from ezhifu.cli.common import handle_errors
from ezhifu.cli.output import check_output, force_option, output_option, write_output
from ezhifu.document.build import DATA_FORMATS, DataFormat, build_voucher, load_voucher_data
from ezhifu.document.envelope import Envelope
from ezhifu.document.fields import DEFAULT_SCHEMA_VERSION, SCHEMA_VERSIONS, known_vt_codes

__all__ = ["command"]


@click.command(name="build")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--type",
    "vt_code",
    required=True,
    type=click.Choice(known_vt_codes()),
    help="Voucher type (VtCode), e.g. 5201 or 8202.",
)
@click.option(
    "--format",
    "data_format",
    type=click.Choice(DATA_FORMATS),
    help="Data format (default: from the suffix .json, .toml or .csv).",
)
@click.option(
    "--schema-version",
    type=click.Choice(SCHEMA_VERSIONS),
    default=DEFAULT_SCHEMA_VERSION,
    show_default=True,
    help="Schema version of the voucher.",
)
@click.option("--voucher-only", is_flag=True, help="Write the inner <Voucher> document, not an envelope.")
@output_option("Output file ('-' for standard output; never the input file).")
@force_option
@handle_errors
def command(
    data: Path,
    vt_code: str,
    data_format: DataFormat | None,
    schema_version: str,
    voucher_only: bool,
    output: Path,
) -> None:
    """Build a VtCode voucher from DATA (JSON, TOML or CSV) and write an unsigned envelope."""
    check_output(output, inputs=(data,))
    voucher = build_voucher(vt_code, load_voucher_data(data, data_format), schema_version=schema_version)
    payload = voucher.to_xml() if voucher_only else Envelope.build([voucher]).to_bytes()
    write_output(output, payload, inputs=(data,))
    details = len(voucher.details)
    click.echo(
        f"built {vt_code} voucher {voucher.voucher_no} ({details} detail{'s' if details != 1 else ''}, "
        f"PayAmt {voucher.get('PayAmt', '')})" + ("" if str(output) == "-" else f" -> {output}"),
        err=True,
    )
