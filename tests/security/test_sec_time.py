"""Issue 13 item 2: the time model. A signer's time is a claim; validity is decided at the
verification time, a time proven by a verified RFC 3161 token, or a time the caller asserts.

Each repro runs through the API and through ``ezhifu verify --json``; the TSA is a real
``openssl ts -reply`` on 127.0.0.1 (tests/tsa_support.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem
from click.testing import CliRunner

from ezhifu.archive.package import create_package
from ezhifu.archive.reader import read_members
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope, SignStampElement, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import TsaUnreachable
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.pki.tsp import fetch_token, verify_token
from ezhifu.report.html import render_envelope_html
from ezhifu.results import ItemResult
from ezhifu.seal.apply import apply_seal, build_ses_signature, format_property_info, voucher_data
from ezhifu.seal.containers import parse_seal, parse_signature
from ezhifu.seal.make import make_seal
from ezhifu.seal.verify import verify_stamp
from ezhifu.sign.cms import timestamp_tokens
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope
from test_archive_support import make_parties, signed_pair
from tsa_support import RealTsa, free_port

NOW = datetime.now(UTC).replace(microsecond=0)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(scope="module")
def maker() -> TestPKI:
    return make_pki("sm2", subject_prefix="time seal maker")


@pytest.fixture(scope="module")
def holder() -> TestPKI:
    return make_pki("sm2", subject_prefix="time seal holder")


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealTsa]:
    with RealTsa(tmp_path_factory.mktemp("tsa")) as server:
        yield server


def _trust(maker: TestPKI, holder: TestPKI, *tsas: TestPKI) -> TrustStore:
    return TrustStore([holder.root_cert], seal_makers=[maker.root_cert], tsas=[t.root_cert for t in tsas])


def _seal(maker: TestPKI, holder_cert: Any, start: datetime, end: datetime) -> bytes:
    return make_seal(
        maker.signer(),
        seal_id="0123456789abcdef0123456789abcdef",
        name="时间测试章",
        valid_from=start,
        valid_to=end,
        holder_certs=[holder_cert],
        picture=PNG,
        width_mm=40,
        height_mm=40,
        version="v4",
    )


def _stamp(
    body: VoucherBody, seal: bytes, signer: SoftwareSigner, when: datetime, hook: Any = None
) -> SignStampElement:
    """A stamp dated ``when`` by the stamper (the standard's signing step only: no policy)."""
    der = build_ses_signature(
        seal,
        signer,
        voucher_data(body),
        format_property_info("cz_dwgz", body.vt_code, body.voucher_no),
        signing_time=when,
        timestamp_hook=hook,
    )
    element = SignStampElement(
        no="cz_dwgz", sn=parse_seal(seal).seal_id, value=base64.b64encode(der).decode()
    )
    body.stamps.append(element)
    return element


def _body() -> VoucherBody:
    return VoucherBody.from_voucher(sample_voucher("5201"))


def _steps(result: ItemResult) -> dict[str, Any]:
    return {s.name: s for s in result.steps}


def _pem(path: Path, cert: Any) -> str:
    path.write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    return str(path)


def _cli_verify(
    tmp_path: Path, body: VoucherBody, maker: TestPKI, holder: TestPKI, *extra: str
) -> tuple[int, dict[str, Any]]:
    envelope = tmp_path / "stamped.xml"
    envelope.write_bytes(Envelope.build([body]).to_bytes())
    args = [
        "verify", str(envelope), "--json",
        "--trust", _pem(tmp_path / "holder.pem", holder.root_cert),
        "--seal-maker-trust", _pem(tmp_path / "maker.pem", maker.root_cert),
        *extra,
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    item = json.loads(result.output)["bodies"][0]["items"][0]
    return result.exit_code, item


def _cli_steps(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in item["steps"]}


# --------------------------------------------------------------------------- the issue's repros


def test_backdated_stamp_with_since_expired_stamper_certificate(
    tmp_path: Path, maker: TestPKI, holder: TestPKI
) -> None:
    cert, key = holder.issue_leaf(
        "expired stamper", not_before=NOW - timedelta(days=60), not_after=NOW - timedelta(days=1)
    )
    seal = _seal(maker, cert, NOW - timedelta(days=90), NOW + timedelta(days=90))
    body = _body()
    _stamp(body, seal, SoftwareSigner(key, cert), NOW - timedelta(days=10))  # made today, dated earlier
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder))
    assert not result.valid
    steps = _steps(result)
    assert steps["signer-certificate"].outcome == "failed" and "expired" in steps["signer-certificate"].en
    assert dict(steps["time-basis"].evidence)["basis"] == "verification"
    assert result.claimed_time is not None and not result.claimed_time.verified
    code, item = _cli_verify(tmp_path, body, maker, holder)
    assert code == 1 and not item["valid"]
    assert _cli_steps(item)["signer-certificate"]["outcome"] == "failed"
    assert _cli_steps(item)["time-basis"]["evidence"]["basis"] == "verification"
    assert item["claimed_time"]["verified"] is False


