"""Fixtures for the keys / certificates / signer / test-PKI tests.

Everything is generated at test time: keys with the ``openssl`` CLI (the reference for the
file formats) or with ezhifu, PKIs with :func:`ezhifu.testing.pki.make_pki`. Nothing private is
checked in.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ezhifu.testing.pki import TestPKI, make_pki

OPENSSL = shutil.which("openssl") or "openssl"
SM2_ID = "1234567812345678"

RunOpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]


def run_openssl(
    *args: str | Path, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the openssl CLI; with ``check`` a non-zero exit fails the test with its stderr."""
    proc = subprocess.run(
        [OPENSSL, *(str(a) for a in args)],
        capture_output=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"openssl {' '.join(str(a) for a in args)} failed ({proc.returncode}):\n"
            f"{proc.stderr.decode(errors='replace')}"
        )
    return proc


@pytest.fixture(scope="session")
def openssl() -> RunOpenSSL:
    return run_openssl


@pytest.fixture(scope="session")
def openssl_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Private keys written by the openssl CLI in every form ezhifu must read.

    Names: ``<kind>.<form>`` where kind is sm2, rsa, p256, p384 or brainpool. The password of
    every encrypted file is ``secret``; ``<kind>.pub.pem`` is the SPKI of the kind.
    """
    d = tmp_path_factory.mktemp("openssl_keys")
    files: dict[str, Path] = {}

    def out(name: str) -> Path:
        files[name] = d / name
        return files[name]

    run_openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", out("sm2.pkcs8.pem")
    )
    run_openssl(
        "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", out("rsa.pkcs8.pem")
    )
    run_openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out("p256.pkcs8.pem")
    )
    run_openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:secp384r1",
        "-out",
        out("p384.pkcs8.pem"),
    )
    run_openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:brainpoolP256r1",
        "-out",
        out("brainpool.pkcs8.pem"),
    )
    for kind in ("sm2", "rsa", "p256", "p384", "brainpool"):
        src = files[f"{kind}.pkcs8.pem"]
        run_openssl("pkey", "-in", src, "-pubout", "-out", out(f"{kind}.pub.pem"))
        run_openssl(
            "pkcs8", "-topk8", "-nocrypt", "-in", src, "-outform", "DER", "-out", out(f"{kind}.pkcs8.der")
        )
        # openssl pkey -outform DER writes the "traditional" form: SEC1 for EC, PKCS#1 for RSA.
        run_openssl("pkey", "-in", src, "-outform", "DER", "-out", out(f"{kind}.trad.der"))
        run_openssl(
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            src,
            "-passout",
            "pass:secret",
            "-out",
            out(f"{kind}.enc-aes256.pem"),
        )
    for kind in ("sm2", "p256", "p384"):
        # 'openssl ec' writes SEC1 PEM: label "SM2 PRIVATE KEY" for SM2, "EC PRIVATE KEY" otherwise.
        run_openssl("ec", "-in", files[f"{kind}.pkcs8.pem"], "-out", out(f"{kind}.sec1.pem"))
    run_openssl("rsa", "-in", files["rsa.pkcs8.pem"], "-traditional", "-out", out("rsa.pkcs1.pem"))
    src = files["sm2.pkcs8.pem"]
    run_openssl(
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        src,
        "-passout",
        "pass:secret",
        "-outform",
        "DER",
        "-out",
        out("sm2.enc-aes256.der"),
    )
    run_openssl(
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-128-cbc",
        "-v2prf",
        "hmacWithSHA1",
        "-in",
        src,
        "-passout",
        "pass:secret",
        "-out",
        out("sm2.enc-aes128-sha1.pem"),
    )
    run_openssl(
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-192-cbc",
        "-v2prf",
        "hmacWithSHA512",
        "-in",
        src,
        "-passout",
        "pass:secret",
        "-out",
        out("sm2.enc-aes192-sha512.pem"),
    )
    run_openssl(
        "pkcs8",
        "-topk8",
        "-v2",
        "sm4-cbc",
        "-in",
        src,
        "-passout",
        "pass:secret",
        "-out",
        out("sm2.enc-sm4.pem"),
    )
    run_openssl(
        "pkcs8",
        "-topk8",
        "-scrypt",
        "-v2",
        "aes-256-cbc",
        "-in",
        src,
        "-passout",
        "pass:secret",
        "-out",
        out("sm2.enc-scrypt.pem"),
    )
    run_openssl(
        "pkcs8",
        "-topk8",
        "-v1",
        "PBE-SHA1-3DES",
        "-in",
        files["rsa.pkcs8.pem"],
        "-passout",
        "pass:secret",
        "-out",
        out("rsa.enc-pbes1.pem"),
    )
    # Legacy PEM encryption (RFC 1421 headers), which ezhifu refuses.
    run_openssl(
        "ec",
        "-in",
        files["p256.pkcs8.pem"],
        "-aes256",
        "-passout",
        "pass:secret",
        "-out",
        out("p256.legacy-enc.pem"),
    )
    # ecparam -genkey writes an "EC PARAMETERS" block before the key.
    run_openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", out("p256.ecparam.pem"))
    run_openssl("ecparam", "-name", "SM2", "-genkey", "-out", out("sm2.ecparam.pem"))
    run_openssl("genpkey", "-algorithm", "ED25519", "-out", out("ed25519.pkcs8.pem"))
    run_openssl("pkey", "-in", files["ed25519.pkcs8.pem"], "-pubout", "-out", out("ed25519.pub.pem"))
    run_openssl(
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-param_enc",
        "explicit",
        "-out",
        out("p256.explicit.pem"),
    )
    return files


@pytest.fixture(scope="module")
def sm2_pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="module")
def sm2_pki3() -> TestPKI:
    return make_pki("sm2", depth=3)


@pytest.fixture(scope="module")
def rsa_pki3() -> TestPKI:
    return make_pki("rsa2048", depth=3)


@pytest.fixture(scope="module")
def p256_pki() -> TestPKI:
    return make_pki("p256", depth=3)
