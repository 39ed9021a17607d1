"""Issue 13 item 5 / finding 6 through ``ezhifu verify --json``: a voucher stamped with a seal that
carries an unknown critical extension is invalid, with the reason; the same seal without the
extension is valid (the API test is tests/seal/test_seal_extensions.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import core
from click.testing import CliRunner

from ezhifu.cli.main import cli as main
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.keys import dump_certificates
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope


def _seal(maker: TestPKI, holder: TestPKI, *, critical: bool | None) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    der = make_seal(
        maker.signer(),
        seal_id="0123456789abcdef0123456789abcdef",
        name="扩展测试章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[holder.leaf_cert],
        picture=b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
        width_mm=40,
        height_mm=40,
    )
    if critical is None:
        return der
    seal = asn1_v4.SESeal.load(der)
    info = asn1_v4.SES_SealInfo.load(seal["eSealInfo"].dump())
    ext = asn1_v4.ExtensionDatas([{"extnID": "1.2.3.4", "critical": critical, "extnValue": b"v"}])
    info["extDatas"] = core.Any.load(ext.dump())
    signed = maker.signer().sign(info.dump())  # the maker signs the new SES_SealInfo
    return bytes(
        asn1_v4.SESeal(
            {"eSealInfo": info, "cert": seal["cert"], "signAlgID": seal["signAlgID"], "signedValue": signed}
        ).dump()
    )


def _verify(
    tmp_path: Path, maker: TestPKI, holder: TestPKI, seal: bytes
) -> tuple[bool, dict[str, object], int]:
    envelope = Envelope.build([sample_voucher("5201", seed="critical-ext")])
    for body in envelope.bodies:
        apply_seal(body, seal, holder.signer(), "cz_dwgz")
    data = envelope.to_bytes()
    trust = TrustStore(roots=[holder.root_cert], seal_makers=[maker.root_cert])
    api = verify_envelope(data, trust=trust)
    (tmp_path / "env.xml").write_bytes(data)
    (tmp_path / "roots.pem").write_bytes(dump_certificates([holder.root_cert]))
    (tmp_path / "makers.pem").write_bytes(dump_certificates([maker.root_cert]))
    out = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path / "env.xml"),
            "--trust",
            str(tmp_path / "roots.pem"),
            "--seal-maker-trust",
            str(tmp_path / "makers.pem"),
            "--json",
        ],
    )
    report = json.loads(out.output)
    assert report["valid"] is api.valid
    return api.valid, report, out.exit_code


def test_an_unknown_critical_seal_extension_is_invalid_through_verify_json(tmp_path: Path) -> None:
    maker, holder = make_pki("sm2", subject_prefix="ext maker"), make_pki("sm2", subject_prefix="ext holder")
    valid, _, code = _verify(tmp_path, maker, holder, _seal(maker, holder, critical=None))
    assert valid and code == 0
    valid, _, code = _verify(tmp_path, maker, holder, _seal(maker, holder, critical=False))
    assert valid and code == 0  # a non-critical unknown extension may be ignored
    valid, report, code = _verify(tmp_path, maker, holder, _seal(maker, holder, critical=True))
    assert not valid and code == 1
    assert "carries unknown critical extension(s) 1.2.3.4" in json.dumps(report, ensure_ascii=False)