def test_backdated_stamp_with_seal_expired_a_month_ago(
    tmp_path: Path, maker: TestPKI, holder: TestPKI
) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW - timedelta(days=400), NOW - timedelta(days=30))
    body = _body()
    _stamp(body, seal, holder.signer(), NOW - timedelta(days=45))  # dated inside the seal's window
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder))
    assert not result.valid
    assert _steps(result)["seal-validity"].outcome == "failed"
    assert "expired at the verification time" in _steps(result)["seal-validity"].en
    code, item = _cli_verify(tmp_path, body, maker, holder)
    assert code == 1 and _cli_steps(item)["seal-validity"]["outcome"] == "failed"
    # Asserted by the caller (--at), the same stamp is checked at that time, and reported so.
    asserted = (NOW - timedelta(days=45)).isoformat()
    code, item = _cli_verify(tmp_path, body, maker, holder, "--at", asserted)
    assert _cli_steps(item)["seal-validity"]["outcome"] == "ok"
    assert _cli_steps(item)["time-basis"]["evidence"]["basis"] == "asserted"


def test_future_dated_stamp_with_not_yet_valid_seal(tmp_path: Path, maker: TestPKI, holder: TestPKI) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW + timedelta(days=10), NOW + timedelta(days=100))
    body = _body()
    _stamp(body, seal, holder.signer(), NOW + timedelta(days=20))
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder))
    steps = _steps(result)
    assert not result.valid
    assert steps["seal-validity"].outcome == "failed" and "not yet valid" in steps["seal-validity"].en
    assert (
        steps["signing-time"].outcome == "failed"
        and "later than the verification time" in steps["signing-time"].en
    )
    code, item = _cli_verify(tmp_path, body, maker, holder)
    assert code == 1
    assert {_cli_steps(item)[n]["outcome"] for n in ("seal-validity", "signing-time")} == {"failed"}


def test_claimed_time_outside_the_seal_window_is_its_own_problem(maker: TestPKI, holder: TestPKI) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW - timedelta(days=5), NOW + timedelta(days=5))
    body = _body()
    _stamp(body, seal, holder.signer(), NOW - timedelta(days=20))  # before the seal existed
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder))
    steps = _steps(result)
    assert steps["seal-validity"].outcome == "ok"  # valid at the verification time
    assert steps["signing-time"].outcome == "failed" and "outside the seal" in steps["signing-time"].en
    assert result.reason is not None and "claimed time" in result.reason


# --------------------------------------------------------------------------- RFC 3161 tokens


