"""Issue 13 item 1: trust anchors by purpose (signers, seal makers 制章者, TSAs)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import pem, x509

from ezhifu.errors import ConfigurationError
from ezhifu.pki.trust import NO_SEAL_MAKER_ANCHORS, PURPOSES, TrustStore
from ezhifu.seal.make import make_seal
from ezhifu.seal.verify import verify_seal
from ezhifu.testing.pki import TestPKI, make_pki


@pytest.fixture(scope="module")
def maker() -> TestPKI:
    return make_pki("sm2", subject_prefix="purpose seal maker")


def _seal(maker: TestPKI) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    return make_seal(
        maker.signer(),
        seal_id="0123456789abcdef0123456789abcdef",
        name="用途测试章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[maker.leaf_cert],
        picture=b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
        width_mm=40,
        height_mm=40,
        version="v4",
    )


def _pem(tmp_path: Path, name: str, *certs: x509.Certificate) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(pem.armor("CERTIFICATE", c.dump()) for c in certs))
    return path


def _ders(certs: tuple[x509.Certificate, ...]) -> list[bytes]:
    return [c.dump() for c in certs]


def test_files_load_by_purpose(tmp_path: Path, maker: TestPKI) -> None:
    root = _pem(tmp_path, "root.pem", maker.root_cert)
    leaf = _pem(tmp_path, "leaf.pem", maker.leaf_cert)
    store = TrustStore.from_purpose_files([root], [root, leaf], [root])
    root_der, leaf_der = maker.root_cert.dump(), maker.leaf_cert.dump()
    assert _ders(store.roots) == [root_der] and store.pinned == ()
    assert _ders(store.seal_makers) == [root_der, leaf_der]
    assert _ders(store.tsas) == [root_der]
    makers = store.for_purpose("seal-maker")
    # A CA anchors chains; an end-entity entry is pinned: it can sign, it cannot issue.
    assert _ders(makers.roots) == [root_der] and _ders(makers.pinned) == [leaf_der]
    assert _ders(store.for_purpose("signer").roots) == [root_der]
    assert store.for_purpose("signer").seal_makers == ()
    assert all(store.has_anchors(p) for p in PURPOSES)
    assert not TrustStore(roots=[maker.root_cert]).has_anchors("seal-maker")


def test_unknown_purpose_is_refused(maker: TestPKI) -> None:
    with pytest.raises(ConfigurationError, match="unknown trust purpose 'signers'"):
        TrustStore().for_purpose("signers")
    with pytest.raises(ConfigurationError, match="seal_makers: expected asn1crypto"):
        TrustStore(seal_makers=["not a certificate"])  # type: ignore[list-item]


def test_seal_maker_needs_a_seal_maker_anchor(maker: TestPKI) -> None:
    der = _seal(maker)
    as_signer = verify_seal(der, trust=TrustStore(roots=[maker.root_cert]))
    assert not as_signer.valid and as_signer.maker_trusted is False
    assert as_signer.reason == NO_SEAL_MAKER_ANCHORS
    assert verify_seal(der, trust=TrustStore(seal_makers=[maker.root_cert])).valid
    # A pinned maker certificate (end entity) vouches for itself only.
    assert verify_seal(der, trust=TrustStore(seal_makers=[maker.leaf_cert])).valid
    other = make_pki("sm2", subject_prefix="other seal maker")
    wrong = verify_seal(der, trust=TrustStore(seal_makers=[other.root_cert]))
    assert not wrong.valid and (wrong.reason or "").startswith("seal maker certificate not trusted")


def test_each_purpose_view_is_made_once_and_survives_pickling(maker: TestPKI) -> None:
    """A store is read-only, so its view per purpose is made once (chain validation asks for one
    per signature); the view cache is not part of equality, and a pickled store (process pools,
    Dask workers) gives the same views."""
    store = TrustStore(roots=[maker.root_cert], seal_makers=[maker.root_cert, maker.leaf_cert])
    for purpose in PURPOSES:
        assert store.for_purpose(purpose) is store.for_purpose(purpose)
    copy = pickle.loads(pickle.dumps(store))
    for purpose in PURPOSES:
        view, again = store.for_purpose(purpose), copy.for_purpose(purpose)
        assert (_ders(view.roots), _ders(view.pinned)) == (_ders(again.roots), _ders(again.pinned))
    fresh = pickle.loads(pickle.dumps(TrustStore(roots=[maker.root_cert])))
    assert _ders(fresh.for_purpose("signer").roots) == [maker.root_cert.dump()]
    assert TrustStore() == TrustStore()
