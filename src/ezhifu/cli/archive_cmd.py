"""``ezhifu archive``: DA/T 95—2022 archive packages (create, check, revalidate, renew).

Examples::

    ezhifu archive create envelope.xml receipt.xml --trust roots.pem \\
        --keystore archive.toml --alias archive --registry bookings.sqlite -o 2026-0042.zip
    ezhifu archive check 2026-0042.zip --archive-trust archive-root.pem
    ezhifu archive revalidate 2026-0042.zip --archive-trust archive-root.pem [--at TIME] [--json]
    ezhifu archive renew 2026-0042.zip --keystore archive.toml --alias archive -o 2026-0042.r1.zip

Exit codes (as every verb): 0 written / every check passed / valid as of the evidence time;
1 refused or failed (verification failed, voucher already booked, a failed check, a hostile
zip); 2 usage or configuration error. See docs/archive.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ezhifu.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    MAX_SMALL_FILE_BYTES,
    echo_json,
    handle_errors,
    mark,
    print_table,
    read_input,
)
from ezhifu.cli.keyopts import KeySource, key_options, open_signer
from ezhifu.cli.options import (
    EXISTING_FILE,
    FILE_PATH,
    at_option,
    json_option,
    parse_time,
    policy_option,
    positions_option,
    trust_option,
    verify_policy,
)
from ezhifu.cli.output import is_stdout, note, output_option, write_output
from ezhifu.cli.verify_cmd import load_positions
from ezhifu.errors import ConfigurationError

if TYPE_CHECKING:
    from ezhifu.archive.package import CreatedPackage
    from ezhifu.archive.registry import Registry
    from ezhifu.pki.trust import TrustStore  # reason: loaded when the verb runs

__all__ = ["command"]

F = TypeVar("F", bound=Callable[..., Any])

#: Largest package or envelope file read by these verbs (bytes; the zip reader's own limit).
MAX_PACKAGE_FILE_BYTES = 256 << 20

#: An existing file to read; the PACKAGE argument of the verbs that read a package.
_PACKAGE = click.argument("package", type=EXISTING_FILE)


def _trust(paths: tuple[Path, ...]) -> TrustStore | None:
    from ezhifu.pki.trust import TrustStore  # reason: keep the CLI's help fast (no crypto import)

    return TrustStore.from_pem_files(paths) if paths else None


def _archive_trust_option(help: str) -> Callable[[F], F]:
    """``--archive-trust FILE`` (repeatable) of ``check`` and ``revalidate``: the archiving party's root."""
    return click.option(
        "--archive-trust", "archive_trust_files", multiple=True, type=EXISTING_FILE, help=help
    )


def _refuse_existing(output: Path) -> None:
    """An archive never replaces a stored package: ``-o`` must name a new file (exit 2)."""
    if is_stdout(output):
        return
    if output.exists():
        raise ConfigurationError(
            f"{output}: 文件已存在 / already exists; an archive package is never overwritten"
        )


@click.group("archive")
def command() -> None:
    """Archive vouchers as DA/T 95—2022 packages and check them (四性) years later."""


