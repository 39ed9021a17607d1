"""``ezhifu seal``: make a seal, apply it to vouchers, show what a seal or stamp file holds.

* ``ezhifu seal make``: a GM/T 0031-2014 (``--format v1``) or GB/T 38540-2020 (``v4``) seal signed
  by the seal maker's key. Made with a software key, a seal is for testing and development only,
  not legally effective.
* ``ezhifu seal apply``: stamp vouchers of an envelope at a position (``<SignStamp>``).
* ``ezhifu seal show``: decode a seal, a seal signature (``SES_Signature``) or a vendor stamp and
  say whether each signature in it holds. Exit 0 when every signature shown holds, 1 otherwise
  (also for a vendor seal, whose maker signature cannot be verified).

Dates (``--valid-from``/``--valid-to``) are ISO 8601 (``2026-01-01`` or
``2026-01-01T08:00:00+08:00``); without an offset they are taken as UTC.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import click

from ezhifu.cli.checks import (
    no_validate_option,
    parties_option,
    position_argument,
    position_for_bodies,
    validate_first,
)
from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, echo, echo_json, fail_usage, handle_errors, read_input
from ezhifu.cli.i18n import _
from ezhifu.cli.keyopts import (
    AUDIT_OPTIONS,
    KeySource,
    key_options,
    keystore_seal,
    maker_key_options,
    open_signer,
    read_certificates,
)
from ezhifu.cli.options import (
    EXISTING_FILE,
    FILE_PATH,
    TrustFiles,
    parse_time,
    purpose_trust_options,
    trust_option,
    tsa_option,
)
from ezhifu.cli.output import check_output, force_option, is_stdout, output_option, write_output
from ezhifu.document.xmlparse import DEFAULT_MAX_BYTES
from ezhifu.errors import EzhifuError, InvalidInput, KeyUsageError, SealFormatError
from ezhifu.keystore.audit_use import audit_context
from ezhifu.pki.certs import check_key_usage
from ezhifu.pki.trust import TrustStore, as_utc
from ezhifu.results import SealFacts
from ezhifu.seal.containers import detect_container
from ezhifu.seal.detect import MAX_SEAL_BYTES, SealKind
from ezhifu.seal.make import SealWriterVersion
from ezhifu.seal.picture import MAX_PICTURE_BYTES, is_markup, sniff_picture

__all__ = ["command"]


def _read_blob(path: Path) -> bytes:
    """A seal/stamp file: DER, or Base64 text of DER (as found inside ``<SignStamp>``)."""
    # Base64 text of a seal is 4/3 of its DER (plus line breaks).
    return _blob_of(read_input(path, max_bytes=2 * MAX_SEAL_BYTES), path)


def _blob_of(data: bytes, path: Path) -> bytes:
    """DER as given, or decoded from Base64 text (at most twice :data:`MAX_SEAL_BYTES`)."""
    if len(data) > 2 * MAX_SEAL_BYTES:
        raise SealFormatError(f"{path}: {len(data)} bytes is larger than a seal ({2 * MAX_SEAL_BYTES} bytes)")
    if data[:1] == b"\x30":
        return data
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SealFormatError(f"{path}: neither DER nor Base64 of DER") from exc


@click.group(name="seal")
def command() -> None:
    """Electronic seals (GM/T 0031-2014, GB/T 38540-2020; vendor stamps of 2024 messages).

    Seals made with software keys are for testing and development only, not legally effective.
    """


@command.command("make")
@maker_key_options
@click.option(
    "--holder-cert",
    "holder_certs",
    type=EXISTING_FILE,
    multiple=True,
    required=True,
    help="Certificate of a signer allowed to use the seal (repeatable).",
)
@click.option("--id", "seal_id", required=True, help="Seal id (esID, ASCII).")
@click.option("--name", required=True, help="Seal name.")
@click.option("--type", "seal_type", type=int, default=1, show_default=True, help="Seal type (integer).")
@click.option(
    "--image", type=EXISTING_FILE, required=True, help="Seal picture: PNG, GIF, JPG, BMP, SVG or OFD."
)
@click.option("--width-mm", type=int, required=True, help="Display width in millimetres.")
@click.option("--height-mm", type=int, required=True, help="Display height in millimetres.")
@click.option("--valid-from", required=True, help="Start of validity (ISO 8601).")
@click.option("--valid-to", required=True, help="End of validity (ISO 8601).")
@click.option(
    "--format",
    "version",
    type=click.Choice(["v1", "v4"]),
    default="v4",
    show_default=True,
    help="v1 = GM/T 0031-2014, v4 = GB/T 38540-2020.",
)
@click.option("--vid", default="ezhifu", show_default=True, help="Vendor id written in the seal header.")
@output_option("Where to write the seal (DER; '-' for standard output).")
@force_option
@click.option(
    "--allow-non-signing-maker",
    is_flag=True,
    help="Testing only: accept a maker certificate whose keyUsage cannot sign (verifiers must refuse it).",
)
@AUDIT_OPTIONS[0]
@AUDIT_OPTIONS[1]
@handle_errors
def make_command(
    maker: KeySource,
    holder_certs: tuple[Path, ...],
    seal_id: str,
    name: str,
    seal_type: int,
    image: Path,
    width_mm: int,
    height_mm: int,
    valid_from: str,
    valid_to: str,
    version: str,
    vid: str,
    output: Path,
    allow_non_signing_maker: bool,
) -> None:
    """Make a seal signed by the seal maker (testing and development only with a software key).

    The maker certificate must be valid now and its keyUsage (when present) must allow
    signing (digitalSignature or nonRepudiation): else ``KeyUsageError``, exit 1 (unless
    ``--allow-non-signing-maker``, for test fixtures that verifiers must refuse).
    """
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.seal.make import make_seal

    inputs = (maker.key, maker.cert, image, *holder_certs)
    check_output(output, inputs=inputs)
    start = as_utc(parse_time(valid_from, "--valid-from"))
    end = as_utc(parse_time(valid_to, "--valid-to"))
    holders = [read_certificates(path)[0] for path in holder_certs]
    with open_signer(maker) as (signer, _chain), audit_context("cli seal make", voucher_no=seal_id):
        if not allow_non_signing_maker:
            _check_maker_usage(signer.certificate, maker.cert)
        der = make_seal(
            signer,
            seal_id=seal_id,
            name=name,
            seal_type=seal_type,
            valid_from=start,
            valid_to=end,
            holder_certs=holders,
            picture=read_input(image, max_bytes=MAX_PICTURE_BYTES),
            width_mm=width_mm,
            height_mm=height_mm,
            version=cast("SealWriterVersion", version),  # a click.Choice of the writable versions
            vid=vid,
        )
    write_output(output, der, inputs=inputs)
    said = _("wrote {version} seal {seal_id} ({size} bytes) to {output}")
    click.echo(said.format(version=version, seal_id=seal_id, size=len(der), output=output), err=True)


def _check_maker_usage(cert: Any, path: Path | None) -> None:
    """Refuse a maker certificate whose keyUsage cannot sign (issue 13, item 5)."""
    if cert is None:
        return
    try:
        check_key_usage(cert, ("digital_signature", "non_repudiation"))
    except KeyUsageError as exc:
        raise KeyUsageError(
            f"--maker-cert {path}: 制章者证书的密钥用法不允许签名 / the maker certificate's key usage "
            f"cannot sign: {exc}"
        ) from exc


@command.command("apply")
@click.argument("file", type=EXISTING_FILE)
@click.option("--seal", "seal_path", type=EXISTING_FILE, help="The seal (DER) to apply (or --seal-alias).")
@click.option(
    "--seal-alias",
    metavar="A",
    help="Id of the seal to apply as held in the --keystore (instead of --seal FILE).",
)
@key_options
@click.option("--position", required=True, help="Stamp position, e.g. cz_dwgz.")
@parties_option
@click.option("--voucher-no", help="Stamp only this voucher (default: every voucher in the envelope).")
@output_option("Where to write the stamped envelope ('-' for standard output; never the input file).")
@tsa_option
@force_option
@no_validate_option
@handle_errors
def apply_command(
    file: Path,
    seal_path: Path | None,
    seal_alias: str | None,
    key_source: KeySource,
    position: str,
    voucher_no: str | None,
    output: Path,
    tsa_url: str | None,
    no_validate: bool,
) -> None:
    """Stamp the vouchers of envelope FILE with a seal at a position.

    The seal is a file (--seal FILE) or held in the keystore that signs
    (--keystore CONFIG --alias KEY --seal-alias SEAL). The envelope is validated first and an
    invalid voucher refused (exit 1) unless --no-validate; the position must be a known
    position name (or one declared in the --parties file). With --tsa URL each v4 stamp carries an
    RFC 3161 token over its signature value (the seal's timeStamp field); an unreachable TSA is
    refused (exit 1).
    """
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.document.envelope import Envelope
    from ezhifu.pki.tsp import fetch_token
    from ezhifu.seal.apply import apply_seal

    check_output(output, inputs=(file, seal_path))
    position_argument(position)
    data = read_input(file, max_bytes=DEFAULT_MAX_BYTES)
    if not no_validate:
        validate_first(data, str(file), verb="seal")
    envelope = Envelope.from_bytes(data)
    bodies = [envelope.body(voucher_no)] if voucher_no is not None else list(envelope.bodies)
    if not bodies:
        raise InvalidInput(f"{file}: no voucher to stamp")
    position_for_bodies(position, bodies)

    if (seal_path is None) == (seal_alias is None):
        raise click.UsageError("give exactly one of --seal FILE and --seal-alias A")
    seal_der = _read_blob(seal_path) if seal_path is not None else keystore_seal(key_source, str(seal_alias))
    with open_signer(key_source) as (signer, _chain):
        for body in bodies:
            with audit_context(
                "cli seal apply", position=position, vt_code=body.vt_code, voucher_no=body.voucher_no
            ):
                hook = (lambda value: fetch_token(tsa_url, value)) if tsa_url else None
                apply_seal(body, seal_der, signer, position, timestamp_hook=hook)
    write_output(output, envelope.to_bytes(), inputs=(file, seal_path))
    said = _("stamped {n} voucher(s) at {position}; wrote {output}")
    click.echo(said.format(n=len(bodies), position=position, output=output), err=True)


def _show_seal(der: bytes, trust: TrustStore | None) -> tuple[dict[str, Any], bool, SealFacts | None]:
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.seal.verify import verify_seal

    result = verify_seal(der, trust=trust)
    if result.seal is None:  # the parse failed: its reason is the format step's
        raise SealFormatError(result.reason or "seal: not a seal")
    info = {"kind": "seal", **result.seal.to_dict(), "verification": result.to_dict()}
    info["maker_signature"] = "holds" if result.maker_signature_ok else "does not hold"
    holds = result.maker_signature_ok and (trust is None or result.maker_trusted is True)
    return info, holds, result.seal_facts


def _show_signature(der: bytes, trust: TrustStore | None) -> tuple[dict[str, Any], bool, SealFacts | None]:
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.seal.verify import verify_ses_signature

    result = verify_ses_signature(der, None, trust=trust)
    if result.signature is None:  # the parse failed: its reason is the format step's
        raise SealFormatError(result.reason or "seal signature: not a seal signature")
    info = {"kind": "signature", **result.signature.to_dict(), "verification": result.to_dict()}
    info["signature"] = "holds" if result.signature_ok else "does not hold"
    maker_ok = result.seal is not None and result.seal.maker_signature_ok
    info["maker_signature"] = "holds" if maker_ok else "does not hold"
    holds = result.signature_ok and maker_ok and (trust is None or result.trusted)
    return info, holds, result.seal_facts


def _shown_time(value: Any) -> Any:
    """An ISO 8601 time with an offset (as JSON has it) shown in Beijing time; others as given."""
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            # reason: the report package loads lxml; ezhifu --help must not
            from ezhifu.report.localtime import display_time

            return display_time(moment)
    return value


def _human(info: dict[str, Any], indent: str = "") -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            click.echo(f"{indent}{key}:")
            _human(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            click.echo(f"{indent}{key}:")
            for number, item in enumerate(value, 1):
                click.echo(f"{indent}  [{number}]")
                _human(item, indent + "    ")
        else:
            echo(f"{indent}{key}: {_shown_time(value)}")


@command.command("show")
@click.argument("file", type=EXISTING_FILE)
@click.option(
    "--image-out",
    type=FILE_PATH,
    help="Write the seal picture here (the extension is not changed; see 'picture.type'; '-' for standard "
    "output).",
)
@trust_option("PEM file(s) of trusted certificates, to also check the certificate chains.")
@click.option(
    "--allow-svg",
    is_flag=True,
    help="Also write an SVG picture (SVG can carry script that runs when the file is opened in a browser).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@purpose_trust_options
@force_option
@handle_errors
def show_command(
    file: Path,
    image_out: Path | None,
    anchors: TrustFiles,
    allow_svg: bool,
    as_json: bool,
) -> None:
    """Show a seal, a seal signature or a vendor stamp, and whether its signatures hold.

    FILE may also be an envelope (<MOF>): every <SignStamp> of every voucher is shown, with its
    voucher and position; exit 0 only when there is at least one and every one holds.
    """
    trust = anchors.load() if anchors.files else None
    if image_out is not None:
        check_output(image_out, inputs=(file,))
    data = read_input(file, max_bytes=DEFAULT_MAX_BYTES)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        if image_out is not None:
            raise click.UsageError("--image-out takes a seal file, not an envelope (one picture per file)")
        info, holds = _show_envelope(data, file, trust)
    else:
        info, holds = _show_one(_blob_of(data, file), file, trust, image_out, allow_svg)
    info["file"] = str(file)
    # With --image-out - the picture is on stdout: the description goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if is_stdout(image_out) else contextlib.nullcontext():
        if as_json:
            echo_json(info)
        else:
            _human(info)
    sys.exit(EXIT_OK if holds else EXIT_FAILED)


def _show_envelope(data: bytes, file: Path, trust: TrustStore | None) -> tuple[dict[str, Any], bool]:
    """Every seal of an envelope: one entry per <SignStamp>, with its voucher and position."""
    # reason: a verb loads its layers when run (ezhifu --help imports no lxml)
    from ezhifu.document.envelope import Envelope, decode_element_value

    envelope = Envelope.from_bytes(data)
    stamps: list[dict[str, Any]] = []
    all_hold = True
    for index, body in enumerate(envelope.bodies, start=1):
        for stamp in body.stamps:
            where = f"{file}: VoucherBody {index} (VoucherNo {body.voucher_no}), SignStamp {stamp.no}"
            head = {
                "voucher_no": body.voucher_no,
                "vt_code": body.vt_code,
                "position": stamp.no,
                "sn": stamp.sn,
            }
            try:
                der = decode_element_value(stamp.value, where=where)
                info, holds = _show_one(der, Path(where), trust, None, False)
            except EzhifuError as exc:
                info, holds = {"error": str(exc)}, False
            all_hold = all_hold and holds
            stamps.append({**head, "holds": holds, **info})
    return {"kind": "envelope", "stamps": stamps}, bool(stamps) and all_hold


def _show_one(
    der: bytes, file: Path, trust: TrustStore | None, image_out: Path | None, allow_svg: bool
) -> tuple[dict[str, Any], bool]:
    """One seal, seal signature or vendor stamp: its description and whether it holds."""
    container = detect_container(der, what=str(file))
    facts: SealFacts | None
    if container.seal_refusal() is not None:
        # Not verifiable alone (the vendor format): described, never "holds".
        info, holds, facts = container.describe(der), False, container.facts(der)
    elif container.kind is SealKind.SEAL:
        info, holds, facts = _show_seal(der, trust)
    else:
        info, holds, facts = _show_signature(der, trust)
    image: bytes | None = None
    if image_out is not None and facts is not None:
        image = facts.picture_data
        if facts.picture is not None:
            info["picture_export"] = {"type": facts.picture.type, "mime": facts.picture.mime}
        elif facts.picture_error:
            info["picture_export"] = {"error": facts.picture_error}
    if image_out is not None and image is not None:
        # A seal's picture is partner data; SVG is active content when opened on its own
        # (security review INFO-1), so it is written only when asked for explicitly.
        # Any markup counts (an SVG behind a comment, HTML under a PNG label): issue 14 finding 6.
        if (sniff_picture(image) == "SVG" or is_markup(image)) and not allow_svg:
            fail_usage(
                f"{file}: the seal picture is SVG (or other markup), which can carry script when opened "
                "in a browser; pass --allow-svg to write it anyway"
            )
        write_output(image_out, image, inputs=(file,))
        info["image_out"] = str(image_out)
    return info, holds
