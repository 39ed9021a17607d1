"""SM2 CMS interop with Bouncy Castle 1.72 (bcprov/bcpkix/bcutil), the independent SM2 CMS
implementation (interop.md: OpenSSL 3.0 can neither create nor verify standard SM2 CMS).

``tests/sign/java/CmsInterop.java`` is compiled once per session into a temporary directory;
each test starts one JVM for a batch of jobs, which keeps the tests fast.
"""

from __future__ import annotations

import base64
import itertools
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from ezhifu.document.envelope import Envelope, SignatureElement
from ezhifu.pki.trust import TrustStore
from ezhifu.sign import sign_detached, sign_envelope, verify_detached
from ezhifu.testing.pki import TestPKI
from ezhifu.verify.envelope import verify_envelope

pytestmark = pytest.mark.interop

JAVA_SOURCE = Path(__file__).parent / "java" / "CmsInterop.java"
JARS = [Path("/usr/share/java") / name for name in ("bcprov.jar", "bcpkix.jar", "bcutil.jar")]
CONTENT = base64.b64encode(b'<?xml version="1.0" encoding="GBK"?><Voucher><VtCode>5201</VtCode></Voucher>')
OK_PREFIX = "OK 1.2.156.10197.1.401 1.2.156.10197.1.501"


@pytest.fixture(scope="session")
def bc_classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("bc-classes")
    jars = ":".join(str(j) for j in JARS)
    # C1-only JIT and class-data sharing roughly halve javac start-up for one small file.
    command = [
        "javac",
        "-J-XX:TieredStopAtLevel=1",
        "-J-Xshare:auto",
        "-cp",
        jars,
        "-d",
        str(out),
        str(JAVA_SOURCE),
    ]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return f"{out}:{jars}"


def _bc(classpath: str, workdir: Path, jobs: Sequence[Sequence[str | Path]]) -> list[str]:
    """Run the jobs in one JVM; return one result line per job."""
    job_file = workdir / "jobs.txt"
    job_file.write_text("".join(" ".join(map(str, job)) + "\n" for job in jobs))
    done = subprocess.run(
        ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath, "CmsInterop", str(job_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(jobs), done.stdout + done.stderr
    return lines


def test_bouncycastle_verifies_ezhifu_sm2_cms(
    bc_classpath: str, sm2_pki: TestPKI, tmp_path: Path, sm2_provider: str
) -> None:
    """Both OID styles, with and without signed attributes, default SM2 ID, both providers.

    Bouncy Castle only knows sm2-with-sm3 (1.2.156.10197.1.501) as the SignerInfo algorithm,
    which is why it is ezhifu's default (sm2-1 is offered for ofdrw-style partners).
    """
    good = tmp_path / "content.txt"
    good.write_bytes(CONTENT)
    bad = tmp_path / "content-newline.txt"
    bad.write_bytes(CONTENT + b"\n")
    jobs: list[list[str | Path]] = []
    expected: list[str] = []
    for attrs, style in itertools.product([False, True], ["gbt35275", "pkcs7"]):
        sig = tmp_path / f"ez-{attrs}-{style}.der"
        sig.write_bytes(sign_detached(CONTENT, sm2_pki.signer(), signed_attributes=attrs, oid_style=style))  # type: ignore[arg-type]
        jobs += [["verify", sig, good], ["verify", sig, bad]]
        expected += [f"{OK_PREFIX} {'attrs' if attrs else 'noattrs'}", "FAIL"]
    results = _bc(bc_classpath, tmp_path, jobs)
    for line, want in zip(results, expected, strict=True):
        assert line == want if want != "FAIL" else line.startswith("FAIL"), (line, want)


def test_bouncycastle_verifies_a_signed_envelope(
    bc_classpath: str, sm2_pki: TestPKI, envelope: Envelope, tmp_path: Path
) -> None:
    sign_envelope(envelope, sm2_pki.signer(), "cz_dwfz")
    signed = Envelope.from_bytes(envelope.to_bytes())
    jobs: list[list[str | Path]] = []
    for index, body in enumerate(signed.bodies):
        sig = tmp_path / f"sig{index}.der"
        sig.write_bytes(base64.b64decode(body.signatures[0].value))
        text = tmp_path / f"text{index}.txt"
        text.write_bytes(body.voucher_b64.encode("ascii"))
        jobs.append(["verify", sig, text])
    # control: the first signature over the second voucher's text
    jobs.append(["verify", tmp_path / "sig0.der", tmp_path / "text1.txt"])
    results = _bc(bc_classpath, tmp_path, jobs)
    assert results[:-1] == [f"{OK_PREFIX} noattrs"] * len(signed.bodies)
    assert results[-1] == "FAIL signature"


def test_ezhifu_verifies_bouncycastle_sm2_cms(
    bc_classpath: str, sm2_pki: TestPKI, tmp_path: Path, envelope: Envelope
) -> None:
    """Bouncy Castle's CMSSignedDataGenerator with SM3withSM2, direct signature or with
    attributes; ``getEncoded()`` writes indefinite-length BER, ``getEncoded("DER")`` DER."""
    paths = sm2_pki.write_pem(tmp_path)
    body = envelope.bodies[0]
    content = tmp_path / "content.txt"
    content.write_bytes(body.voucher_b64.encode("ascii"))
    variants = list(itertools.product([False, True], [False, True]))
    jobs: list[list[str | Path]] = []
    for attrs, ber in variants:
        flags = [f for f, on in (("attrs", attrs), ("ber", ber)) if on]
        jobs.append(
            [
                "sign",
                content,
                paths["leaf.key.pem"],
                paths["leaf.pem"],
                tmp_path / f"bc-{attrs}-{ber}.der",
                *flags,
            ]
        )
    assert _bc(bc_classpath, tmp_path, jobs) == ["SIGNED"] * len(variants)
    trust = TrustStore(roots=[sm2_pki.root_cert])
    for attrs, ber in variants:
        der = (tmp_path / f"bc-{attrs}-{ber}.der").read_bytes()
        assert (der[1] == 0x80) is ber  # indefinite length only in the BER encoding
        result = verify_detached(der, content.read_bytes(), trust=trust)
        assert result.valid, (attrs, ber, result.reason)
        assert (result.oid_style, result.signature_algorithm, result.signed_attributes) == (
            "pkcs7",
            "sm2-sm3",
            attrs,
        )
        assert not verify_detached(der, content.read_bytes() + b"\n", trust=trust).intact
    # and as a <Signature> in an envelope, as a partner would send it
    der = (tmp_path / "bc-False-False.der").read_bytes()
    serial = format(sm2_pki.leaf_cert.serial_number, "x")
    body.signatures.append(SignatureElement(no="cz_dwfz", sn=serial, value=base64.b64encode(der).decode()))
    envelope.bodies[1:] = []
    assert verify_envelope(envelope.to_bytes(), trust=trust).valid