def test_good_token_is_the_time_basis(tmp_path: Path, tsa: RealTsa, maker: TestPKI, holder: TestPKI) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW - timedelta(days=1), NOW + timedelta(days=30))
    body = _body()
    before = datetime.now(UTC).replace(microsecond=0)
    apply_seal(
        body, seal, holder.signer(), "cz_dwgz", timestamp_hook=lambda value: fetch_token(tsa.url, value)
    )
    after = datetime.now(UTC)
    sig = parse_signature(base64.b64decode(body.stamps[0].value))
    assert sig.time_stamp is not None
    assert verify_token(sig.time_stamp, bytes(sig.signature), trust=_trust(maker, holder, tsa.pki)).verified
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder, tsa.pki))
    assert result.valid, result.reason
    basis = dict(_steps(result)["time-basis"].evidence)
    assert basis["basis"] == "token" and "ezhifu test TSA" in basis["tsa"]
    # the TSA's genTime, in whole seconds: between the moments around the stamping (not module load)
    assert before <= datetime.fromisoformat(basis["at"]) <= after + timedelta(seconds=1)
    code, item = _cli_verify(tmp_path, body, maker, holder, "--tsa-trust", str(tsa.root_pem))
    assert code == 0, item
    assert _cli_steps(item)["timestamp"]["outcome"] == "ok"
    assert _cli_steps(item)["time-basis"]["evidence"]["basis"] == "token"
    # The HTML view shows the claim as a claim and the time basis with its TSA.
    envelope = Envelope.build([body])
    page = render_envelope_html(
        envelope, result=verify_envelope(envelope.to_bytes(), trust=_trust(maker, holder, tsa.pki))
    )
    assert "claimed time" in page and "验证时间依据 time basis: 可信时间戳 verified time-stamp" in page
    assert "ezhifu test TSA" in page


def test_token_with_imprint_over_other_bytes_fails(
    tmp_path: Path, tsa: RealTsa, maker: TestPKI, holder: TestPKI
) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW - timedelta(days=1), NOW + timedelta(days=30))
    body = _body()
    _stamp(body, seal, holder.signer(), NOW, hook=lambda value: fetch_token(tsa.url, value + b"x"))
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder, tsa.pki))
    assert not result.valid
    assert _steps(result)["timestamp"].outcome == "failed"
    assert "imprint does not match" in _steps(result)["timestamp"].en
    code, item = _cli_verify(tmp_path, body, maker, holder, "--tsa-trust", str(tsa.root_pem))
    assert code == 1 and "imprint does not match" in _cli_steps(item)["timestamp"]["reason"]["en"]


def test_untrusted_tsa_fails_and_no_tsa_anchors_falls_back(
    tmp_path: Path, tsa: RealTsa, maker: TestPKI, holder: TestPKI
) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW - timedelta(days=1), NOW + timedelta(days=30))
    body = _body()
    apply_seal(
        body, seal, holder.signer(), "cz_dwgz", timestamp_hook=lambda value: fetch_token(tsa.url, value)
    )
    other = make_pki("rsa2048", subject_prefix="other TSA")
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder, other))
    assert not result.valid
    assert "time-stamping authority not trusted" in _steps(result)["timestamp"].en
    code, item = _cli_verify(
        tmp_path, body, maker, holder, "--tsa-trust", _pem(tmp_path / "other.pem", other.root_cert)
    )
    assert code == 1 and "not trusted" in _cli_steps(item)["timestamp"]["reason"]["en"]
    # No TSA anchors at all: the token is not checked, the verification time is used (reported).
    plain = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder))
    assert plain.valid, plain.reason
    assert _steps(plain)["timestamp"].outcome == "not_checked"
    assert "no TSA anchors" in _steps(plain)["timestamp"].en
    assert dict(_steps(plain)["time-basis"].evidence)["basis"] == "verification"
    code, item = _cli_verify(tmp_path, body, maker, holder)
    assert code == 0 and _cli_steps(item)["time-basis"]["evidence"]["basis"] == "verification"


@pytest.mark.parametrize(
    ("leaf", "reason"),
    [
        ({}, "has no id-kp-timeStamping"),
        ({"extended_key_usage": ("time_stamping",)}, "is not critical"),
        (
            {
                "extended_key_usage": ("time_stamping", "email_protection"),
                "extended_key_usage_critical": True,
            },
            "not id-kp-timeStamping alone",
        ),
    ],
)
def test_tsa_certificate_without_the_critical_timestamping_eku(
    tmp_path: Path, tsa: RealTsa, maker: TestPKI, holder: TestPKI, leaf: dict[str, Any], reason: str
) -> None:
    seal = _seal(maker, holder.leaf_cert, NOW - timedelta(days=1), NOW + timedelta(days=30))
    body = _body()
    name = f"tsa {len(leaf)} {reason.split()[-1]}"
    _stamp(
        body,
        seal,
        holder.signer(),
        NOW,
        hook=lambda value: tsa.resign(fetch_token(tsa.url, value), tsa.pki, name, **leaf),
    )
    result = verify_stamp(body, body.stamps[0], trust=_trust(maker, holder, tsa.pki))
    assert not result.valid
    assert reason in _steps(result)["timestamp"].en
    code, item = _cli_verify(tmp_path, body, maker, holder, "--tsa-trust", str(tsa.root_pem))
    assert code == 1 and reason in _cli_steps(item)["timestamp"]["reason"]["en"]


