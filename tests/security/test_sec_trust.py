"""TRUST-1 (docs/security-review.md): certificate path search is bounded.

Path building over untrusted candidates (certificates embedded in a CMS or seal) is a search;
look-alike CA certificates (same subject and key, different serials, cross-signed) made it
exponential: one 5 kB CMS blocked a verifier for 18 s before the bound.
"""

from __future__ import annotations

from ezhifu.pki.builder import CertificateBuilder
from ezhifu.pki.keys import generate_private_key
from ezhifu.pki.path import validate_chain
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import make_pki


def test_look_alike_ca_certificates_cannot_blow_up_path_search() -> None:
    ka, kb, kl = (generate_private_key("p256") for _ in range(3))
    sa, sb = SoftwareSigner(ka), SoftwareSigner(kb)
    ku = ("key_cert_sign", "crl_sign")
    tmp_a = CertificateBuilder("A", ka, is_ca=True, key_usage=ku).build(sa)
    tmp_b = CertificateBuilder("B", kb, is_ca=True, key_usage=ku).build(sb)
    a = [CertificateBuilder("A", ka, is_ca=True, key_usage=ku).build(sb, issuer=tmp_b) for _ in range(8)]
    b = [CertificateBuilder("B", kb, is_ca=True, key_usage=ku).build(sa, issuer=tmp_a) for _ in range(8)]
    leaf = CertificateBuilder("L", kl, key_usage=("digital_signature",)).build(sa, issuer=tmp_a)
    result = validate_chain(leaf, trust=TrustStore(roots=[make_pki("p256").root_cert]), extra_certs=a + b)
    assert not result.trusted
    assert "stopped after" in (result.reason or "")


def test_real_chain_through_extra_certs_is_still_trusted() -> None:
    pki = make_pki("sm2", depth=3)
    result = validate_chain(
        pki.leaf_cert, trust=TrustStore(roots=[pki.root_cert]), extra_certs=[pki.intermediate_cert]
    )
    assert result.trusted, result.reason


def test_streaming_reader_refuses_utf16_with_dtd() -> None:
    """XML-2: the streaming reader must not let libxml2 expand entities of a wide-encoded DTD."""
    import io

    import pytest

    from ezhifu.document.envelope import Envelope
    from ezhifu.document.samples import sample_voucher
    from ezhifu.errors import InvalidInput
    from ezhifu.verify import stream as batch

    text = Envelope.build([sample_voucher("5201")]).to_bytes(encoding="UTF-8").decode()
    i = text.index("?>") + 2
    evil = (
        (text[:i] + '<!DOCTYPE MOF [<!ENTITY x "9">]>' + text[i:])
        .replace('encoding="UTF-8"', 'encoding="UTF-16"')
        .replace('AdmDivCode="420000"', 'AdmDivCode="42&x;000"')
    )
    for data in (evil.encode("utf-16-le"), evil.encode("utf-16")):
        with pytest.raises(InvalidInput):
            list(batch.iter_bodies(io.BytesIO(data)))
    # positive control: the same envelope in GBK streams fine
    assert len(list(batch.iter_bodies(io.BytesIO(text.encode("gbk").replace(b'"UTF-8"', b'"GBK"'))))) == 1
