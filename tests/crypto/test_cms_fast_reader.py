"""The fast CMS SignedData reader (ezhifu.sign.cms_fast) against asn1crypto (issue 17 Must show).

``verify_detached`` reads the fixed layout (detached, one signer, no attributes) itself and hands
anything else to asn1crypto. The two must never give different answers: over every DER file of
the suite and every element nested in it (the corpus of ``test_der_fast``: ofdrw conformance
files, ``samples/``, CMS and seal values inside the XML files, new SM2/RSA CMS and seals), over
CMS of every shape ezhifu writes, crafted unusual ones, and hypothesis mutations of them, a
verification through the fast reader equals one through asn1crypto alone, step by step; where
the fast reader answers, asn1crypto reads the same parts from the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from asn1crypto import cms, core
from der_support import mutate, primitive_ranges
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_der_fast import _tree, corpus

from ezhifu.crypto.der import tlv
from ezhifu.pki.trust import TrustStore
from ezhifu.sign import cms_verify
from ezhifu.sign.cms import SignedContentInfo, sign_detached
from ezhifu.sign.cms_fast import read_signed_data
from ezhifu.testing.pki import TestPKI, make_pki

DATA = b"voucher text"
AT = datetime.now(UTC)


@cache
def pkis() -> tuple[TestPKI, TestPKI]:
    return make_pki("sm2"), make_pki("rsa2048", depth=3)


@cache
def trust() -> TrustStore:
    sm2, rsa = pkis()
    return TrustStore(roots=[sm2.root_cert, rsa.root_cert], intermediates=rsa.chain[1:-1])


@cache
def written() -> tuple[tuple[str, bytes], ...]:
    """CMS of every shape ezhifu writes, over DATA."""
    out: list[tuple[str, bytes]] = []
    for kind, pki in zip(("sm2", "rsa"), pkis(), strict=True):
        signer = pki.signer()
        out.append((f"{kind} default", sign_detached(DATA, signer)))
        if kind == "sm2":
            out.append((f"{kind} gbt", sign_detached(DATA, signer, oid_style="gbt35275")))
        out.append((f"{kind} pkcs7", sign_detached(DATA, signer, oid_style="pkcs7")))
        out.append((f"{kind} attrs", sign_detached(DATA, signer, signed_attributes=True)))
        out.append((f"{kind} chain", sign_detached(DATA, signer, chain=pki.chain[1:])))
    sm2 = pkis()[0].signer()
    out.append(("sm2 sm2-1 oid", sign_detached(DATA, sm2, sm2_signature_oid="sm2-1")))
    return tuple(out)


def _rewrite(der: bytes, edit: Any) -> bytes:
    info = SignedContentInfo.load(der)
    signed = info["content"]
    edit(signed)
    return bytes(
        SignedContentInfo({"content_type": info["content_type"], "content": signed}).dump(force=True)
    )


@cache
def _crafted() -> tuple[tuple[str, bytes], ...]:
    """Unusual but readable layouts: the fast reader must decline each (asn1crypto answers)."""
    base = written()[0][1]
    head, rest = base[:1], base[1:]
    out = [
        ("trailing byte", base + b"\x00"),
        ("indefinite outer length", b"\x30\x80" + SignedContentInfo.load(base).contents + b"\x00\x00"),
        ("long-form outer length", head + b"\x84" + len(rest[3:]).to_bytes(4, "big") + rest[3:]),
    ]

    def embedded(sd: Any) -> None:
        sd["encap_content_info"] = {"content_type": "data", "content": DATA}

    def version3(sd: Any) -> None:
        sd["version"] = "v3"

    def no_certs(sd: Any) -> None:
        sd["certificates"] = None

    def two_signers(sd: Any) -> None:
        sd["signer_infos"] = [sd["signer_infos"][0], sd["signer_infos"][0]]

    def ski(sd: Any) -> None:
        si = sd["signer_infos"][0]
        si["sid"] = cms.SignerIdentifier({"subject_key_identifier": pkis()[0].leaf_cert.key_identifier})
        si["version"] = "v3"

    def crls(sd: Any) -> None:
        sd["crls"] = [
            cms.RevocationInfoChoice(
                {"other": {"other_rev_info_format": "1.2.3", "other_rev_info": core.Null()}}
            )
        ]

    edits = {"embedded content": embedded, "version 3": version3, "no certificates": no_certs}
    edits |= {"two signers": two_signers, "subject key identifier": ski, "crls": crls}
    out.extend((name, _rewrite(base, edit)) for name, edit in edits.items())
    out.append(("not SignedData", tlv(0x30, tlv(0x06, b"\x2a\x03") + base[base.index(b"\xa0") :])))
    return tuple(out)


def _verify(der: bytes, data: bytes, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(cms_verify, "read_signed_data", lambda der: None)
        result = cms_verify.verify_detached(der, data, trust=trust(), at=AT)
    return (
        result.to_dict(),
        result.intact,
        result.allowed,
        result.oid_style,
        result.signed_attributes,
        tuple(bytes(c.dump()) for c in result.certificates),
        None if result.signer_certificate is None else bytes(result.signer_certificate.dump()),
    )


def _agree(der: bytes, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both readers give the same verification (over DATA and other bytes); the fast reader's
    parts are asn1crypto's. Returns whether the fast reader answered."""
    for data in (DATA, b"other"):
        assert _verify(der, data, fast=True, monkeypatch=monkeypatch) == _verify(
            der, data, fast=False, monkeypatch=monkeypatch
        )
    parts = read_signed_data(der)
    if parts is None:
        return False
    info = SignedContentInfo.load(der, strict=True)
    signed = info["content"]
    si = signed["signer_infos"][0]
    assert parts.content_type == info["content_type"].dotted
    assert parts.e_content_type == signed["encap_content_info"]["content_type"].dotted
    assert signed["encap_content_info"]["content"].native is None
    assert len(signed["signer_infos"]) == 1
    assert parts.certificates == tuple(bytes(c.chosen.dump()) for c in (signed["certificates"] or ()))
    assert parts.sid == bytes(si["sid"].dump())
    assert parts.digest_algorithm == bytes(si["digest_algorithm"].dump())
    assert parts.signature_algorithm == bytes(si["signature_algorithm"].dump())
    assert parts.signature == si["signature"].native
    assert isinstance(si["signed_attrs"], core.Void) and isinstance(si["unsigned_attrs"], core.Void)
    return True


