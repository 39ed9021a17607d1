"""The fast v4 ``SES_Signature`` reader against asn1crypto (ezhifu.seal.containers.fast).

For every v4 seal signature of the suite (ofdrw's ``SignedValueV4.dat``, ezhifu's own with and
without a time stamp, with SM2 and RSA signers) and for hypothesis mutations of them, the fast
reader gives the :class:`~ezhifu.seal.model.SealSignature` the asn1crypto path gives, or declines
(``None``); it never gives a different answer, and never an answer where asn1crypto refuses.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seal_helpers import SealWorld

from ezhifu.errors import SealFormatError
from ezhifu.pki.trust import TrustStore
from ezhifu.seal import detect
from ezhifu.seal.apply import build_ses_signature
from ezhifu.seal.containers import container_for, parse_seal, parse_signature
from ezhifu.seal.containers.base import _embedded_seal
from ezhifu.seal.containers.fast import read_v4_signature
from ezhifu.seal.containers.v4 import V4Container
from ezhifu.seal.detect import SealKind, SealVersion
from ezhifu.seal.model import SEALS, Seal, SealSignature, child_spans, children, load_signature_structure
from ezhifu.sign.cms import sign_detached
from ezhifu.testing.pki import make_pki

OFDRW = Path(__file__).resolve().parents[1] / "conformance" / "ofdrw" / "SignedValueV4.dat"
V4 = container_for(SealVersion.V4, SealKind.SIGNATURE)
LABEL = "seal signature (GB/T 38540-2020 SES_Signature)"


def _slow(raw: bytes, seal: Seal) -> SealSignature | None:
    """The asn1crypto path with the same cached seal; ``None`` when it refuses the bytes."""
    try:
        obj = load_signature_structure(V4.signature_spec, raw, LABEL, skip_seal=True)
        return V4._signature_from_parsed(obj, raw, LABEL, seal)
    except SealFormatError:
        return None


def _agree(raw: bytes, seal: Seal) -> SealSignature | None:
    try:
        fast = read_v4_signature(raw, seal, LABEL)
    except SealFormatError:  # only from the shared extDatas / timeStamp helpers
        assert _slow(raw, seal) is None
        return None
    if fast is not None:
        assert fast == _slow(raw, seal)
    return fast


@cache
def signatures() -> tuple[tuple[str, bytes, bytes], ...]:
    """(name, SES_Signature DER, embedded seal DER)."""
    maker, holder = make_pki("sm2"), make_pki("sm2", subject_prefix="holder")
    now = datetime.now(UTC).replace(microsecond=0)
    world = SealWorld(maker, holder, TrustStore(roots=[maker.root_cert, holder.root_cert]), now)
    out: list[tuple[str, bytes, bytes]] = []
    raw = OFDRW.read_bytes()
    out.append(("ofdrw SignedValueV4.dat", raw, children(children(raw, "ofdrw")[0], "ofdrw")[1]))
    seal = world.seal("v4")
    signer = world.holder.signer()
    out.append(("ezhifu sm2", build_ses_signature(seal, signer, b"voucher text", "cz_dwgz"), seal))

    def stamp(value: bytes) -> bytes:  # a DER token over the signature value (any DER will do)
        return sign_detached(value, world.maker.signer())

    stamped = build_ses_signature(seal, signer, b"voucher", "rh_zqz", timestamp_hook=stamp)
    out.append(("ezhifu sm2 + timeStamp", stamped, seal))
    rsa = make_pki("rsa2048")
    rsa_seal = world.seal("v4", holder_certs=[rsa.leaf_cert])
    out.append(("ezhifu rsa", build_ses_signature(rsa_seal, rsa.signer(), b"x" * 500, "cz_dwgz"), rsa_seal))
    return tuple(out)


def _seal(seal_der: bytes) -> Seal:
    return parse_seal(seal_der)


@pytest.mark.parametrize("index", range(4))
def test_fast_reader_reads_each_v4_signature_as_asn1crypto_does(index: int) -> None:
    name, raw, seal_der = signatures()[index]
    seal = _seal(seal_der)
    fast = read_v4_signature(raw, seal, LABEL)
    assert fast is not None, name  # the usual layout is read fast, not declined
    assert fast == _slow(raw, seal)
    if "timeStamp" in name:
        assert fast.time_stamp is not None


def test_parse_signature_takes_the_fast_path_when_the_seal_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    _name, raw, _seal_der = signatures()[1]
    SEALS.clear()
    first = parse_signature(raw)  # decodes the seal with asn1crypto and keeps it
    calls: list[SealSignature | None] = []

    def spy(raw: bytes, seal: Seal, label: str) -> SealSignature | None:
        calls.append(result := read_v4_signature(raw, seal, label))
        return result

    monkeypatch.setattr("ezhifu.seal.containers.v4.read_v4_signature", spy)
    assert parse_signature(raw) == first
    assert calls and calls[0] == first


def test_a_different_seal_is_declined() -> None:
    _name, raw, seal_der = signatures()[1]
    other = _seal(signatures()[3][2])
    assert read_v4_signature(raw, other, LABEL) is None
    v1_world_seal = dataclasses.replace(_seal(seal_der), version=SealVersion.V1)
    assert read_v4_signature(raw, v1_world_seal, LABEL) is None


def _replace_once(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert raw.count(old) >= 1
    return raw.replace(old, new, 1)


def test_unusual_fields_are_declined_or_agree() -> None:
    _name, raw, seal_der = signatures()[1]
    seal = _seal(seal_der)
    good = read_v4_signature(raw, seal, LABEL)
    assert good is not None
    when = good.time_info_raw
    cases = [
        _replace_once(raw, b"\x18\x0f" + when, b"\x18\x0f" + when[:-1] + b"+"),  # not ...Z
        _replace_once(raw, b"\x18\x0f" + when, b"\x18\x0f" + b"20261340000000Z"),  # month 13
        raw + b"\x00",  # trailing byte
        raw[:-1],  # truncated
    ]
    for case in cases:
        assert _agree(case, seal) is None


_SEEDS = st.sampled_from(range(4))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, bytes]:
    _name, raw, seal_der = signatures()[draw(_SEEDS)]
    data = bytearray(raw)
    keep = raw.index(seal_der), raw.index(seal_der) + len(seal_der)  # mutate around the seal too
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(data) - 1))
        if keep[0] <= pos < keep[1] and draw(st.booleans()):
            pos = draw(st.sampled_from([0, 1, 2, 3, 4, len(data) - 1, len(data) - 20]))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(
                st.sampled_from([0x00, 0x03, 0x04, 0x06, 0x16, 0x18, 0x30, 0x80, 0x81, 0x82, 0xA0, 0xFF])
            )
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=3))
        else:
            del data[pos : pos + draw(st.integers(1, 3))]
    return bytes(data), seal_der


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_reader_agrees_on_mutated_signatures(case: tuple[bytes, bytes]) -> None:
    raw, seal_der = case
    _agree(raw, _seal(seal_der))


# --- the writer: the direct DER of build_signature against asn1crypto's encoding -------------

_TIMES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
    lambda t: t.replace(microsecond=0)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    when=_TIMES,
    data_hash=st.binary(max_size=300),
    prop=st.text(max_size=200) | st.text(alphabet=st.characters(max_codepoint=127), max_size=300),
    value=st.binary(max_size=300),
    token=st.none() | st.binary(min_size=1, max_size=300),
    seed=st.sampled_from(range(4)),
)
def test_build_signature_writes_what_asn1crypto_writes(
    when: datetime, data_hash: bytes, prop: str, value: bytes, token: bytes | None, seed: int
) -> None:
    _name, raw, seal_der = signatures()[seed]
    seal = _seal(seal_der)
    cert = parse_signature(raw).signer_cert
    signed: list[bytes] = []

    def sign(tbs: bytes) -> bytes:
        signed.append(tbs)
        return value

    stamp = None if token is None else (lambda _value: token)
    args = (seal, when, data_hash, prop, cert, "1.2.156.10197.1.501", sign, stamp)
    try:
        assert isinstance(V4, V4Container)
        expected = V4._asn1_signature(*args)
    except (ValueError, TypeError):  # what asn1crypto cannot encode (non-ASCII IA5String)
        with pytest.raises((ValueError, TypeError)):
            V4.build_signature(
                seal, when=when, data_hash=data_hash, property_info=prop, signer_cert=cert,
                algorithm_oid="1.2.156.10197.1.501", sign=sign, time_stamp=stamp,
            )  # fmt: skip
        return
    got = V4.build_signature(
        seal, when=when, data_hash=data_hash, property_info=prop, signer_cert=cert,
        algorithm_oid="1.2.156.10197.1.501", sign=sign, time_stamp=stamp,
    )  # fmt: skip
    assert got == expected
    assert signed[0] == signed[1]  # the same TBS_Sign bytes were signed


# --- remembered seal detections -------------------------------------------------------------


def test_seal_detections_are_remembered_by_exact_bytes(detections: list[bytes]) -> None:
    _name, raw, seal_der = signatures()[1]
    detect.DETECTED_SEALS.clear()
    assert detect.detect(seal_der) == (SealKind.SEAL, SealVersion.V4)
    assert detect.detect(raw) == (SealKind.SIGNATURE, SealVersion.V4)
    assert list(detect.DETECTED_SEALS._items) == [seal_der]  # the seal only, not the signature
    detections.clear()  # count from here: the detections above were the first of each
    calls = detections
    assert detect.detect(bytes(seal_der)) == (SealKind.SEAL, SealVersion.V4)  # equal bytes: remembered
    assert calls == []
    broken = seal_der[:-1]  # one byte less: detected again, and refused again on every call
    for _ in range(2):
        with pytest.raises(SealFormatError):
            detect.detect(broken)
    assert calls == [broken, broken]
    v1 = signatures_v1_seal()
    assert detect.detect(v1) == (SealKind.SEAL, SealVersion.V1)  # another seal, its own answer


def signatures_v1_seal() -> bytes:
    maker = make_pki("sm2")
    world = SealWorld(
        maker, maker, TrustStore(roots=[maker.root_cert]), datetime.now(UTC).replace(microsecond=0)
    )
    return world.seal("v1")


def test_remembered_seal_detections_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    remembered = detect._SealDetections(2)
    for i in range(4):
        remembered.put(bytes([i]) * 10, SealVersion.V4)
    assert len(remembered._items) == 2
    remembered.put(b"x" * (detect.MAX_REMEMBERED_SEAL + 1), SealVersion.V4)
    assert len(remembered._items) == 2 and b"x" * (detect.MAX_REMEMBERED_SEAL + 1) not in remembered._items


def _embedded_seal_by_split(raw: bytes) -> bytes | None:
    """What parse_signature looked the seal up by before child_spans: two children() calls."""
    try:
        return children(children(raw, "sig")[0], "sig.toSign")[1]
    except (SealFormatError, IndexError):
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_embedded_seal_is_found_without_copies_as_children_finds_it(case: tuple[bytes, bytes]) -> None:
    """The copy-free lookup of the embedded seal gives the bytes (or the absence) that the two
    children() calls give, on well-formed and on mutated signatures; where its reader declines,
    children() answers."""
    raw, _seal_der = case
    assert _embedded_seal(raw, "sig") == _embedded_seal_by_split(raw)
    spans = child_spans(raw)
    if spans is not None:
        assert [raw[a:b] for a, b in spans] == children(raw, "sig")


@pytest.mark.parametrize("index", range(4))
def test_the_embedded_seal_of_each_signature_is_found(index: int) -> None:
    _name, raw, seal_der = signatures()[index]
    assert _embedded_seal(raw, "sig") == seal_der == _embedded_seal_by_split(raw)
