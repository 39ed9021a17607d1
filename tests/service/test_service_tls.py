"""Mutual TLS: the services require client certificates and present their own to their peers.

Certificates are made with the real ``openssl`` command (EC P-256, SAN IP:127.0.0.1); Python's
ssl module cannot do SM2, which is why the TLS layer uses its own PKI.
"""

from __future__ import annotations

import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from service_support import ADM, FINANCE_STAMP, YEAR, Services, voucher_envelope, wait_for

from ezhifu.client.soap_client import VoucherServiceClient
from ezhifu.errors import TransportError

pytestmark = pytest.mark.interop


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd, timeout=60)


def _make_tls(directory: Path) -> None:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ezhifu test TLS CA",
        cwd=directory,
    )
    (directory / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n", encoding="ascii"
    )
    for name in ("finance", "pbc"):
        _openssl(
            "req",
            *ec,
            "-keyout",
            f"{name}-tls.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=directory,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}-tls.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            cwd=directory,
        )


def _tls_config(path: Path, party: str) -> None:
    text = path.read_text(encoding="utf-8").replace("http://127.0.0.1", "https://127.0.0.1")
    text = text.replace(
        "[server]\n",
        f'[server]\ntls_cert = "{party}-tls.pem"\ntls_key = "{party}-tls.key"\ntls_client_ca = "ca.pem"\n',
        1,
    )
    path.write_text(text, encoding="utf-8")


def _context(directory: Path, party: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    if party is not None:
        context.load_cert_chain(str(directory / f"{party}-tls.pem"), str(directory / f"{party}-tls.key"))
    return context


def test_mutual_tls_between_services_and_for_clients(tmp_path: Path) -> None:
    setup = Services(tmp_path)
    _make_tls(tmp_path)
    for party in ("finance", "pbc"):
        _tls_config(setup.paths[party], party)
    try:
        for party in ("finance", "pbc"):
            setup[party].tls = _context(tmp_path, party)
            setup[party].start()
        fin_url, pbc_url = setup["finance"].url, setup["pbc"].url
        assert fin_url.startswith("https://")
        fin = VoucherServiceClient(fin_url, ssl_context=_context(tmp_path, "finance"))
        pbc = VoucherServiceClient(pbc_url, ssl_context=_context(tmp_path, "pbc"))
        no, envelope = voucher_envelope(71)
        fin.sign_stamp_by_nos_and_send("001", ADM, YEAR, "5201", envelope, FINANCE_STAMP, "011", "001")
        wait_for(lambda: pbc.read_voucher_again("001", ADM, YEAR, "5201", 100) is not None, what="over mTLS")
        pbc.call("confirmVoucher", "001", ADM, YEAR, "5201", [no])
        wait_for(
            lambda: fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no][0] == 3, what="3"
        )
        anonymous = VoucherServiceClient(fin_url, ssl_context=_context(tmp_path, None))
        with pytest.raises(TransportError):
            anonymous.read_voucher_again("001", ADM, YEAR, "5201", 100)
        with pytest.raises((urllib.error.URLError, ssl.SSLError, OSError)):
            urllib.request.urlopen(fin_url + "/healthz", timeout=10)  # the system CAs do not know it
    finally:
        setup.close()