@command.command("create")
@click.argument("envelope", type=EXISTING_FILE)
@click.argument("receipt", required=False, type=EXISTING_FILE)
@trust_option("PEM file of trusted roots for the voucher signatures and seals (repeatable).", required=True)
@policy_option()
@click.option(
    "--crl",
    "crl_files",
    multiple=True,
    type=EXISTING_FILE,
    help="DER CRL to check revocation against; stored in the package as evidence (repeatable).",
)
@output_option("Package file to write (zip; written atomically; '-' for standard output).")
@click.option(
    "--registry", type=FILE_PATH, help="SQLite booking registry: a voucher already booked there is refused."
)
@click.option(
    "--received-at", "received_text", metavar="ISO-TIME", help="When the envelope was received (E.1 接收)."
)
@click.option("--archivist", help="Archiving party's name (D.1; default: the signing certificate's CN).")
@positions_option("Position table (JSON or TOML) {VtCode: [position, ...]}, as for ezhifu verify; recorded.")
@click.option("--pdf", is_flag=True, help="Also store a PDF rendition of each envelope (headless Chromium).")
@click.option(
    "--allow-invalid", is_flag=True, help="Archive even when a signature or seal fails (verdict kept)."
)
@key_options
@json_option
@handle_errors
def create_command(
    envelope: Path,
    receipt: Path | None,
    trust_files: tuple[Path, ...],
    policy_name: str,
    crl_files: tuple[Path, ...],
    output: Path,
    registry: Path | None,
    received_text: str | None,
    archivist: str | None,
    positions_file: Path | None,
    pdf: bool,
    allow_invalid: bool,
    key_source: KeySource,
    as_json: bool,
) -> None:
    """Write one package for ENVELOPE (and the RECEIPT answering it), signed with the archive's key."""
    from ezhifu.archive.registry import Registry  # reason: loaded when the verb runs
    from ezhifu.pki.trust import TrustStore  # reason: loaded when the verb runs

    policy = verify_policy(policy_name)
    if crl_files:
        crls = tuple(read_input(p, max_bytes=MAX_SMALL_FILE_BYTES) for p in crl_files)
        policy = policy.replace(check_crl=True, crls=crls)
    _refuse_existing(output)
    received = parse_time(received_text, "--received-at")
    envelope_bytes = read_input(envelope, max_bytes=MAX_PACKAGE_FILE_BYTES)
    receipt_bytes = read_input(receipt, max_bytes=MAX_PACKAGE_FILE_BYTES) if receipt else None
    options: dict[str, Any] = {
        "trust": TrustStore.from_pem_files(trust_files),
        "policy": policy,
        "received_at": received,
        "archivist": archivist,
        "allow_invalid": allow_invalid,
        "pdf": pdf,
        "positions": load_positions(positions_file) if positions_file is not None else None,
    }
    with open_signer(key_source) as (signer, chain):
        if registry is None:
            package = _write_package(
                output, envelope_bytes, receipt_bytes, None, signer=signer, chain=chain, **options
            )
        else:
            with Registry(registry) as books:
                package = _write_package(
                    output, envelope_bytes, receipt_bytes, books, signer=signer, chain=chain, **options
                )
    summary = {
        "package": package.package_id,
        "file": str(output),
        "valid": package.valid,
        "vouchers": [b.voucher_no for b in package.bookings],
        "booked": registry is not None,
    }
    if as_json:
        echo_json(summary)
    else:
        verdict = (
            "all signatures and seals valid" if package.valid else "verification FAILED (archived as such)"
        )
        booked = f", booked in {registry}" if registry else ""
        said = f"wrote {output}: package {package.package_id}, {len(package.bookings)} voucher(s){booked}"
        note(f"{said}; {verdict}", output)  # with -o - the package is on stdout
    sys.exit(EXIT_OK)


def _write_package(
    output: Path, envelope: bytes, receipt: bytes | None, registry: Registry | None, **options: Any
) -> CreatedPackage:
    """:func:`ezhifu.archive.package.write_package`, or with ``-o -`` the package on stdout (booked
    in ``registry`` around the write, as the file is)."""
    from ezhifu.archive.package import create_package, write_package  # reason: loaded when the verb runs

    if not is_stdout(output):
        return write_package(output, envelope, receipt, registry=registry, **options)
    package = create_package(envelope, receipt, **options)
    if registry is None:
        write_output(output, package.data)
    else:
        with registry.booking(package.bookings):
            write_output(output, package.data)
    return package


def _print_check(report_items: list[dict[str, str]]) -> None:
    from ezhifu.archive.check_items import PROPERTIES  # reason: loaded when the verb runs

    labels: dict[str, str] = {str(k): v for k, v in PROPERTIES.items()}
    rows = [
        (
            f"{i['property']} {labels.get(i['property'], '')}",
            i["name"],
            i["label"],
            i["outcome"],
            i["reason"][:100],
        )
        for i in report_items
    ]
    print_table(("property", "item", "检查项", "outcome", "reason"), rows)


