"""A new seal signature is detected once (issue 17): applying the seal does not read the signature
back (the direct writer's output is shown to read back by tests/seal/test_seal_writer.py), the
verification detects it, and that detection is remembered by its exact bytes.

The answer depends on the bytes alone; a byte-different signature is detected again, refusals
are never remembered, and remembered signatures never push out a remembered seal. A signature
embedding a seal detected before as v4 is detected without reading that seal's parts again.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from seal_helpers import SealWorld

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import SealFormatError
from ezhifu.pki.trust import TrustStore
from ezhifu.seal import detect
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.detect import SealKind, SealVersion
from ezhifu.testing.pki import make_pki
from ezhifu.verify.envelope import verify_body


def _world() -> SealWorld:
    maker = make_pki("sm2")
    return SealWorld(maker, maker, TrustStore(roots=[maker.root_cert], seal_makers=[maker.root_cert]),
                     datetime.now(UTC).replace(microsecond=0))  # fmt: skip


def test_a_new_signature_is_detected_once_from_apply_to_verify(detections: list[bytes]) -> None:
    world = _world()
    seal = world.seal("v4")
    body = Envelope.build([sample_voucher("5201")]).bodies[0]
    calls = detections
    detect.DETECTED_SEALS.clear()
    detect.DETECTED_SIGNATURES.clear()
    stamp = apply_seal(body, seal, world.holder.signer(), "cz_dwgz")
    result = verify_body(body, trust=world.trust)
    assert result.valid, result.reason
    detected = [c for c in calls if c != seal]
    assert len(detected) == 1  # the verification's: applying did not read the signature back
    assert detect.detect(detected[0]) == (SealKind.SIGNATURE, SealVersion.V4)
    assert list(detect.DETECTED_SEALS._items) == [seal]  # seals kept apart from signatures
    assert stamp.value  # the stamp written is the one verified


def test_a_changed_signature_is_detected_again_and_refusals_are_not_kept() -> None:
    world = _world()
    seal = world.seal("v4")
    body = Envelope.build([sample_voucher("5201")]).bodies[0]
    apply_seal(body, seal, world.holder.signer(), "cz_dwgz")
    der = base64.b64decode(body.stamps[0].value)
    assert detect.detect(der) == (SealKind.SIGNATURE, SealVersion.V4)  # as a verification does
    assert der in detect.DETECTED_SIGNATURES._items
    truncated = der[:-1]
    for _ in range(2):
        with pytest.raises(SealFormatError):
            detect.detect(truncated)
    assert truncated not in detect.DETECTED_SIGNATURES._items
    # a seal is never answered from the signatures' memory, nor a signature from the seals'
    assert detect.detect(seal) == (SealKind.SEAL, SealVersion.V4)
    assert detect.detect(der) == (SealKind.SIGNATURE, SealVersion.V4)


def test_remembered_signatures_are_bounded() -> None:
    detect.DETECTED_SIGNATURES.clear()
    world = _world()
    seal = world.seal("v4")
    signer = world.holder.signer()
    for _ in range(20):
        stamp = apply_seal(Envelope.build([sample_voucher("5201")]).bodies[0], seal, signer, "cz_dwgz")
        detect.detect(base64.b64decode(stamp.value))  # as a verification does
    assert len(detect.DETECTED_SIGNATURES._items) == 16
