"""``ezhifu contingency``: the contingency ladder from the command line (docs/contingency.md).

* ``ezhifu contingency drill --out DIR [--json]``: run the drill (:mod:`ezhifu.contingency.drill`)
  on a demo network (fresh test PKI, 财政 → 代理银行) and write ``drill-<id>.json`` / ``.md`` and
  the register to DIR; exit 0 when every step passed, 1 otherwise. A drill on real parties runs
  through the API with their libraries.
* ``ezhifu contingency verify-package PACKAGE --sender-cert CERT [--json]``: check an offline
  exchange package (manifest signature, SM3/SHA-256 digest of every file) and list its messages;
  exit 1 when it does not verify.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import click

from ezhifu.cli.common import echo_json, fail_usage, handle_errors, read_input
from ezhifu.cli.options import json_option
from ezhifu.contingency import ContingencyRegister, run_drill
from ezhifu.contingency.offline import verify_package
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import OfflinePackageError
from ezhifu.pki.keys import load_certificate
from ezhifu.testing.network import demo_network

__all__ = ["command"]


@click.group("contingency")
def command() -> None:
    """Contingency (应急): drills and offline exchange packages."""


@command.command("drill")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the report."
)
@click.option(
    "--key-env",
    metavar="NAME",
    help="Environment variable with the register's HMAC key (hex, >= 16 bytes); default: a one-off key.",
)
@json_option
@handle_errors
def drill_cmd(out_dir: str, key_env: str | None, as_json: bool) -> None:
    """Run the contingency drill on a demo network and write its report."""
    key = secrets.token_bytes(32)
    if key_env:
        try:
            key = bytes.fromhex(os.environ[key_env])
        except (KeyError, ValueError):
            fail_usage(f"--key-env {key_env}: 环境变量未设置或不是十六进制 / not set or not hex")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ezhifu-drill-") as work:
        net = demo_network(work)
        register = ContingencyRegister(out / "register.db", key)
        try:
            vouchers = [sample_voucher("5201", details=1, seed=f"drill-{i}") for i in range(4)]
            report = run_drill(
                net["finance"], net["bank"], set_link=net.set_link, register=register, vouchers=vouchers
            )
        finally:
            register.close()
            net.close()
    json_path, md_path = report.write(out)
    if as_json:
        echo_json({**report.to_dict(), "files": [str(json_path), str(md_path)]})
    else:
        click.echo(report.to_markdown())
        click.echo(f"wrote {json_path} and {md_path}")
    sys.exit(0 if report.ok else 1)


@command.command("verify-package")
@click.option(
    "--sender-cert", required=True, type=click.Path(dir_okay=False), help="Sender's link certificate."
)
@json_option
@click.argument("package", type=click.Path(dir_okay=False))
@handle_errors
def verify_package_cmd(sender_cert: str, as_json: bool, package: str) -> None:
    """Check an offline package's signature and digests; list its messages."""
    cert = load_certificate(read_input(sender_cert))
    try:
        manifest = verify_package(read_input(package), cert)
    except OfflinePackageError as exc:
        if as_json:
            echo_json({"ok": False, "error": str(exc)})
        else:
            click.echo(f"ezhifu: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    if as_json:
        echo_json({"ok": True, "manifest": manifest})
        return
    click.echo(f"package {manifest['package_id']}: {manifest['sender']} → {manifest['recipient']}, verified")
    for item in manifest["items"]:
        vouchers = ", ".join(item["vouchers"]) or "-"
        click.echo(f"  {item['name']}  {item['kind']:<8} {vouchers}  sm3 {item['sm3'][:16]}…")