def test_unreachable_tsa_is_a_named_error(tmp_path: Path, maker: TestPKI, holder: TestPKI) -> None:
    url = f"http://127.0.0.1:{free_port()}/tsa"
    with pytest.raises(TsaUnreachable, match="unreachable"):
        fetch_token(url, b"signature value", timeout=5)
    seal_file = tmp_path / "seal.der"
    seal_file.write_bytes(_seal(maker, holder.leaf_cert, NOW - timedelta(days=1), NOW + timedelta(days=30)))
    files = holder.write_pem(tmp_path / "holder")
    envelope = tmp_path / "in.xml"
    envelope.write_bytes(Envelope.build([sample_voucher("5201")]).to_bytes())
    result = CliRunner().invoke(
        cli,
        [
            "seal", "apply", str(envelope), "--seal", str(seal_file),
            "--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"]),
            "--position", "cz_dwgz", "-o", str(tmp_path / "out.xml"), "--tsa", url,
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "TsaUnreachable" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.xml").exists()


def test_cli_seal_apply_with_tsa_embeds_a_token(
    tmp_path: Path, tsa: RealTsa, maker: TestPKI, holder: TestPKI
) -> None:
    seal_file = tmp_path / "seal.der"
    seal_file.write_bytes(_seal(maker, holder.leaf_cert, NOW - timedelta(days=1), NOW + timedelta(days=30)))
    files = holder.write_pem(tmp_path / "holder")
    envelope = tmp_path / "in.xml"
    envelope.write_bytes(Envelope.build([sample_voucher("5201")]).to_bytes())
    out = tmp_path / "out.xml"
    result = CliRunner().invoke(
        cli,
        [
            "seal", "apply", str(envelope), "--seal", str(seal_file),
            "--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"]),
            "--position", "cz_dwgz", "-o", str(out), "--tsa", tsa.url,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = Envelope.from_bytes(out.read_bytes()).bodies[0]
    code, item = _cli_verify(tmp_path, body, maker, holder, "--tsa-trust", str(tsa.root_pem))
    assert code == 0, item
    assert _cli_steps(item)["time-basis"]["evidence"]["basis"] == "token"


# --------------------------------------------------------------------------- CMS signatures


@pytest.fixture(scope="module")
def signer_pki() -> TestPKI:
    return make_pki("sm2", subject_prefix="time cms signer")


def _cms_cli(
    tmp_path: Path, envelope: Envelope, signer_pki: TestPKI, *extra: str
) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "signed.xml"
    path.write_bytes(envelope.to_bytes())
    args = [
        "verify",
        str(path),
        "--json",
        "--trust",
        _pem(tmp_path / "signer.pem", signer_pki.root_cert),
        *extra,
    ]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, json.loads(result.output)["bodies"][0]["items"][0]


def test_cms_signing_time_in_the_future_is_a_problem(tmp_path: Path, signer_pki: TestPKI) -> None:
    envelope = Envelope.build([sample_voucher("5201")])
    later = NOW + timedelta(days=2)  # inside the certificate's validity, after the verification time
    sign_envelope(envelope, signer_pki.signer(), "cz_dwfz", signed_attributes=True, signing_time=later)
    result = verify_envelope(envelope.to_bytes(), trust=TrustStore([signer_pki.root_cert]))
    item = result.bodies[0].items[0]
    assert not item.valid
    assert _steps(item)["signing-time"].outcome == "failed"
    assert "later than the verification time" in _steps(item)["signing-time"].en
    assert (
        item.claimed_time is not None and item.claimed_time.value == later and not item.claimed_time.verified
    )
    code, data = _cms_cli(tmp_path, envelope, signer_pki)
    assert code == 1 and _cli_steps(data)["signing-time"]["outcome"] == "failed"
    assert data["claimed_time"]["verified"] is False


