"""A real RFC 3161 time-stamping authority on 127.0.0.1 for the tests (issue 13 item 2).

``openssl ts -reply`` (OpenSSL 3.0, RSA: its ``ts`` command signs with the TSA key it is given)
answers ``application/timestamp-query`` POSTs behind a small :mod:`http.server` handler, with a TSA
certificate issued by a fixture PKI (:func:`ezhifu.testing.make_pki`) carrying the critical
id-kp-timeStamping extended key usage that RFC 3161 clause 2.3 requires. OpenSSL refuses to run a
TSA with a certificate lacking it, so :meth:`RealTsa.resign` makes the tokens of such a TSA with
``openssl cms -sign`` over a real TSTInfo (eContentType id-ct-TSTInfo): a real token a
non-conforming TSA would produce.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from asn1crypto import cms, pem

from ezhifu.pki import keys as _keys
from ezhifu.testing.pki import TestPKI, make_pki

#: Largest query the handler reads (a TimeStampReq is about 60 bytes).
MAX_QUERY_BYTES = 4096

_CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
certs = {dir}/tsa.pem
signer_key = {dir}/tsa.key.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl() -> str:
    path = shutil.which("openssl")
    assert path is not None, "openssl is needed (scripts/test.sh installs it)"
    return path


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (for the unreachable-TSA case)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RealTsa:
    """``openssl ts -reply`` over HTTP on 127.0.0.1; ``url``, ``pki`` (its root anchors TSAs)."""

    def __init__(self, directory: Path, *, pki: TestPKI | None = None) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.pki = pki or make_pki("rsa2048", subject_prefix="ezhifu test TSA")
        cert, key = self.pki.issue_leaf(
            "ezhifu test TSA",
            key_usage=("digital_signature",),
            extended_key_usage=("time_stamping",),
            extended_key_usage_critical=True,
        )
        self.cert = cert
        (directory / "tsa.pem").write_bytes(pem.armor("CERTIFICATE", cert.dump()))
        (directory / "tsa.key.pem").write_bytes(_keys.dump_private_key(key))
        (directory / "root.pem").write_bytes(pem.armor("CERTIFICATE", self.pki.root_cert.dump()))
        (directory / "serial").write_text("01\n")
        (directory / "tsa.cnf").write_text(_CONFIG.format(dir=directory))
        self._lock = threading.Lock()
        self._count = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root_pem(self) -> Path:
        return self.dir / "root.pem"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/tsa"

    def reply(self, query: bytes) -> bytes:
        """The DER TimeStampResp ``openssl ts -reply`` gives for ``query``."""
        with self._lock:
            self._count += 1
            q = self.dir / f"q{self._count}.tsq"
            r = self.dir / f"r{self._count}.tsr"
            q.write_bytes(query)
            subprocess.run(
                [
                    openssl(),
                    "ts",
                    "-reply",
                    "-config",
                    str(self.dir / "tsa.cnf"),
                    "-queryfile",
                    str(q),
                    "-out",
                    str(r),
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
            return r.read_bytes()

    def resign(self, token: bytes, signer: TestPKI, common_name: str, **leaf: Any) -> bytes:
        """The TSTInfo of ``token`` signed by a new certificate under ``signer`` (``openssl cms``)."""
        cert, key = signer.issue_leaf(common_name, key_usage=("digital_signature",), **leaf)
        name = common_name.replace(" ", "_")
        (self.dir / f"{name}.pem").write_bytes(pem.armor("CERTIFICATE", cert.dump()))
        (self.dir / f"{name}.key.pem").write_bytes(_keys.dump_private_key(key))
        tst = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].contents
        (self.dir / f"{name}.tst").write_bytes(tst)
        out = self.dir / f"{name}.tok"
        subprocess.run(
            [
                openssl(), "cms", "-sign", "-binary", "-nodetach", "-nosmimecap",
                "-econtent_type", "1.2.840.113549.1.9.16.1.4", "-md", "sha256",
                "-in", str(self.dir / f"{name}.tst"), "-signer", str(self.dir / f"{name}.pem"),
                "-inkey", str(self.dir / f"{name}.key.pem"), "-outform", "DER", "-out", str(out),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        return out.read_bytes()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                if (
                    self.headers.get("Content-Type") != "application/timestamp-query"
                    or not 0 < length <= MAX_QUERY_BYTES
                ):
                    self.send_error(400, "expected an application/timestamp-query")
                    return
                body = tsa.reply(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> RealTsa:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
