"""The seal-signature writer (issue 17 item 1): what it writes reads back, without reading it back.

:func:`ezhifu.seal.apply.build_ses_signature` writes a v4 ``SES_Signature`` directly (every element
in plain DER around the seal's bytes as parsed) and no longer reads it back; an asn1crypto-written
one (v1) still is. These tests show, over hypothesis-drawn inputs (three seals: ofdrw's, ezhifu's
SM2 and RSA ones; any ASCII ``propertyInfo``, voucher data, signing time in any offset, with or
without a time-stamp token), that the direct output

* is byte for byte what the asn1crypto writer writes for the same parts and signature value;
* is detected as a v4 seal signature and read back by the asn1crypto path (every cache emptied)
  with exactly the parts written, and by the fast reader alike;
* carries a signature that verifies over the ``TBS_Sign`` read back.

And that a signature embedding a seal detected before as v4 is detected as it is without that
memory, for the signatures written and for hypothesis mutations of them; and that ``propertyInfo``
is the percent-encoding of its values (unreserved ones are written without calling the encoder).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seal_helpers import SealWorld

from ezhifu.crypto.base import Signer
from ezhifu.crypto.der import tlv
from ezhifu.crypto.sm3 import hash_data
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import SealFormatError
from ezhifu.pki.path import certificate_der
from ezhifu.pki.signer import verify_signature
from ezhifu.pki.trust import TrustStore
from ezhifu.seal import apply, detect
from ezhifu.seal.apply import (
    PROPERTY_PREFIX,
    apply_seal,
    build_ses_signature,
    format_property_info,
    parse_property_info,
)
from ezhifu.seal.containers import container_for, parse_signature
from ezhifu.seal.containers.fast import read_v4_signature
from ezhifu.seal.containers.v4 import V4Container
from ezhifu.seal.detect import SealKind, SealVersion
from ezhifu.seal.model import SEALS, SealSignature, children
from ezhifu.testing.pki import make_pki

OFDRW = Path(__file__).resolve().parents[1] / "conformance" / "ofdrw" / "SignedValueV4.dat"
V4 = container_for(SealVersion.V4, SealKind.SIGNATURE)


@cache
def _world() -> SealWorld:
    maker = make_pki("sm2")
    trust = TrustStore(roots=[maker.root_cert], seal_makers=[maker.root_cert])
    return SealWorld(maker, maker, trust, datetime.now(UTC).replace(microsecond=0))


@cache
def _seals() -> tuple[tuple[bytes, Signer], ...]:
    """(v4 seal DER, a signer): ofdrw's seal (``build_ses_signature`` checks no holder), ezhifu's
    SM2 seal, and one with an RSA holder."""
    raw = OFDRW.read_bytes()
    world = _world()
    rsa = make_pki("rsa2048")
    return (
        (children(children(raw, "ofdrw")[0], "ofdrw")[1], world.holder.signer()),
        (world.seal("v4"), world.holder.signer()),
        (world.seal("v4", holder_certs=[rsa.leaf_cert]), rsa.signer()),
    )


def _forget() -> None:
    SEALS.clear()
    detect.DETECTED_SEALS.clear()
    detect.DETECTED_SIGNATURES.clear()


_OFFSETS = st.sampled_from([timedelta(0), timedelta(hours=8), timedelta(hours=-5, minutes=-30)])
_WHEN = st.builds(
    lambda moment, offset: moment.replace(tzinfo=UTC).astimezone(timezone(offset)),
    st.datetimes(min_value=datetime(1001, 1, 2), max_value=datetime(9998, 12, 30)),
    _OFFSETS,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.sampled_from(range(3)),
    data=st.binary(max_size=3000),
    prop=st.text(alphabet=st.characters(max_codepoint=127), max_size=400),
    when=_WHEN,
    token=st.none() | st.binary(min_size=1, max_size=300),
)
def test_the_direct_writer_writes_what_reads_back(
    index: int, data: bytes, prop: str, when: datetime, token: bytes | None
) -> None:
    seal_der, signer = _seals()[index]
    hook = None if token is None else (lambda _value: token)
    der = build_ses_signature(seal_der, signer, data, prop, signing_time=when, timestamp_hook=hook)
    cert = signer.certificate
    assert cert is not None
    moment = when.astimezone(UTC).replace(microsecond=0)

    _forget()
    assert detect.detect(der) == (SealKind.SIGNATURE, SealVersion.V4)
    read = parse_signature(der)  # the seal unknown: asn1crypto reads everything
    assert read.raw == der and read.seal.raw == seal_der and read.tbs_version == 4
    assert read.signing_time == moment
    assert read.data_hash == hash_data(signer.algorithm.digest_name, data)
    assert read.property_info == prop
    assert read.signer_cert == certificate_der(cert)
    assert read.algorithm_oid == signer.algorithm.signature_oid
    assert read.time_stamp == token
    assert read.extensions == ()
    assert read_v4_signature(der, read.seal, "fast") == read
    verify_signature(cert, read.tbs_bytes, read.signature, algorithm=signer.algorithm)

    assert isinstance(V4, V4Container)
    expected = V4._asn1_signature(
        read.seal, moment, read.data_hash, prop, read.signer_cert, read.algorithm_oid,
        lambda _tbs: read.signature, hook,
    )  # fmt: skip
    assert der == expected


def _read_backs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    original = apply.parse_signature

    def counting(der: bytes, *, what: str = "seal signature") -> SealSignature:
        calls.append(der)
        return original(der, what=what)

    monkeypatch.setattr(apply, "parse_signature", counting)
    return calls


def test_only_what_asn1crypto_wrote_is_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    signer = world.holder.signer()
    calls = _read_backs(monkeypatch)
    v4 = Envelope.build([sample_voucher("5201")]).bodies[0]
    apply_seal(v4, world.seal("v4"), signer, "cz_dwgz")
    assert calls == []  # written directly
    v1 = Envelope.build([sample_voucher("5201")]).bodies[0]
    stamp = apply_seal(v1, world.seal("v1"), signer, "cz_dwgz")
    assert len(calls) == 1 and parse_signature(calls[0]).seal.version is SealVersion.V1
    assert stamp.value


@cache
def _written(index: int) -> bytes:
    """One signature written with each seal (the same bytes for every example drawn)."""
    seal_der, signer = _seals()[index]
    return build_ses_signature(seal_der, signer, b"voucher", "cz_dwgz")


def _detected_fresh(raw: bytes) -> tuple[SealKind, SealVersion] | str:
    detect.DETECTED_SEALS.clear()
    detect.DETECTED_SIGNATURES.clear()
    try:
        return detect.detect(raw)
    except SealFormatError as exc:
        return str(exc)


def _detected_knowing(seal_der: bytes, raw: bytes) -> tuple[SealKind, SealVersion] | str:
    detect.DETECTED_SEALS.clear()
    detect.DETECTED_SIGNATURES.clear()
    assert detect.detect(seal_der) == (SealKind.SEAL, SealVersion.V4)
    try:
        return detect.detect(raw)
    except SealFormatError as exc:
        return str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.sampled_from(range(3)), data=st.data())
def test_a_known_v4_seal_gives_the_detection_of_an_unknown_one(index: int, data: st.DataObject) -> None:
    seal_der, written = _seals()[index][0], _written(index)
    top = children(written, "written")
    tbs = children(top[0], "written.toSign")
    # re-arranged elements: any count and order of TBS_Sign's and of SES_Signature's elements
    tbs_parts = data.draw(st.lists(st.sampled_from(tbs), min_size=0, max_size=7) | st.just(tbs))
    parts = [tlv(0x30, b"".join(tbs_parts)), *top[1:]]
    picked = data.draw(st.lists(st.sampled_from(parts), min_size=0, max_size=7) | st.just(parts))
    raw = bytearray(tlv(0x30, b"".join(picked)))
    for _ in range(data.draw(st.integers(0, 3))):  # byte changes anywhere, seal included
        pos = data.draw(st.integers(0, len(raw)))
        raw[pos : pos + data.draw(st.integers(0, 2))] = data.draw(st.binary(max_size=2))
    raw = raw[: data.draw(st.integers(0, len(raw)) | st.just(len(raw)))]
    assert _detected_knowing(seal_der, bytes(raw)) == _detected_fresh(bytes(raw))


def test_a_known_v4_seal_spares_reading_its_parts(detections: list[bytes]) -> None:
    seal_der, written = _seals()[1][0], _written(1)
    _forget()
    detect.detect(seal_der)
    detections.clear()
    assert detect.detect(written) == (SealKind.SIGNATURE, SealVersion.V4)
    assert detections == [written]  # detected once (remembered from here), the seal not again
    assert detect.detect(written) == (SealKind.SIGNATURE, SealVersion.V4)
    assert detections == [written]


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(
        st.text(max_size=20) | st.text(alphabet="aZ09_.~-/%;= 凭", max_size=20), min_size=3, max_size=3
    )
)
def test_property_info_percent_encodes_exactly_what_it_must(values: list[str]) -> None:
    """Values made of unreserved characters are written as they are; the text is what
    ``urllib.parse.quote`` writes for each value and reads back to the values."""
    position, vt_code, voucher_no = values
    text = format_property_info(position, vt_code, voucher_no)
    encoded = [quote(v, safe="-_.~") for v in values]
    assert text == f"{PROPERTY_PREFIX};position={encoded[0]};vt={encoded[1]};no={encoded[2]}"
    assert parse_property_info(text) == {"position": position, "vt": vt_code, "no": voucher_no}
