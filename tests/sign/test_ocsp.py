"""Issue 13 item 6: OCSP against a real ``openssl ocsp`` responder started by a fixture.

The responder (``openssl ocsp -index index.txt -port N``, killed at teardown) answers from the
OpenSSL CA database: a good certificate, one revoked ten days ago, one it does not know. The
responder signs as the CA itself, as a delegated responder (id-kp-OCSPSigning), or with a
certificate that may not sign OCSP responses. OpenSSL 3.0's responder cannot sign with the
standard SM2 ID, so these run with RSA (the SM2 path of revocation is covered by the CRL tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pem, x509
from click.testing import CliRunner

from ezhifu.cli.main import cli as main
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.keys import PrivateKey, dump_certificates, dump_private_key
from ezhifu.pki.path import validate_chain
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.sign import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _t(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%y%m%d%H%M%SZ")


def _hex(serial: int) -> str:
    """A serial as OpenSSL's index.txt writes it (upper-case hex, even length): the responder
    looks serials up by this text."""
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text


class World:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pki: TestPKI = make_pki("rsa2048", subject_prefix="ocsp")
        self.pki.write_pem(folder)
        now = datetime.now(UTC)
        good, good_key = self.pki.issue_leaf("good signer")
        revoked, revoked_key = self.pki.issue_leaf("revoked signer")
        unknown, unknown_key = self.pki.issue_leaf("unknown signer")
        self.good, self.revoked, self.unknown = (
            SoftwareSigner(good_key, good),
            SoftwareSigner(revoked_key, revoked),
            SoftwareSigner(unknown_key, unknown),
        )
        # Two signers whose AIA names a responder (id-ad-ocsp), for `--ocsp` without a URL; its
        # port is chosen now because the address is inside the certificates.
        self.aia_port = _free_port()
        aia = f"http://127.0.0.1:{self.aia_port}/"
        aia_good, aia_good_key = self.pki.issue_leaf("aia good signer", ocsp_url=aia)
        aia_revoked, aia_revoked_key = self.pki.issue_leaf("aia revoked signer", ocsp_url=aia)
        self.aia_good = SoftwareSigner(aia_good_key, aia_good)
        self.aia_revoked = SoftwareSigner(aia_revoked_key, aia_revoked)
        lines = [
            f"V\t{_t(good.not_valid_after)}\t\t{_hex(good.serial_number)}\tunknown\t/CN=good\n",
            f"R\t{_t(revoked.not_valid_after)}\t{_t(now - timedelta(days=10))},keyCompromise\t"
            f"{_hex(revoked.serial_number)}\tunknown\t/CN=revoked\n",
            f"V\t{_t(aia_good.not_valid_after)}\t\t{_hex(aia_good.serial_number)}\tunknown\t/CN=aia good\n",
            f"R\t{_t(aia_revoked.not_valid_after)}\t{_t(now - timedelta(days=3))},keyCompromise\t"
            f"{_hex(aia_revoked.serial_number)}\tunknown\t/CN=aia revoked\n",
        ]
        (folder / "index.txt").write_text("".join(lines))
        self._write("delegated", *self.pki.issue_leaf("ocsp responder", extended_key_usage=("ocsp_signing",)))
        self._write(
            "no-eku", *self.pki.issue_leaf("not a responder", extended_key_usage=("email_protection",))
        )
        other = make_pki("rsa2048", subject_prefix="other ocsp")
        self._write("foreign", *other.issue_leaf("foreign responder", extended_key_usage=("ocsp_signing",)))
        self.processes: list[subprocess.Popen[bytes]] = []

    def _write(self, name: str, cert: x509.Certificate, key: PrivateKey) -> None:
        (self.folder / f"{name}.pem").write_bytes(dump_certificates([cert]))
        (self.folder / f"{name}.key.pem").write_bytes(dump_private_key(key))

    def responder(self, signer: str = "root", port: int | None = None) -> str:
        """Start ``openssl ocsp`` signing with ``signer``'s certificate; return its URL."""
        port = port or _free_port()
        process = subprocess.Popen(
            [
                "openssl",
                "ocsp",
                "-index",
                str(self.folder / "index.txt"),
                "-port",
                str(port),
                "-rsigner",
                str(self.folder / f"{signer}.pem"),
                "-rkey",
                str(self.folder / f"{signer}.key.pem"),
                "-CA",
                str(self.folder / "root.pem"),
                "-nmin",
                "60",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.processes.append(process)
        # Wait for its banner: a probe connection would block this one-connection-at-a-time server.
        assert process.stderr is not None
        for _ in range(20):
            line = process.stderr.readline()
            if b"waiting for OCSP client connections" in line:
                return f"http://127.0.0.1:{port}/"
            if not line:
                break
        raise RuntimeError("openssl ocsp did not start")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("ocsp"))
    try:
        yield made
    finally:
        for process in made.processes:
            process.kill()
            process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()


@pytest.fixture(scope="module")
def urls(world: World) -> dict[str, str]:
    return {name: world.responder(name) for name in ("root", "delegated", "no-eku", "foreign")}


def _status(world: World, signer: SoftwareSigner, url: str, mode: str = "hard-fail") -> tuple[bool, str, str]:
    policy = VerifyPolicy(check_ocsp=True, ocsp_url=url, revocation_unavailable=mode, ocsp_timeout=5)
    cert = signer.certificate
    assert cert is not None
    chain = validate_chain(cert, trust=TrustStore(roots=[world.pki.root_cert]), policy=policy)
    return chain.trusted, chain.reason or "", "; ".join(chain.revocation)


def _cli(world: World, tmp_path: Path, signer: SoftwareSigner, *args: str) -> tuple[int, dict[str, object]]:
    envelope = Envelope.from_bytes(_envelope_bytes())
    sign_envelope(envelope, signer, "cz_dwfz")
    (tmp_path / "env.xml").write_bytes(envelope.to_bytes())
    api = verify_envelope(envelope.to_bytes(), trust=TrustStore(roots=[world.pki.root_cert]))
    assert api.valid  # without revocation checking
    out = CliRunner().invoke(
        main,
        ["verify", str(tmp_path / "env.xml"), "--trust", str(world.folder / "root.pem"), "--json", *args],
    )
    return out.exit_code, json.loads(out.output)


def _envelope_bytes() -> bytes:
    return Envelope.build([sample_voucher("5201", seed="ocsp")]).to_bytes()


def test_good_revoked_and_unknown(world: World, urls: dict[str, str]) -> None:
    ok, _, evidence = _status(world, world.good, urls["root"])
    assert ok and "not revoked (OCSP)" in evidence and "sha256=" in evidence
    # The response bytes themselves are kept (issue 13 item 6: evidence for archiving).
    kept = base64.b64decode(evidence.split("response=", 1)[1].split()[0].rstrip("]"))
    assert hashlib.sha256(kept).hexdigest() in evidence
    assert asn1_ocsp.OCSPResponse.load(kept)["response_status"].native == "successful"
    ok, reason, _ = _status(world, world.revoked, urls["root"])
    assert not ok and "revoked on" in reason and "key_compromise" in reason
    ok, reason, _ = _status(world, world.unknown, urls["root"])
    assert not ok and "status unknown" in reason
    ok, _, evidence = _status(world, world.unknown, urls["root"], mode="soft-fail")
    assert ok and "revocation unavailable (accepted: soft-fail)" in evidence


def test_a_delegated_responder_needs_ocsp_signing_by_the_issuer(world: World, urls: dict[str, str]) -> None:
    ok, _, evidence = _status(world, world.good, urls["delegated"])
    assert ok and "not revoked (OCSP)" in evidence
    ok, reason, _ = _status(world, world.good, urls["no-eku"])
    assert not ok and "lacks id-kp-OCSPSigning" in reason
    ok, reason, _ = _status(world, world.good, urls["foreign"])
    assert not ok and "not certified by the issuer" in reason


def test_responder_down_hard_and_soft_fail(world: World) -> None:
    down = f"http://127.0.0.1:{_free_port()}/"
    ok, reason, _ = _status(world, world.good, down)
    assert not ok and "unreachable" in reason
    ok, _, evidence = _status(world, world.good, down, mode="soft-fail")
    assert ok and "unreachable" in evidence


def test_no_aia_is_unavailable(world: World) -> None:
    policy = VerifyPolicy(check_ocsp=True)
    cert = world.good.certificate
    assert cert is not None
    chain = validate_chain(cert, trust=TrustStore(roots=[world.pki.root_cert]), policy=policy)
    assert not chain.trusted and "no OCSP responder" in (chain.reason or "")


def test_verify_json_with_ocsp(world: World, urls: dict[str, str], tmp_path: Path) -> None:
    code, report = _cli(world, tmp_path, world.revoked, "--ocsp-url", urls["delegated"])
    assert code == 1 and "revoked on" in json.dumps(report)
    code, report = _cli(world, tmp_path, world.good, "--ocsp-url", urls["delegated"])
    assert code == 0 and "not revoked (OCSP)" in json.dumps(report)
    down = f"http://127.0.0.1:{_free_port()}/"
    code, report = _cli(
        world, tmp_path, world.good, "--ocsp-url", down, "--revocation-unavailable", "soft-fail"
    )
    assert code == 0 and "unreachable" in json.dumps(report)
    code, _ = _cli(world, tmp_path, world.good, "--ocsp-url", down)
    assert code == 1
    out = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path / "env.xml"),
            "--trust",
            str(world.folder / "root.pem"),
            "--ocsp-url",
            "ftp://x",
        ],
    )
    assert out.exit_code == 2
    assert pem.detect((world.folder / "root.pem").read_bytes())


def test_ocsp_asks_the_responder_named_in_the_aia(world: World, tmp_path: Path) -> None:
    """``--ocsp`` without a URL: the responder comes from each certificate's Authority
    Information Access (RFC 5280 clause 4.2.2.1), through the API and ``verify --json``."""
    url = world.responder("root", port=world.aia_port)
    assert url == f"http://127.0.0.1:{world.aia_port}/"
    policy = VerifyPolicy(check_ocsp=True, ocsp_timeout=5)
    trust = TrustStore(roots=[world.pki.root_cert])
    for signer, trusted in ((world.aia_good, True), (world.aia_revoked, False)):
        cert = signer.certificate
        assert cert is not None and cert.ocsp_urls == [url]
        chain = validate_chain(cert, trust=trust, policy=policy)
        assert chain.trusted is trusted, chain.reason
    code, report = _cli(world, tmp_path, world.aia_good, "--ocsp")
    assert code == 0 and f"OCSP {url} sha256=" in json.dumps(report)
    code, report = _cli(world, tmp_path, world.aia_revoked, "--ocsp")
    assert code == 1 and "revoked on" in json.dumps(report)
