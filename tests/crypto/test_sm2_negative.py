"""Negative controls: what SM2 verification and decoding must refuse, and how.

Every refusal is an EzhifuError subclass whose message names the problem. DER rules:
X.690 clause 10 (DER) and GB/T 35276-2017 clause 7.3; range rules: GB/T 32918.2-2016
clause 7.1 B1/B2 (r, s in [1, n-1]); point validation: GB/T 32918.1-2016 clause 6.2.1.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sm2_fixtures import ANNEX_A5, der_integer, der_sequence, each_provider

from ezhifu.crypto import sm2
from ezhifu.errors import EzhifuError, InvalidInput, InvalidSignature, MalformedDER

__all__ = ["each_provider"]  # re-exported fixture

N = sm2.SM2_N
P = sm2.SM2_P
MESSAGE = ANNEX_A5.message
PUBLIC = sm2.SM2PublicKey(ANNEX_A5.x, ANNEX_A5.y)
GOOD = ANNEX_A5.der


def test_the_control_itself_verifies(each_provider: str) -> None:
    PUBLIC.verify(GOOD, MESSAGE)


def test_wrong_id(each_provider: str) -> None:
    with pytest.raises(InvalidSignature, match="does not verify"):
        PUBLIC.verify(GOOD, MESSAGE, uid=b"1234567812345679")
    with pytest.raises(InvalidSignature, match="does not verify"):
        PUBLIC.verify(GOOD, MESSAGE, uid=b"")


@pytest.mark.parametrize("bit", [0, 7, 50, 111])
def test_flipped_bit_in_message(each_provider: str, bit: int) -> None:
    tampered = bytearray(MESSAGE)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidSignature, match="does not verify"):
        PUBLIC.verify(GOOD, bytes(tampered))


def test_flipped_bit_in_every_signature_byte(each_provider: str) -> None:
    """A bit flipped in any byte of the DER value is rejected (as invalid or as malformed)."""
    for index in range(len(GOOD)):
        tampered = bytearray(GOOD)
        tampered[index] ^= 1 << (index % 8)
        with pytest.raises(InvalidSignature):
            PUBLIC.verify(bytes(tampered), MESSAGE)


def test_other_key(each_provider: str) -> None:
    other = sm2.SM2PrivateKey.generate().public_key()
    with pytest.raises(InvalidSignature, match="does not verify"):
        other.verify(GOOD, MESSAGE)


def test_swapped_r_and_s(each_provider: str) -> None:
    swapped = sm2.rs_to_der(ANNEX_A5.s, ANNEX_A5.r)
    with pytest.raises(InvalidSignature, match="does not verify"):
        PUBLIC.verify(swapped, MESSAGE)


# --- r and s out of range -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "s", "label"),
    [
        (0, ANNEX_A5.s, "r"),
        (N, ANNEX_A5.s, "r"),
        (ANNEX_A5.r + N, ANNEX_A5.s, "r"),  # r + n: the classic malleability attempt
        (ANNEX_A5.r, 0, "s"),
        (ANNEX_A5.r, N, "s"),
        (ANNEX_A5.r, ANNEX_A5.s + N, "s"),
        (ANNEX_A5.r, 1 << 256, "s"),
    ],
)
def test_r_or_s_out_of_range(each_provider: str, r: int, s: int, label: str) -> None:
    der = der_sequence(der_integer(r), der_integer(s))
    with pytest.raises(sm2.MalformedSignature, match=f"{label} is outside \\[1, n-1\\]"):
        PUBLIC.verify(der, MESSAGE)
    with pytest.raises(MalformedDER):
        sm2.der_to_rs(der)


def test_r_plus_s_equal_n_is_rejected(each_provider: str) -> None:
    """Clause 7.1 B5: t = (r + s) mod n = 0 means invalid (both values otherwise in range)."""
    der = sm2.rs_to_der(ANNEX_A5.r, N - ANNEX_A5.r)
    with pytest.raises(InvalidSignature, match="does not verify"):
        PUBLIC.verify(der, MESSAGE)


def test_rs_to_der_refuses_out_of_range_values() -> None:
    for r, s in ((0, 1), (1, 0), (N, 1), (1, N), (-1, 5)):
        with pytest.raises(InvalidInput, match="outside \\[1, n-1\\]"):
            sm2.rs_to_der(r, s)
    with pytest.raises(InvalidInput, match="must be an int"):
        sm2.rs_to_der(True, 1)


# --- non-canonical and broken DER -------------------------------------------------------------

R_DER = der_integer(ANNEX_A5.r)
S_DER = der_integer(ANNEX_A5.s)

BAD_DER = {
    "empty": (b"", "empty"),
    "truncated by one byte": (GOOD[:-1], "truncated"),
    "truncated to the header": (GOOD[:2], "truncated: SEQUENCE declares 70 bytes, 0 present"),
    "only a tag": (b"\x30", "length byte missing"),
    "long-form sequence length": (b"\x30\x81\x46" + GOOD[2:], "non-minimal long-form length"),
    "long-form integer length": (
        der_sequence(b"\x02\x81\x21" + R_DER[2:], S_DER)[:1]
        + bytes([len(R_DER) + 1 + len(S_DER)])
        + b"\x02\x81\x21"
        + R_DER[2:]
        + S_DER,
        "non-minimal long-form length",
    ),
    "indefinite length (BER)": (b"\x30\x80" + GOOD[2:] + b"\x00\x00", "indefinite length"),
    "extra leading zero in r": (
        der_sequence(b"\x02\x22\x00" + R_DER[2:], S_DER),
        "superfluous leading zero",
    ),
    "trailing bytes": (GOOD + b"\x00", "trailing byte"),
    "negative r": (der_sequence(der_integer(-ANNEX_A5.r), S_DER), "negative"),
    "wrong outer tag (SET)": (b"\x31" + GOOD[1:], "not a DER SEQUENCE"),
    "wrong inner tag": (b"\x30\x46\x04" + GOOD[3:], "expected INTEGER r"),
    "three integers": (der_sequence(R_DER, S_DER, der_integer(1)), "unexpected element after s"),
    "one integer": (der_sequence(R_DER), "INTEGER s missing"),
    "zero-length integer": (der_sequence(b"\x02\x00", S_DER), "no content"),
    "raw r||s instead of DER": (sm2.der_to_raw(GOOD), "looks like raw r||s"),
}


@pytest.mark.parametrize("case", sorted(BAD_DER))
def test_malformed_der_is_rejected_with_reason(each_provider: str, case: str) -> None:
    der, reason = BAD_DER[case]
    with pytest.raises(sm2.MalformedSignature, match=reason) as info:
        sm2.der_to_rs(der)
    assert isinstance(info.value, InvalidSignature) and isinstance(info.value, MalformedDER)
    with pytest.raises(InvalidSignature, match=reason):
        PUBLIC.verify(der, MESSAGE)


def test_signature_of_wrong_type() -> None:
    with pytest.raises(sm2.MalformedSignature, match="must be bytes, got str"):
        PUBLIC.verify(GOOD.hex(), MESSAGE)  # type: ignore[arg-type]


@given(st.binary(max_size=100))
@settings(max_examples=300, deadline=None)
def test_garbage_signature_bytes_give_ezhifu_errors(garbage: bytes) -> None:
    try:
        PUBLIC.verify(garbage, MESSAGE)
    except InvalidSignature as exc:
        assert str(exc)
    else:
        pytest.fail("random bytes verified as a signature")


def test_raw_helpers_refuse_bad_input() -> None:
    with pytest.raises(sm2.MalformedSignature, match="must be 64 bytes"):
        sm2.raw_to_der(b"\x01" * 63)
    with pytest.raises(sm2.MalformedSignature, match="r is outside"):
        sm2.raw_to_der(b"\x00" * 32 + b"\x01" * 32)
    with pytest.raises(sm2.MalformedSignature, match="s is outside"):
        sm2.raw_to_der(b"\x01" * 32 + N.to_bytes(32, "big"))


# --- public keys -----------------------------------------------------------------------------


def _point(x: int, y: int) -> bytes:
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


BAD_POINTS = {
    "off the curve": (_point(ANNEX_A5.x, ANNEX_A5.y ^ 1), "not on the SM2 curve"),
    "point at infinity": (b"\x00", "point at infinity"),
    "all zero": (_point(0, 0), "not on the SM2 curve"),
    "x = p": (_point(P, ANNEX_A5.y), "coordinate x is outside"),
    "y = p + 1": (_point(ANNEX_A5.x, P + 1), "coordinate y is outside"),
    "x = 2^256 - 1": (_point((1 << 256) - 1, ANNEX_A5.y), "coordinate x is outside"),
    "64 bytes without prefix": (_point(ANNEX_A5.x, ANNEX_A5.y)[1:], "unsupported form"),
    "truncated": (_point(ANNEX_A5.x, ANNEX_A5.y)[:-1], "must be 65 bytes"),
    "hybrid form 06": (b"\x06" + _point(ANNEX_A5.x, ANNEX_A5.y)[1:], "unsupported form 0x06"),
    "compressed, wrong length": (b"\x02" + b"\x01" * 31, "must be 33 bytes"),
    "compressed, x >= p": (b"\x02" + P.to_bytes(32, "big"), "coordinate x is outside"),
    "empty": (b"", "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_POINTS))
def test_bad_public_points(case: str) -> None:
    data, reason = BAD_POINTS[case]
    with pytest.raises(InvalidInput, match=reason):
        sm2.SM2PublicKey.from_encoded_point(data)


def test_compressed_x_without_a_curve_point() -> None:
    x = next(x for x in range(1, 100) if not _has_y(x))
    with pytest.raises(InvalidInput, match="not the abscissa of a curve point"):
        sm2.SM2PublicKey.from_encoded_point(b"\x02" + x.to_bytes(32, "big"))


def _has_y(x: int) -> bool:
    rhs = (x**3 + sm2.SM2_A * x + sm2.SM2_B) % P
    return pow(rhs, (P - 1) // 2, P) in (0, 1)


def test_public_key_constructor_checks() -> None:
    with pytest.raises(InvalidInput, match="not on the SM2 curve"):
        sm2.SM2PublicKey(1, 2)
    with pytest.raises(InvalidInput, match="x must be an int"):
        sm2.SM2PublicKey("1", 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="must be bytes"):
        sm2.SM2PublicKey.from_encoded_point("04ab")  # type: ignore[arg-type]


@given(st.binary(max_size=80))
@settings(max_examples=300, deadline=None)
def test_garbage_point_bytes_give_ezhifu_errors(garbage: bytes) -> None:
    try:
        sm2.SM2PublicKey.from_encoded_point(garbage)
    except EzhifuError as exc:
        assert str(exc)


# --- private keys, IDs and inputs --------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, N - 1, N, 1 << 256])
def test_private_value_out_of_range(value: int) -> None:
    with pytest.raises(InvalidInput, match="outside \\[1, n-2\\]"):
        sm2.SM2PrivateKey.from_private_value(value)


def test_private_value_wrong_type() -> None:
    with pytest.raises(InvalidInput, match="must be an int"):
        sm2.SM2PrivateKey.from_private_value(b"\x01" * 32)  # type: ignore[arg-type]


def test_id_longer_than_allowed(each_provider: str) -> None:
    key = sm2.SM2PrivateKey.from_private_value(ANNEX_A5.d)
    too_long = b"x" * (sm2.MAX_UID_LENGTH + 1)
    with pytest.raises(InvalidInput, match="at most 8190 bytes"):
        key.sign(b"m", uid=too_long)
    with pytest.raises(InvalidInput, match="at most 8190 bytes"):
        PUBLIC.verify(GOOD, MESSAGE, uid=too_long)
    longest = b"x" * sm2.MAX_UID_LENGTH
    key.public_key().verify(key.sign(b"m", uid=longest), b"m", uid=longest)


def test_non_bytes_message_and_id(each_provider: str) -> None:
    key = sm2.SM2PrivateKey.from_private_value(ANNEX_A5.d)
    with pytest.raises(InvalidInput, match="data to sign must be bytes, got str"):
        key.sign("voucher")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="user ID \\(uid\\) must be bytes, got str"):
        key.sign(b"voucher", uid="1234567812345678")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="signed data must be bytes"):
        PUBLIC.verify(GOOD, None)  # type: ignore[arg-type]


def test_private_key_repr_does_not_leak_the_scalar() -> None:
    key = sm2.SM2PrivateKey.from_private_value(ANNEX_A5.d)
    for text in (repr(key), str(key), repr(key.public_key())):
        assert f"{ANNEX_A5.d:x}" not in text.lower()
