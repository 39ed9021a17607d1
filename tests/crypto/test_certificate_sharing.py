"""One input never changes another's verdict through a shared certificate (issue 17 item 1).

Certificates are shared across inputs by exact DER (:func:`ezhifu.pki.certs.shared_certificate`,
the trust store, the path cache). asn1crypto decodes lazily and memoises what it derived: a hostile
certificate (here: its public-key algorithm OID changed) fails on first access and leaves a
half-filled memo, so a shared object would answer a later input differently. Only a completely read
certificate is shared; every other input gets its own fresh object and the same failure.

Checked: the same hostile CMS, seal and trust anchor verified again and again in one process, before
and after good inputs, give identical results (``to_dict()``, reason, steps), equal to a fresh
process's; and for hypothesis-retouched certificates (a few hundred), verifying twice gives the same
result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from asn1crypto import core, x509
from der_support import primitive_ranges
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.crypto.der import fast_tlv, tlv
from ezhifu.crypto.oids import OID_EC_PUBLIC_KEY
from ezhifu.errors import ConfigurationError, MalformedCertificate
from ezhifu.pki import certs as certs_module
from ezhifu.pki.certs import certificate_label, fully_read, load_certificate, shared_certificate
from ezhifu.pki.path import PATHS
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.seal.verify import verify_seal
from ezhifu.sign.cms import sign_detached
from ezhifu.sign.cms_verify import verify_detached
from ezhifu.testing.pki import TestPKI, make_pki, make_test_seal

DATA = b"voucher text"
AT = datetime.now(UTC).replace(microsecond=0)
#: Replacements of the 9 bytes of the OID id-ecPublicKey (RFC 5480): unknown algorithms.
OTHER_KEY_OIDS = (
    bytes.fromhex("06072a8648ce3d0202"),
    bytes.fromhex("06072a8648ce3d8201"),
    bytes.fromhex("06072a8648ce3d0281"),
)


@cache
def pki() -> TestPKI:
    return make_pki("sm2")


@cache
def trust() -> TrustStore:
    return TrustStore(roots=[pki().root_cert])


def with_key_oid(cert: x509.Certificate, oid: bytes) -> bytes:
    """The DER of ``cert`` with its SubjectPublicKeyInfo algorithm OID replaced (same length)."""
    der = cert.dump()
    spki = cert["tbs_certificate"]["subject_public_key_info"].dump()
    at = der.index(spki) + spki.index(core.ObjectIdentifier(OID_EC_PUBLIC_KEY).dump())
    assert len(oid) == 9
    return der[:at] + oid + der[at + 9 :]


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(start, contents start, end) of each element in ``data[start:end]``."""
    out = []
    pos = start
    while pos < end:
        item = fast_tlv(data, pos)
        assert item is not None
        out.append((pos, item[3], item[4]))
        pos = item[4]
    return out


def cms_with_certificate(cms_der: bytes, cert_der: bytes) -> bytes:
    """The CMS with its certificates field ``[0]`` replaced by exactly ``cert_der`` (any bytes)."""
    outer = fast_tlv(cms_der, 0)
    assert outer is not None
    oid, explicit = _children(cms_der, outer[3], outer[4])
    (signed,) = _children(cms_der, explicit[1], explicit[2])
    fields = _children(cms_der, signed[1], signed[2])
    parts = [cms_der[s:e] for s, _, e in fields]
    index = next(i for i, (s, _, _) in enumerate(fields) if cms_der[s] == 0xA0)
    parts[index] = tlv(0xA0, cert_der)
    signed_data = tlv(0x30, b"".join(parts))
    return tlv(0x30, cms_der[oid[0] : oid[2]] + tlv(0xA0, signed_data))


@cache
def good_cms() -> bytes:
    return sign_detached(DATA, pki().signer())


def hostile_cms(oid: bytes) -> bytes:
    return cms_with_certificate(good_cms(), with_key_oid(pki().leaf_cert, oid))


def _outcome(result: Any) -> dict[str, Any]:
    """``to_dict()`` as JSON gives it back, with every step (name, outcome, texts, evidence)."""
    out: dict[str, Any] = json.loads(json.dumps(result.to_dict(), default=str))
    out["steps"] = json.loads(json.dumps([(s.name, s.outcome, s.en, s.zh, s.evidence) for s in result.steps]))
    return out


def cms_outcome(der: bytes, store: TrustStore | None = None) -> dict[str, Any]:
    return _outcome(verify_detached(der, DATA, trust=store or trust(), at=AT))


_FRESH = """
import json, sys
from datetime import datetime
from asn1crypto import x509
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.verify import verify_seal
from ezhifu.sign.cms_verify import verify_detached
args = json.loads(sys.stdin.read())
load = lambda ders: [x509.Certificate.load(bytes.fromhex(d)) for d in ders]
store = TrustStore(roots=load(args["roots"]), seal_makers=load(args["seal_makers"]))
at = datetime.fromisoformat(args["at"])
kind, der = args["item"]
if kind == "cms":
    result = verify_detached(bytes.fromhex(der), args["data"].encode(), trust=store, at=at)
else:
    result = verify_seal(bytes.fromhex(der), trust=store, at=at)
out = json.loads(json.dumps(result.to_dict(), default=str))
out["steps"] = [(s.name, s.outcome, s.en, s.zh, s.evidence) for s in result.steps]
print(json.dumps(out))
"""


