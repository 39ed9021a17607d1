"""Security review, DER readers in ezhifu.pki.keys: linear cost on hostile input.

Finding DER-1 in docs/security-review.md: ``_der_children`` and the DER branch of
``load_certificates`` re-sliced the rest of the input at every element, so a 1 MiB SEQUENCE
of 500,000 NULLs took seconds (quadratic) and a 16 MiB bundle of one certificate repeated took
far longer. Timings are never asserted: the tests check the bounds that make the cost linear.
"""

from __future__ import annotations

import pytest
from asn1crypto import core, parser
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.crypto.der import definite_tlv_end as _definite_tlv_end
from ezhifu.errors import InvalidInput, MalformedDER
from ezhifu.pki.keys import (
    MAX_BUNDLE_CERTS,
    MAX_INPUT,
    MalformedCertificate,
    load_certificate,
    load_certificates,
    load_private_key,
)
from ezhifu.pki.path import same_name, validate_chain
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import TestPKI, make_pki


def _sequence_of_nulls(total: int) -> bytes:
    body = b"\x05\x00" * ((total - 8) // 2)
    return b"\x30\x83" + len(body).to_bytes(3, "big") + body


def test_wide_top_sequence_is_refused_after_a_few_elements() -> None:
    data = _sequence_of_nulls(MAX_INPUT)
    with pytest.raises(MalformedDER, match="more than 16 elements"):
        load_private_key(data)
    with pytest.raises(MalformedCertificate, match="more than 16 elements"):
        load_certificate(data)


def test_bundle_certificate_count_is_bounded() -> None:
    der = make_pki("sm2").leaf_cert.dump()
    certs = load_certificates(der * 3)  # positive control: a DER bundle still loads
    assert [c.dump() for c in certs] == [der] * 3
    with pytest.raises(MalformedCertificate, match=f"more than {MAX_BUNDLE_CERTS}"):
        load_certificates(der * (MAX_BUNDLE_CERTS + 1))
    pem_one = b"-----BEGIN CERTIFICATE-----\n" + b"MAA=\n" + b"-----END CERTIFICATE-----\n"
    with pytest.raises(InvalidInput, match=f"more than {MAX_BUNDLE_CERTS}"):
        load_certificates(pem_one * (MAX_BUNDLE_CERTS + 1))


@settings(max_examples=60, deadline=None)
@given(
    length=st.one_of(st.integers(0, 300), st.sampled_from([127, 128, 255, 256, 65535, 65536, 70000])),
    tag=st.integers(0, 200),
    prefix=st.binary(max_size=8),
    suffix=st.binary(max_size=8),
)
def test_definite_tlv_end_agrees_with_asn1crypto(length: int, tag: int, prefix: bytes, suffix: bytes) -> None:
    """The header-only reader finds the same end as asn1crypto's parser (low and high tag
    numbers, short and long length forms), wherever the TLV starts."""
    value = core.OctetString(b"\xab" * length, tag_type="implicit", tag=tag, class_="context").dump()
    data = prefix + value + suffix
    _c, _m, _t, header, contents, trailer = parser.parse(value)
    assert _definite_tlv_end(data, len(prefix)) == len(prefix) + len(header) + len(contents) + len(trailer)


@pytest.mark.parametrize("data", [b"", b"\x30", b"\x30\x80\x00\x00", b"\x1f\x81", b"\x30\x89" + b"\x01" * 9])
def test_definite_tlv_end_declines_what_it_does_not_read(data: bytes) -> None:
    """Indefinite form, truncated headers, lengths over 8 octets: left to asn1crypto."""
    assert _definite_tlv_end(data, 0) is None


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + body


def _certificate_with_deep_subject(depth: int, field: str = "subject", pki: TestPKI | None = None) -> bytes:
    """A real certificate whose subject (or ``field``) holds an unknown attribute nested ``depth`` deep."""
    cert = (pki or make_pki("sm2")).leaf_cert
    tbs = cert["tbs_certificate"]
    deep = b"\x05\x00"
    for _ in range(depth):
        deep = _tlv(0x30, deep)
    subject = _tlv(0x30, _tlv(0x31, _tlv(0x30, core.ObjectIdentifier("1.2.3.4").dump() + deep)))
    body = tbs.contents.replace(tbs[field].dump(), subject, 1)
    return _tlv(0x30, _tlv(0x30, body) + cert["signature_algorithm"].dump() + cert["signature_value"].dump())


def test_deeply_nested_name_value_is_malformed_not_recursion_error() -> None:
    """asn1crypto parses ``.native`` recursively: RecursionError escaped load_certificate (DER-2)."""
    data = _certificate_with_deep_subject(3000)
    with pytest.raises(MalformedCertificate):
        load_certificate(data)
    with pytest.raises(MalformedCertificate):
        load_certificates(data)
    assert load_certificate(_certificate_with_deep_subject(3)).subject is not None  # positive control


def test_a_name_that_cannot_be_prepared_is_compared_not_crashed() -> None:
    """asn1crypto's string preparation raises TypeError on a nested attribute value; such a name
    equals only a byte-identical name, and a chain whose issuer name is one gets a verdict."""
    pki = make_pki("sm2")
    odd = load_certificate(_certificate_with_deep_subject(3, pki=pki))
    assert same_name(odd.subject, odd.subject)
    assert not same_name(odd.subject, pki.root_cert.subject)
    leaf = load_certificate(_certificate_with_deep_subject(3, field="issuer", pki=pki))
    trust = TrustStore([pki.root_cert])
    first = validate_chain(leaf, trust=trust)
    assert not first.trusted and first.reason
    assert validate_chain(leaf, trust=trust).reason == first.reason