@command.command("check")
@_PACKAGE
@_archive_trust_option("PEM file of the archiving party's root: the manifest signer must chain to it.")
@json_option
@handle_errors
def check_command(package: Path, archive_trust_files: tuple[Path, ...], as_json: bool) -> None:
    """Run the 四性 checks (authentic, complete, usable, secure) on PACKAGE, item by item."""
    from ezhifu.archive.check import check_package  # reason: loaded when the verb runs

    report = check_package(
        read_input(package, max_bytes=MAX_PACKAGE_FILE_BYTES), archive_trust=_trust(archive_trust_files)
    )
    data = report.to_dict()
    if as_json:
        echo_json({**data, "file": str(package)})
    else:
        _print_check(data["items"])
        failed = len(report.failed)
        click.echo(
            f"{package}: {mark(report.ok)} "
            f"{'all checks passed' if report.ok else f'{failed} check(s) FAILED'}"
        )
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


@command.command("revalidate")
@_PACKAGE
@_archive_trust_option("PEM file of the archiving party's root (needed for a valid verdict).")
@trust_option("Trust for today's verdict (default: the anchors stored in the package).")
@at_option("Evaluate at this time instead of the evidence time.")
@json_option
@handle_errors
def revalidate_command(
    package: Path,
    archive_trust_files: tuple[Path, ...],
    trust_files: tuple[Path, ...],
    at_text: str | None,
    as_json: bool,
) -> None:
    """Re-evaluate every signature and seal of PACKAGE against its stored evidence (no network)."""
    from ezhifu.archive.revalidate import revalidate_package  # reason: loaded when the verb runs

    result = revalidate_package(
        read_input(package, max_bytes=MAX_PACKAGE_FILE_BYTES),
        archive_trust=_trust(archive_trust_files),
        trust=_trust(trust_files),
        at=parse_time(at_text),
    )
    if as_json:
        echo_json({**result.to_dict(), "file": str(package)})
        sys.exit(EXIT_OK if result.valid else EXIT_FAILED)
    when = result.evidence_time.isoformat() if result.evidence_time else "unknown"
    click.echo(f"{package}: package {result.package_id}, evidence time {when} ({result.evidence_source})")
    for item in result.check.items:
        if item.outcome != "pass":
            click.echo(f"  check {item.name}: {item.outcome}: {item.reason}")
    for problem in result.problems:
        click.echo(f"  problem: {problem}")
    for env in result.envelopes:
        click.echo(
            f"  {env.file}: archived {mark(env.archived_valid)}  "
            f"as of evidence time {mark(env.as_of.valid)}  "
            f"today {mark(env.today.valid)}; revocation: {env.revocation}"
        )
        for body in env.today.bodies:
            for reason in body.reasons:
                click.echo(f"    today: {reason}")
    click.echo(f"{mark(result.valid)} {'valid as of the evidence time' if result.valid else 'NOT valid'}")
    sys.exit(EXIT_OK if result.valid else EXIT_FAILED)


@command.command("renew")
@_PACKAGE
@output_option("Renewed package to write (the original stays as it is; '-' for standard output).")
@key_options
@handle_errors
def renew_command(package: Path, output: Path, key_source: KeySource) -> None:
    """Add a fresh signature over every stored file of PACKAGE (before keys or algorithms expire)."""
    from ezhifu.archive.revalidate import renew_package  # reason: loaded when the verb runs

    _refuse_existing(output)
    data = read_input(package, max_bytes=MAX_PACKAGE_FILE_BYTES)
    with open_signer(key_source) as (signer, chain):
        renewed = renew_package(data, signer, chain=chain)
    write_output(output, renewed, inputs=(package,))  # atomically, 0644 (archive.container)
    note(f"wrote {output}: {package} with one more renewal signature", output)
    sys.exit(EXIT_OK)