def fresh_process_outcomes(items: list[tuple[str, bytes]], store: TrustStore) -> list[dict[str, Any]]:
    """Each CMS or seal verified first thing in a fresh process of its own."""
    out = []
    for kind, der in items:
        args = {
            "roots": [c.dump().hex() for c in store.roots],
            "seal_makers": [c.dump().hex() for c in store.seal_makers],
            "at": AT.isoformat(),
            "data": DATA.decode(),
            "item": [kind, der.hex()],
        }
        run = subprocess.run(
            [sys.executable, "-c", _FRESH], input=json.dumps(args), capture_output=True, text=True, check=True
        )
        out.append(json.loads(run.stdout))
    return out


def test_a_hostile_cms_gives_the_same_verdict_every_time_and_as_a_fresh_process() -> None:
    good_first = cms_outcome(good_cms())
    assert good_first["valid"] is True
    hostile = [hostile_cms(oid) for oid in OTHER_KEY_OIDS]
    runs = [[cms_outcome(der) for der in hostile] for _ in range(3)]
    good_after = cms_outcome(good_cms())
    assert runs[0] == runs[1] == runs[2]
    assert good_after == good_first
    for outcome in runs[0]:
        assert outcome["valid"] is False
        assert outcome["reason"].startswith("signer certificate public key is unreadable")
    assert runs[0] == fresh_process_outcomes([("cms", der) for der in hostile], trust())


def test_a_hostile_certificate_is_never_shared() -> None:
    der = with_key_oid(pki().leaf_cert, OTHER_KEY_OIDS[0])
    first, second = shared_certificate(der), shared_certificate(der)
    assert first is not second and not fully_read(first)
    good = shared_certificate(pki().leaf_cert.dump())
    assert good is shared_certificate(pki().leaf_cert.dump()) and fully_read(good)
    with pytest.raises(MalformedCertificate):
        load_certificate(der)


#: A 1x1 GIF89a, the seal's picture.
GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@cache
def seal_world() -> tuple[TestPKI, TestPKI, TrustStore, bytes]:
    """A seal maker PKI, the holder (the signer PKI), a store anchoring both, and a v4 seal."""
    maker, holder = make_pki("sm2", subject_prefix="seal maker"), pki()
    store = TrustStore([holder.root_cert], seal_makers=[maker.root_cert])
    seal = make_test_seal(
        maker.signer(), seal_id="S1", name="测试章", holder=holder.leaf_cert, picture=GIF_1X1, now=AT
    )
    return maker, holder, store, seal


def test_a_hostile_seal_certificate_gives_the_same_verdict_every_time() -> None:
    maker, holder, store, seal = seal_world()
    assert verify_seal(seal, trust=store, at=AT).valid
    for cert in (maker.leaf_cert, holder.leaf_cert):
        for oid in OTHER_KEY_OIDS:
            hostile = seal.replace(cert.dump(), with_key_oid(cert, oid))
            assert hostile != seal
            first = _outcome(verify_seal(hostile, trust=store, at=AT))
            assert verify_seal(seal, trust=store, at=AT).valid
            assert _outcome(verify_seal(hostile, trust=store, at=AT)) == first
            assert _outcome(verify_seal(hostile, trust=store, at=AT)) == first
            if cert is maker.leaf_cert:
                assert first["valid"] is False
            if oid == OTHER_KEY_OIDS[0]:
                assert [first] == fresh_process_outcomes([("seal", hostile)], store)


def test_a_hostile_trust_anchor_is_refused_when_the_store_is_made() -> None:
    der = with_key_oid(pki().root_cert, OTHER_KEY_OIDS[0])
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="TrustStore roots: unreadable certificate"):
            TrustStore(roots=[x509.Certificate.load(der)])
        with pytest.raises(MalformedCertificate):
            TrustStore.from_pem_bytes(der)
    # the good root still works, the same before and after
    assert cms_outcome(good_cms())["valid"] is True


def test_trust_store_anchors_are_completely_read_objects() -> None:
    root = x509.Certificate.load(pki().root_cert.dump())  # not read yet: the shared object instead
    store = TrustStore(roots=[root])
    assert store.roots[0] is shared_certificate(root.dump()) and fully_read(store.roots[0])
    assert store.roots[0].dump() == root.dump()
    loaded = load_certificate(pki().root_cert.dump())  # read completely when loaded: kept
    assert fully_read(loaded) and TrustStore(roots=[loaded]).roots[0] is loaded
    assert store.for_purpose("signer").roots[0] is store.roots[0]


# --- the general property: for any certificate bytes, verifying twice gives the same result ------


