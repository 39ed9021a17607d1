"""``ezhifu seal make | apply | show`` and ``ezhifu verify`` on a sealed envelope."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from seal_helpers import SealWorld, png_bytes

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.seal.containers import parse_seal

SHOW = {
    "UserV1.esl": (0, "seal", "v1"),
    "UserV4.esl": (0, "seal", "v4"),
    "UserV5.esl": (0, "seal", "v5"),
    "SignedValueV4.dat": (0, "signature", "v4"),
    "SignedValueV5.dat": (0, "signature", "v5"),
    "SESealData.DER": (1, "seal", "v4"),
}


@pytest.mark.parametrize("name", sorted(SHOW))
def test_show_json_on_ofdrw_fixtures(ofdrw: Path, name: str) -> None:
    code, kind, version = SHOW[name]
    result = CliRunner().invoke(cli, ["seal", "show", str(ofdrw / name), "--json"])
    assert result.exit_code == code, result.output
    info = json.loads(result.output)
    assert (info["kind"], info["version"]) == (kind, version)
    if kind == "seal":
        assert info["maker_signature"] == ("holds" if code == 0 else "does not hold")
        assert info["picture"]["type"] in ("PNG", "GIF")
        assert info["holder_certs"] and "subject" in info["holder_certs"][0]
    else:
        assert info["signature"] == "holds"
        assert info["maker_signature"] == "holds"
        assert info["seal"]["picture"]["type"] == "PNG"


def test_show_human_and_image_out(ofdrw: Path, tmp_path: Path) -> None:
    out = tmp_path / "seal.png"
    result = CliRunner().invoke(cli, ["seal", "show", str(ofdrw / "UserV4.esl"), "--image-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "seal_id: 51f044b76510434e9bc67a1185c2fba5" in result.output
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_show_refuses_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.der"
    bad.write_bytes(b"\x04\x01\x00")
    result = CliRunner().invoke(cli, ["seal", "show", str(bad)])
    assert result.exit_code == 1
    assert "SealFormatError" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["v1", "v4"])
def test_make_apply_show_and_verify(world: SealWorld, tmp_path: Path, fmt: str) -> None:
    maker = world.maker.write_pem(tmp_path / "maker")
    holder = world.holder.write_pem(tmp_path / "holder")
    image = tmp_path / "seal.png"
    image.write_bytes(png_bytes(4, 4))
    seal_file = tmp_path / "seal.der"
    start = (world.now - timedelta(days=1)).date().isoformat()
    end = (world.now + timedelta(days=30)).date().isoformat()
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "seal", "make",
            "--maker-key", str(maker["leaf.key.pem"]), "--maker-cert", str(maker["leaf.pem"]),
            "--holder-cert", str(holder["leaf.pem"]),
            "--id", "CZ0001", "--name", "财政局业务专用章", "--image", str(image),
            "--width-mm", "40", "--height-mm", "40",
            "--valid-from", start, "--valid-to", end, "--format", fmt,
            "-o", str(seal_file),
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    seal = parse_seal(seal_file.read_bytes())
    assert (seal.version.value, seal.seal_id, seal.name) == (fmt, "CZ0001", "财政局业务专用章")
    assert seal.dump() == seal_file.read_bytes()

    maker_trust = ["--seal-maker-trust", str(maker["root.pem"])]
    shown = runner.invoke(cli, ["seal", "show", str(seal_file), "--json", *maker_trust])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["verification"]["valid"] is True
    # Issue 13 item 1: the maker's root given as a *signer* anchor does not vouch for the seal.
    as_signer = runner.invoke(
        cli, ["seal", "show", str(seal_file), "--json", "--trust", str(maker["root.pem"])]
    )
    assert as_signer.exit_code == 1, as_signer.output
    assert (
        json.loads(as_signer.output)["verification"]["reason"] == "maker not trusted: no seal-maker anchors"
    )

    envelope = tmp_path / "in.xml"
    envelope.write_bytes(Envelope.build([sample_voucher("5201"), sample_voucher("5214")]).to_bytes())
    stamped = tmp_path / "out.xml"
    applied = runner.invoke(
        cli,
        [
            "seal", "apply", str(envelope), "--seal", str(seal_file),
            "--key", str(holder["leaf.key.pem"]), "--cert", str(holder["leaf.pem"]),
            "--position", "cz_dwgz", "-o", str(stamped),
        ],
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    bodies = Envelope.from_bytes(stamped.read_bytes()).bodies
    assert [[s.no for s in b.stamps] for b in bodies] == [["cz_dwgz"], ["cz_dwgz"]]

    signer_only = ["--trust", str(maker["root.pem"]), "--trust", str(holder["root.pem"])]
    refused = runner.invoke(cli, ["verify", str(stamped), *signer_only, "--json"])
    assert refused.exit_code == 1, refused.output
    assert [(i["valid"], i["reason"]) for i in _items(json.loads(refused.output))] == [
        (False, "maker not trusted: no seal-maker anchors"),
        (False, "maker not trusted: no seal-maker anchors"),
    ]
    trust = ["--trust", str(holder["root.pem"]), *maker_trust]
    verified = runner.invoke(cli, ["verify", str(stamped), *trust, "--json"])
    assert verified.exit_code == 0, verified.output
    items = _items(json.loads(verified.output))
    assert [(i["kind"], i["position"], i["valid"], i["reason"]) for i in items] == [
        ("seal", "cz_dwgz", True, None),
        ("seal", "cz_dwgz", True, None),
    ]

    again = runner.invoke(
        cli,
        [
            "seal", "apply", str(stamped), "--seal", str(seal_file),
            "--key", str(holder["leaf.key.pem"]), "--cert", str(holder["leaf.pem"]),
            "--position", "cz_dwgz", "-o", str(tmp_path / "twice.xml"),
        ],
    )  # fmt: skip
    assert again.exit_code != 0
    assert "already stamped" in again.output


def test_verify_json_reports_a_moved_stamp(world: SealWorld, tmp_path: Path) -> None:
    from ezhifu.seal.apply import apply_seal

    env = Envelope.build([sample_voucher("5201")])
    stamp = apply_seal(env.bodies[0], world.seal("v4"), world.holder.signer(), "cz_dwgz")
    env.bodies[0].stamps[0] = type(stamp)(no="cz_dwsz", sn=stamp.sn, value=stamp.value)
    path = tmp_path / "moved.xml"
    path.write_bytes(env.to_bytes())
    maker = world.maker.write_pem(tmp_path / "maker")
    holder = world.holder.write_pem(tmp_path / "holder")
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(path),
            "--seal-maker-trust",
            str(maker["root.pem"]),
            "--trust",
            str(holder["root.pem"]),
            "--json",
        ],
    )
    assert result.exit_code == 1
    assert "stamp moved" in result.output


def test_show_image_out_refuses_svg_unless_allowed(tmp_path: Path) -> None:
    """Security review INFO-1: an SVG picture can carry script, so it is not exported by default."""
    from datetime import UTC, datetime

    from ezhifu.seal.make import make_seal
    from ezhifu.testing.pki import make_pki

    pki = make_pki("sm2")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>alert(1)</script></svg>'
    now = datetime.now(UTC)
    seal = tmp_path / "svg-seal.der"
    seal.write_bytes(
        make_seal(
            pki.signer(),
            seal_id="SVG00001",
            name="svg seal",
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=1),
            holder_certs=[pki.leaf_cert],
            picture=svg,
            picture_type="SVG",
            width_mm=40,
            height_mm=40,
        )
    )
    out = tmp_path / "picture.svg"
    refused = CliRunner().invoke(cli, ["seal", "show", str(seal), "--image-out", str(out)])
    assert refused.exit_code == 2
    assert "--allow-svg" in refused.output and not out.exists()
    allowed = CliRunner().invoke(cli, ["seal", "show", str(seal), "--image-out", str(out), "--allow-svg"])
    assert allowed.exit_code == 0, allowed.output
    assert out.read_bytes() == svg


def _items(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a one-file ``verify --json`` report (either shape)."""
    bodies = report["files"][0]["bodies"] if "files" in report else report["bodies"]
    return [item for body in bodies for item in body["items"]]