def test_every_shape_ezhifu_writes_is_read_fast_or_declined(monkeypatch: pytest.MonkeyPatch) -> None:
    answered = {name: _agree(der, monkeypatch) for name, der in written()}
    assert not answered["sm2 attrs"] and not answered["rsa attrs"]  # signed attributes: asn1crypto
    assert all(fast for name, fast in answered.items() if "attrs" not in name)
    for name, der in written():
        if "attrs" not in name:
            assert cms_verify.verify_detached(der, DATA, trust=trust(), at=AT).valid, name


@pytest.mark.parametrize("name", [name for name, _ in _crafted()])
def test_unusual_layouts_are_declined(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    der = dict(_crafted())[name]
    if name != "no certificates":
        assert read_signed_data(der) is None
    _agree(der, monkeypatch)


@pytest.mark.parametrize("name", [name for name, _ in corpus()])
def test_fast_reader_agrees_with_asn1crypto_on_every_file(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for part in _tree(dict(corpus())[name]):
        if part[:1] == b"\x30" and len(part) < 200_000:
            _agree(part, monkeypatch)


def test_the_corpus_has_cms_the_fast_reader_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    answered = [name for name, der in corpus() if read_signed_data(der) is not None]
    assert {"sm2 cms", "rsa cms"} <= set(answered)


_SEEDS = st.sampled_from([der for _, der in written()] + [der for _, der in _crafted()])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    ops = ["flip", "insert", "delete", "truncate", "length", "tag"]
    return mutate(draw, draw(_SEEDS), rounds=3, ops=ops)


@st.composite
def retouched(draw: st.DrawFn) -> bytes:
    """A CMS the fast reader reads, with the contents of one to three primitive elements (an OID,
    an INTEGER, a name's text, a key, the signature value...) replaced by other bytes of the same
    length: the layout stays, so the fast reader answers and the steps judge the values."""
    data = bytearray(draw(st.sampled_from([der for name, der in written() if "attrs" not in name])))
    ranges = [r for r in primitive_ranges(bytes(data), 0, len(data)) if r[1] > r[0]]
    for _ in range(draw(st.integers(1, 3))):
        start, end = draw(st.sampled_from(ranges))
        pos = draw(st.integers(start, end - 1))
        data[pos : pos + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(data)


_LIMITS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@settings(max_examples=300, **_LIMITS)  # type: ignore[arg-type]
@given(data=mutated())
def test_fast_reader_agrees_on_mutated_cms(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _agree(data, monkeypatch)


@settings(max_examples=300, **_LIMITS)  # type: ignore[arg-type]
@given(data=retouched())
def test_fast_reader_agrees_on_retouched_values(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _agree(data, monkeypatch)