@st.composite
def retouched_certificate(draw: st.DrawFn, certs: tuple[x509.Certificate, ...] = ()) -> bytes:
    """A certificate (default: the signer's or the root) with one to three bytes changed: inside
    primitive values (OIDs, names, the key, extensions: the layout stays, the values turn
    hostile) or anywhere; the length stays."""
    data = bytearray(draw(st.sampled_from([c.dump() for c in certs or (pki().leaf_cert, pki().root_cert)])))
    ranges = [r for r in primitive_ranges(bytes(data), 0, len(data)) if r[1] > r[0]]
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            start, end = draw(st.sampled_from(ranges))
        else:
            start, end = 0, len(data)
        pos = draw(st.integers(start, end - 1))
        data[pos] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def mutated_certificate(draw: st.DrawFn) -> bytes:
    """The signer certificate with bytes inserted, deleted or cut off (lengths no longer agree)."""
    data = bytearray(pki().leaf_cert.dump())
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        op = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 4))]
        else:
            del data[max(pos, 1) :]
    return bytes(data)


_LIMITS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
}


@settings(max_examples=300, **_LIMITS)
@given(cert=st.one_of(retouched_certificate(), mutated_certificate()))
def test_any_embedded_certificate_gives_the_same_verdict_twice(cert: bytes) -> None:
    der = cms_with_certificate(good_cms(), cert)
    first = cms_outcome(der)
    assert cms_outcome(good_cms())["valid"] is True
    assert cms_outcome(der) == first


@settings(max_examples=200, **_LIMITS)
@given(cert=retouched_certificate((seal_world()[0].leaf_cert, seal_world()[1].leaf_cert)))
def test_any_seal_certificate_gives_the_same_verdict_twice(cert: bytes) -> None:
    maker, holder, store, seal = seal_world()
    original = next(
        c.dump()
        for c in (maker.leaf_cert, holder.leaf_cert)
        if len(c.dump()) == len(cert) and sum(a != b for a, b in zip(c.dump(), cert, strict=True)) <= 3
    )
    hostile = seal.replace(original, cert)
    first = verify_seal(hostile, trust=store, at=AT).to_dict()
    assert verify_seal(seal, trust=store, at=AT).valid
    assert verify_seal(hostile, trust=store, at=AT).to_dict() == first


@settings(max_examples=200, **_LIMITS)
@given(cert=retouched_certificate())
def test_any_trust_anchor_gives_the_same_verdict_twice(cert: bytes) -> None:
    try:
        store = TrustStore(roots=[x509.Certificate.load(cert)])
    except (ConfigurationError, ValueError):
        return  # refused when made: never used for any input
    first = cms_outcome(good_cms(), store)
    assert cms_outcome(hostile_cms(OTHER_KEY_OIDS[0]), store)["valid"] is False
    assert cms_outcome(good_cms(), store) == first


def test_many_certificates_and_inputs_leave_good_inputs_alone() -> None:
    """After hundreds of hostile inputs, good ones verify exactly as before (nothing leaked)."""
    before = cms_outcome(good_cms())
    leaf = pki().leaf_cert.dump()
    for pos in range(0, len(leaf), 7):
        cert = bytearray(leaf)
        cert[pos] ^= 0x01
        cms_outcome(cms_with_certificate(good_cms(), bytes(cert)))
    assert cms_outcome(good_cms()) == before


def test_an_expiring_signer_is_judged_at_each_time_on_shared_objects() -> None:
    """A shared certificate's memo holds decoded fields, not verdicts: the time still counts."""
    later = AT + timedelta(days=400)
    now = verify_detached(good_cms(), DATA, trust=trust(), at=AT)
    expired = verify_detached(good_cms(), DATA, trust=trust(), at=later)
    assert now.valid and not expired.valid
    assert verify_detached(good_cms(), DATA, trust=trust(), at=AT).to_dict() == now.to_dict()


def test_the_path_cache_keeps_only_completely_read_certificates() -> None:
    leaf = pki().leaf_cert.dump()
    unread = x509.Certificate.load(leaf)
    assert PATHS.key(unread, trust(), VerifyPolicy(), ()) is None
    assert PATHS.key(shared_certificate(leaf), trust(), VerifyPolicy(), ()) is not None
    hostile = shared_certificate(with_key_oid(pki().leaf_cert, OTHER_KEY_OIDS[1]))
    assert PATHS.key(hostile, trust(), VerifyPolicy(), ()) is None


def test_a_label_is_remembered_only_for_a_completely_read_certificate() -> None:
    """certificate_label of a shared certificate is taken once, when it is read completely; any
    other object's label is computed on each call (it may still read differently)."""
    pki = make_pki("sm2")
    der = pki.leaf_cert.dump()
    shared = shared_certificate(der)
    assert fully_read(shared) and certs_module._LABELS.get(shared) == certs_module._label(shared)
    assert certificate_label(shared) == certs_module._label(shared)
    loose = x509.Certificate.load(der)
    assert not fully_read(loose)
    assert certificate_label(loose) == certificate_label(shared)
    assert loose not in certs_module._LABELS
