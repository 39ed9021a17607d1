"""``ezhifu inspect FILE [--json]``: what an envelope or inner voucher holds.

Shows each body (envelope attributes, flag, signatures and stamps with position and SN),
the inner voucher's header fields with their Chinese labels (from the field data), X-fields
marked, the details, and the header amount against the sum of the details. Reading only:
nothing is verified here (``ezhifu verify`` does that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ezhifu.cli.common import echo_json, handle_errors, read_input
from ezhifu.document import fields as _fields
from ezhifu.document.codes import label_of
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.models import Voucher
from ezhifu.document.xmlparse import DEFAULT_MAX_BYTES, parse_xml
from ezhifu.errors import InvalidInput

__all__ = ["command", "describe_file", "describe_voucher"]


def describe_voucher(voucher: Voucher) -> dict[str, Any]:
    """A JSON-ready description of an inner voucher with labels and sums."""
    spec = _fields.spec_for(voucher.vt_code) or _fields.spec_for(voucher.vt_code, _fields.SCHEMA_VERSIONS[0])
    header = []
    for name, value in voucher.fields:
        definition = spec.header_field(name) if spec else None
        header.append(
            {
                "name": name,
                "label": definition.label if definition else None,
                "value": value,
                "x_field": bool(definition and definition.x_field),
                "observed_code_name": label_of(name, value) if value else None,
                "known": definition is not None,
            }
        )
    sums: dict[str, Any] = {}
    if spec is not None and spec.sum_rule is not None:
        rule = spec.sum_rule
        try:
            header_amount = voucher.amount(rule.header)
            total = voucher.detail_sum(rule.detail)
            sums = {
                "header_field": rule.header,
                "header": str(header_amount) if header_amount is not None else None,
                "detail_field": rule.detail,
                "details_sum": str(total),
                "equal": header_amount == total,
            }
        except InvalidInput as exc:
            sums = {"header_field": rule.header, "detail_field": rule.detail, "error": str(exc)}
    return {
        "vt_code": voucher.vt_code,
        "type_name": spec.name if spec else None,
        "model": type(voucher).__name__,
        "voucher_no": voucher.voucher_no,
        "header": header,
        "details": [dict(d.fields) for d in voucher.details],
        "detail_count": len(voucher.details),
        "sums": sums,
    }


def _describe_body(index: int, body: VoucherBody) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": index,
        "line": body.line,
        "attributes": {
            "AdmDivCode": body.adm_div_code,
            "StYear": body.st_year,
            "VtCode": body.vt_code,
            "VoucherNo": body.voucher_no,
        },
        "voucher_flag": body.voucher_flag,
        "return_reason": body.return_reason,
        "attach": body.attach,
        "signatures": [{"position": s.no, "sn": s.sn, "line": s.line} for s in body.signatures],
        "stamps": [{"position": s.no, "sn": s.sn, "line": s.line} for s in body.stamps],
        "voucher": None,
        "error": None,
    }
    try:
        out["voucher"] = describe_voucher(body.voucher)
        out["attribute_mismatches"] = [
            {"attribute": a, "envelope": e, "voucher": v} for a, e, v in body.attribute_mismatches()
        ]
    except InvalidInput as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def describe_file(data: bytes) -> dict[str, Any]:
    """Describe an envelope (root ``MOF``) or an inner voucher (root ``Voucher``)."""
    root = parse_xml(data, what="document")
    if root.tag == "Voucher":
        return {"kind": "voucher", "voucher": describe_voucher(Voucher.from_element(root))}
    envelope = Envelope.from_bytes(data, check_count=False)
    return {
        "kind": "envelope",
        "encoding": envelope.encoding,
        "voucher_count": envelope.declared_count,
        "count_matches": envelope.count_matches,
        "bodies": [_describe_body(i, b) for i, b in enumerate(envelope.bodies, 1)],
    }


def _print_voucher(v: dict[str, Any], indent: str) -> None:
    click.echo(
        f"{indent}inner voucher: VtCode {v['vt_code']} {v['type_name'] or '(unknown type)'} ({v['model']})"
    )
    width = max((len(h["name"]) for h in v["header"]), default=0)
    for h in v["header"]:
        label = h["label"] or "(unknown element)"
        mark = " [X]" if h["x_field"] else ""
        code_name = f" ({h['observed_code_name']})" if h["observed_code_name"] else ""
        click.echo(f"{indent}  {h['name']:<{width}}  {label}{mark}: {h['value']}{code_name}")
    click.echo(f"{indent}details: {v['detail_count']}")
    for i, row in enumerate(v["details"], 1):
        filled = ", ".join(f"{k}={val}" for k, val in row.items() if val)
        click.echo(f"{indent}  [{i}] {filled}")
    sums = v["sums"]
    if sums:
        if "error" in sums:
            click.echo(f"{indent}sum: cannot compute: {sums['error']}")
        else:
            verdict = "equal" if sums["equal"] else "DIFFERENT"
            click.echo(
                f"{indent}sum: header {sums['header_field']} {sums['header']} vs details "
                f"{sums['detail_field']} {sums['details_sum']}: {verdict}"
            )


@click.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def command(file: Path, as_json: bool) -> None:
    """Show the bodies, header fields (with Chinese labels), details and sums of FILE."""
    report = describe_file(read_input(file, max_bytes=DEFAULT_MAX_BYTES))
    if as_json:
        echo_json(report)
        return
    if report["kind"] == "voucher":
        _print_voucher(report["voucher"], "")
        return
    count_note = "" if report["count_matches"] else " (DIFFERS from the bodies found)"
    click.echo(
        f"envelope ({report['encoding']}): VoucherCount {report['voucher_count']}{count_note}, "
        f"{len(report['bodies'])} VoucherBody"
    )
    for body in report["bodies"]:
        attrs = " ".join(f"{k}={v}" for k, v in body["attributes"].items())
        click.echo(
            f"VoucherBody[{body['index']}] (line {body['line']}): {attrs} VoucherFlag={body['voucher_flag']}"
        )
        for kind, items in (("signature", body["signatures"]), ("stamp", body["stamps"])):
            for item in items:
                click.echo(f"  {kind} at {item['position']} SN={item['sn']} (line {item['line']})")
        if not body["signatures"] and not body["stamps"]:
            click.echo("  no signature or stamp")
        if body["error"]:
            click.echo(f"  inner voucher unreadable: {body['error']}")
            continue
        for m in body.get("attribute_mismatches", []):
            click.echo(
                f"  WARNING: envelope {m['attribute']}={m['envelope']!r} "
                f"but the signed voucher has {m['voucher']!r}"
            )
        _print_voucher(body["voucher"], "  ")