def test_cms_token_from_the_tsa_is_the_time_basis(tmp_path: Path, tsa: RealTsa, signer_pki: TestPKI) -> None:
    envelope = Envelope.build([sample_voucher("5201")])
    sign_envelope(envelope, signer_pki.signer(), "cz_dwfz", timestamp_hook=lambda v: fetch_token(tsa.url, v))
    trust = TrustStore([signer_pki.root_cert], tsas=[tsa.pki.root_cert])
    item = verify_envelope(envelope.to_bytes(), trust=trust).bodies[0].items[0]
    assert item.valid, item.reason
    assert dict(_steps(item)["time-basis"].evidence)["basis"] == "token"
    code, data = _cms_cli(tmp_path, envelope, signer_pki, "--tsa-trust", str(tsa.root_pem))
    assert code == 0 and _cli_steps(data)["time-basis"]["evidence"]["basis"] == "token"
    # Without TSA anchors: reported, and checked at the verification time.
    code, data = _cms_cli(tmp_path, envelope, signer_pki)
    assert code == 0 and _cli_steps(data)["timestamp"]["outcome"] == "not_checked"
    assert _cli_steps(data)["time-basis"]["evidence"]["basis"] == "verification"


def test_cms_token_over_other_bytes_fails(tmp_path: Path, tsa: RealTsa, signer_pki: TestPKI) -> None:
    envelope = Envelope.build([sample_voucher("5201")])
    sign_envelope(
        envelope, signer_pki.signer(), "cz_dwfz", timestamp_hook=lambda v: fetch_token(tsa.url, v[:-1])
    )
    trust = TrustStore([signer_pki.root_cert], tsas=[tsa.pki.root_cert])
    item = verify_envelope(envelope.to_bytes(), trust=trust).bodies[0].items[0]
    assert not item.valid and "imprint does not match" in _steps(item)["timestamp"].en
    code, data = _cms_cli(tmp_path, envelope, signer_pki, "--tsa-trust", str(tsa.root_pem))
    assert code == 1 and "imprint does not match" in _cli_steps(data)["timestamp"]["reason"]["en"]


def test_cli_sign_with_tsa(tmp_path: Path, tsa: RealTsa, signer_pki: TestPKI) -> None:
    files = signer_pki.write_pem(tmp_path / "signer")
    source = tmp_path / "in.xml"
    source.write_bytes(Envelope.build([sample_voucher("5201")]).to_bytes())
    out = tmp_path / "out.xml"
    args = ["sign", str(source), "--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"])]
    result = CliRunner().invoke(cli, [*args, "--position", "cz_dwfz", "-o", str(out), "--tsa", tsa.url])
    assert result.exit_code == 0, result.output
    code, data = _cms_cli(
        tmp_path, Envelope.from_bytes(out.read_bytes()), signer_pki, "--tsa-trust", str(tsa.root_pem)
    )
    assert code == 0 and _cli_steps(data)["time-basis"]["evidence"]["basis"] == "token"
    unreachable = f"http://127.0.0.1:{free_port()}/"
    refused = CliRunner().invoke(
        cli, [*args, "--position", "cz_dwfz", "-o", str(tmp_path / "x.xml"), "--tsa", unreachable]
    )
    assert refused.exit_code == 1 and "TsaUnreachable" in refused.output


def test_archive_evidence_keeps_the_token(tsa: RealTsa) -> None:
    parties = make_parties()
    envelope, receipt = signed_pair(parties, seed=13)
    env = Envelope.from_bytes(envelope)
    sign_envelope(env, parties.finance.signer(), "cz_dwgz", timestamp_hook=lambda v: fetch_token(tsa.url, v))
    created = create_package(env.to_bytes(), receipt, trust=parties.trust, signer=parties.archive_signer())
    members = read_members(created.data)
    record = json.loads(members["evidence/verification.json"])["envelopes"][0]
    stamped = [i for i in record["items"] if i["position"] == "cz_dwgz"]
    (name,) = stamped[0]["timestamps"]
    der = base64.b64decode(env.bodies[0].signatures[-1].value)
    assert timestamp_tokens(der) == [members[name]]
    assert all(i["timestamps"] == [] for i in record["items"] if i["position"] != "cz_dwgz")
