"""Hypothesis round trips for SM2: sign -> verify, (r, s) <-> DER <-> raw, point encodings."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sm2_fixtures import with_provider

from ezhifu.crypto import sm2
from ezhifu.errors import InvalidSignature

N = sm2.SM2_N
scalars = st.integers(min_value=1, max_value=N - 1)
private_values = st.integers(min_value=1, max_value=N - 2)
messages = st.binary(max_size=600)
uids = st.binary(max_size=64)

# A few fixed keys, one per provider run, so that each example costs one sign and one verify.
KEYS = [sm2.SM2PrivateKey.from_private_value(d) for d in (1, 2, N - 2, 0x1234567890ABCDEF << 128)]


@given(st.sampled_from(KEYS), messages, uids, st.sampled_from(["openssl", "python"]))
@settings(max_examples=60, deadline=None)
def test_sign_verify_round_trip(key: sm2.SM2PrivateKey, message: bytes, uid: bytes, provider: str) -> None:
    with with_provider(provider):
        signature = key.sign(message, uid=uid)
        r, s = sm2.der_to_rs(signature)
        assert sm2.rs_to_der(r, s) == signature  # what we emit is canonical DER
        key.public_key().verify(signature, message, uid=uid)
    other = "python" if provider == "openssl" else "openssl"
    with with_provider(other):
        key.public_key().verify(signature, message, uid=uid)
        with pytest.raises(InvalidSignature):
            key.public_key().verify(signature, message + b"\x01", uid=uid)


@given(private_values, messages)
@settings(max_examples=25, deadline=None)
def test_random_keys_agree_across_providers(d: int, message: bytes) -> None:
    key = sm2.SM2PrivateKey.from_private_value(d)
    with with_provider("openssl"):
        point = sm2.SM2PrivateKey(d).public_key().encoded_point
        signature = key.sign(message)
    with with_provider("python"):
        assert sm2.SM2PrivateKey(d).public_key().encoded_point == point
        sm2.SM2PublicKey.from_encoded_point(point).verify(signature, message)


@given(scalars, scalars)
@settings(max_examples=300, deadline=None)
def test_rs_der_raw_round_trip(r: int, s: int) -> None:
    der = sm2.rs_to_der(r, s)
    assert sm2.der_to_rs(der) == (r, s)
    assert len(der) <= 72 and der[0] == 0x30 and der[1] == len(der) - 2
    raw = sm2.der_to_raw(der)
    assert len(raw) == 64 and raw == r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert sm2.raw_to_der(raw) == der


@given(st.binary(min_size=1, max_size=80))
@settings(max_examples=300, deadline=None)
def test_der_decoder_accepts_only_canonical_encodings(data: bytes) -> None:
    """Whatever der_to_rs accepts re-encodes to exactly the same bytes (no malleability)."""
    try:
        r, s = sm2.der_to_rs(data)
    except sm2.MalformedSignature:
        return
    assert sm2.rs_to_der(r, s) == data


@given(private_values)
@settings(max_examples=40, deadline=None)
def test_point_encodings_round_trip(d: int) -> None:
    with with_provider("python"):
        public = sm2.SM2PrivateKey(d).public_key()
    assert sm2.SM2PublicKey.from_encoded_point(public.encoded_point) == public
    assert sm2.SM2PublicKey.from_encoded_point(public.compressed_point) == public
    assert len(public.encoded_point) == 65 and len(public.compressed_point) == 33
    assert hash(sm2.SM2PublicKey(public.x, public.y)) == hash(public)
    assert pickle.loads(pickle.dumps(public)) == public
