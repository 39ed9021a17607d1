"""Issue 13 item 6: revocation against CRLs made by a real ``openssl ca -gencrl``.

A fixture CA directory per key kind (RSA, and SM2 signed with the standard ID
``-sigopt distid:1234567812345678``, /work/shared/reference/interop.md) holds the OpenSSL CA
database (``index.txt``) with one certificate revoked ten days ago; ``openssl ca -gencrl`` makes
the CRL from it. Each case is checked through the API and through ``ezhifu verify --crl --json``.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem
from click.testing import CliRunner

from ezhifu.cli.main import cli as main
from ezhifu.document.envelope import Envelope
from ezhifu.errors import MalformedCRL
from ezhifu.pki.keys import dump_certificates
from ezhifu.pki.path import validate_chain
from ezhifu.pki.revocation import MAX_CRL_BYTES, load_crl
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import EnvelopeResult
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.make import make_seal
from ezhifu.sign import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope

_CNF = """\
[ca]
default_ca = CA_default
[CA_default]
dir = {dir}
database = {dir}/index.txt
crlnumber = {dir}/crlnumber
default_md = {md}
default_crl_days = 30
"""


@dataclass
class CaDir:
    pki: TestPKI
    revoked: SoftwareSigner
    good: SoftwareSigner
    folder: Path
    crl_pem: Path

    def crl(self, name: str, *extra: str) -> Path:
        """Run ``openssl ca -gencrl`` again (``extra`` options) into ``name``."""
        return _gencrl(self.folder, self.pki, self.folder / name, *extra)


def _index_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%y%m%d%H%M%SZ")


def _gencrl(folder: Path, pki: TestPKI, out: Path, *extra: str) -> Path:
    sm2 = pki.kind == "sm2"
    command = [
        "openssl",
        "ca",
        "-gencrl",
        "-batch",
        "-config",
        str(folder / "ca.cnf"),
        "-keyfile",
        str(folder / "root.key.pem"),
        "-cert",
        str(folder / "root.pem"),
        "-out",
        str(out),
    ]
    if sm2 and "--empty-id" not in extra:
        command += ["-sigopt", "distid:1234567812345678"]
    command += [e for e in extra if e != "--empty-id"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return out


def _ca_dir(tmp: Path, kind: str, prefix: str = "crl") -> CaDir:
    pki = make_pki(kind, subject_prefix=f"{prefix} {kind}")
    pki.write_pem(tmp)
    now = datetime.now(UTC).replace(microsecond=0)
    revoked_cert, revoked_key = pki.issue_leaf("revoked signer")
    good_cert, good_key = pki.issue_leaf("good signer")
    line = (
        f"R\t{_index_time(revoked_cert.not_valid_after)}\t"
        f"{_index_time(now - timedelta(days=10))},keyCompromise\t"
        f"{revoked_cert.serial_number:040X}\tunknown\t/CN=revoked signer\n"
    )
    (tmp / "index.txt").write_text(line)
    (tmp / "crlnumber").write_text("01\n")
    (tmp / "ca.cnf").write_text(_CNF.format(dir=tmp, md="sm3" if kind == "sm2" else "sha256"))
    crl_pem = _gencrl(tmp, pki, tmp / "crl.pem")
    return CaDir(
        pki, SoftwareSigner(revoked_key, revoked_cert), SoftwareSigner(good_key, good_cert), tmp, crl_pem
    )


@pytest.fixture(scope="module", params=["rsa2048", "sm2"])
def ca(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CaDir:
    return _ca_dir(tmp_path_factory.mktemp(f"ca-{request.param}"), str(request.param))


def _policy(ca: CaDir, *crls: Path, mode: str = "hard-fail") -> VerifyPolicy:
    return VerifyPolicy(
        check_crl=True, crls=tuple(load_crl(p.read_bytes()) for p in crls), revocation_unavailable=mode
    )


def _check(
    ca: CaDir,
    tmp_path: Path,
    envelope: Envelope,
    crls: tuple[Path, ...],
    *,
    mode: str = "hard-fail",
    at: datetime | None = None,
) -> tuple[EnvelopeResult, dict[str, Any]]:
    data = envelope.to_bytes()
    (tmp_path / "env.xml").write_bytes(data)
    trust = TrustStore(roots=[ca.pki.root_cert])
    policy = _policy(ca, *crls, mode=mode) if crls else VerifyPolicy()
    result = verify_envelope(data, trust=trust, policy=policy, at=at)
    extra = ["--at", at.isoformat()] if at is not None else []
    args = ["verify", str(tmp_path / "env.xml"), "--trust", str(ca.folder / "root.pem"), "--json"]
    for crl in crls:
        args += ["--crl", str(crl)]
    out = CliRunner().invoke(main, [*args, "--revocation-unavailable", mode, *extra])
    report = json.loads(out.output)
    assert report["valid"] is result.valid and out.exit_code == (0 if result.valid else 1), out.output
    return result, report


def _chain_evidence(report: dict[str, Any]) -> str:
    item = report["bodies"][0]["items"][0]
    return json.dumps([s for s in item["steps"] if s["name"] == "chain"])


def _signed(envelope: Envelope, signer: SoftwareSigner) -> Envelope:
    sign_envelope(envelope, signer, "cz_dwfz")
    return Envelope.from_bytes(envelope.to_bytes())


def test_a_signer_revoked_ten_days_ago_is_refused(ca: CaDir, tmp_path: Path, envelope: Envelope) -> None:
    signed = _signed(envelope, ca.revoked)
    assert verify_envelope(
        signed.to_bytes(), trust=TrustStore(roots=[ca.pki.root_cert])
    ).valid  # without CRLs
    result, report = _check(ca, tmp_path, signed, (ca.crl_pem,))
    reason = result.bodies[0].items[0].reason or ""
    assert not result.valid and "revoked on" in reason and "key_compromise" in reason
    assert "revoked on" in report["bodies"][0]["items"][0]["reason"]


def test_a_good_signer_keeps_the_crl_as_evidence(ca: CaDir, tmp_path: Path, envelope: Envelope) -> None:
    der = tmp_path / "crl.der"
    der.write_bytes(load_crl(ca.crl_pem.read_bytes()))  # DER works as well as PEM
    result, report = _check(ca, tmp_path, _signed(envelope, ca.good), (der,))
    assert result.valid
    evidence = _chain_evidence(report)
    assert "not revoked" in evidence and "sha256=" in evidence and "nextUpdate=" in evidence


def test_an_outdated_crl_is_unavailable_hard_or_soft(ca: CaDir, tmp_path: Path, envelope: Envelope) -> None:
    """Revocation is checked at the check time (a parameter): the CRL is outdated 40 days on."""
    signed = _signed(envelope, ca.good)
    later = datetime.now(UTC) + timedelta(days=40)
    hard, report = _check(ca, tmp_path, signed, (ca.crl_pem,), at=later)
    assert not hard.valid and "is outdated" in (hard.bodies[0].items[0].reason or "")
    soft, report = _check(ca, tmp_path, signed, (ca.crl_pem,), at=later, mode="soft-fail")
    assert soft.valid and "revocation unavailable (accepted: soft-fail)" in _chain_evidence(report)
    assert "is outdated" in _chain_evidence(report)
    cert = ca.good.certificate
    assert cert is not None
    early = cert.not_valid_before - timedelta(hours=2)
    chain = validate_chain(
        cert,
        trust=TrustStore(roots=[ca.pki.root_cert]),
        policy=_policy(ca, ca.crl_pem),
        at=early,
    )
    assert not chain.trusted  # (the certificate is not valid yet either)


def test_a_crl_by_another_ca_or_with_the_wrong_sm2_id(ca: CaDir, tmp_path: Path, envelope: Envelope) -> None:
    other = _ca_dir(tmp_path / "other", ca.pki.kind, prefix="other")
    signed = _signed(envelope, ca.good)
    hard, _ = _check(ca, tmp_path, signed, (other.crl_pem,))
    assert not hard.valid and "no CRL from issuer" in (hard.bodies[0].items[0].reason or "")
    # a look-alike CA (same name, other key) signed this CRL: refused by its signature
    twin = _ca_dir(tmp_path / "twin", ca.pki.kind)
    forged, _ = _check(ca, tmp_path, signed, (twin.crl_pem,))
    assert "signature does not verify" in (forged.bodies[0].items[0].reason or "")
    soft, report = _check(ca, tmp_path, signed, (other.crl_pem,), mode="soft-fail")
    assert soft.valid and "no CRL from issuer" in _chain_evidence(report)
    if ca.pki.kind == "sm2":  # OpenSSL 3.0 without distid signs with the empty ID
        wrong = ca.crl("empty-id.pem", "--empty-id")  # an OpenSSL default, non-standard
        bad, _ = _check(ca, tmp_path, signed, (wrong,))
        assert "signature does not verify" in (bad.bodies[0].items[0].reason or "")


def test_a_stamp_by_a_holder_revoked_ten_days_ago_is_refused(
    ca: CaDir, tmp_path: Path, envelope: Envelope
) -> None:
    """Finding 2's revocation case: the seal holder's signing certificate is checked too."""
    now = datetime.now(UTC).replace(microsecond=0)
    seal = make_seal(
        ca.pki.signer(),
        seal_id="0123456789abcdef0123456789abcdef",
        name="吊销测试章",
        valid_from=now - timedelta(days=30),
        valid_to=now + timedelta(days=30),
        holder_certs=[ca.revoked.certificate],
        picture=b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
        width_mm=40,
        height_mm=40,
    )
    for body in envelope.bodies:
        apply_seal(body, seal, ca.revoked, "cz_dwgz")
    stamped = Envelope.from_bytes(envelope.to_bytes())
    trust = TrustStore(roots=[ca.pki.root_cert], seal_makers=[ca.pki.root_cert])
    plain = verify_envelope(stamped.to_bytes(), trust=trust)
    assert plain.valid, [i.reason for b in plain.bodies for i in b.items]  # without CRL checking
    result = verify_envelope(stamped.to_bytes(), trust=trust, policy=_policy(ca, ca.crl_pem))
    assert not result.valid and "revoked on" in (result.bodies[0].items[0].reason or "")
    (tmp_path / "env.xml").write_bytes(stamped.to_bytes())
    (tmp_path / "root.pem").write_bytes(dump_certificates([ca.pki.root_cert]))
    out = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path / "env.xml"),
            "--trust",
            str(tmp_path / "root.pem"),
            "--seal-maker-trust",
            str(tmp_path / "root.pem"),
            "--crl",
            str(ca.crl_pem),
            "--json",
        ],
    )
    assert out.exit_code == 1 and "revoked on" in out.output


def test_hostile_crl_files_are_refused_with_named_errors(tmp_path: Path) -> None:
    with pytest.raises(MalformedCRL, match=r"not a DER X\.509 CRL"):
        load_crl(b"\x30\x03\x02\x01\x01")
    with pytest.raises(MalformedCRL, match="expected 'X509 CRL'"):
        load_crl(pem.armor("CERTIFICATE", b"\x30\x00"))
    with pytest.raises(MalformedCRL, match="limit"):
        load_crl(b"\x30" * (MAX_CRL_BYTES + 1))
    (tmp_path / "bad.crl").write_bytes(b"not a crl")
    (tmp_path / "env.xml").write_bytes(b"<x/>")
    (tmp_path / "t.pem").write_bytes(dump_certificates([make_pki("sm2").root_cert]))
    out = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path / "env.xml"),
            "--trust",
            str(tmp_path / "t.pem"),
            "--crl",
            str(tmp_path / "bad.crl"),
        ],
    )
    assert out.exit_code == 2 and "CRL" in out.output


def test_view_takes_the_same_revocation_options(ca: CaDir, tmp_path: Path, envelope: Envelope) -> None:
    (tmp_path / "env.xml").write_bytes(_signed(envelope, ca.revoked).to_bytes())
    base = ["view", str(tmp_path / "env.xml"), "--trust", str(ca.folder / "root.pem")]
    plain = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "plain.html")])
    assert plain.exit_code == 0
    revoked = CliRunner().invoke(main, [*base, "--crl", str(ca.crl_pem), "-o", str(tmp_path / "crl.html")])
    assert revoked.exit_code == 1 and "revoked on" in (tmp_path / "crl.html").read_text(encoding="utf-8")
