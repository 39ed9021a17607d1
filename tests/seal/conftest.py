"""Fixtures for the seal tests: test PKIs (made at test time), tiny pictures, seals, vouchers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from seal_helpers import SealWorld

from ezhifu.document.envelope import VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import make_pki

OFDRW = Path(__file__).parents[1] / "conformance" / "ofdrw"


@pytest.fixture(scope="session")
def world() -> SealWorld:
    maker = make_pki("sm2", subject_prefix="ezhifu seal maker")
    holder = make_pki("sm2", subject_prefix="ezhifu seal holder")
    return SealWorld(
        maker,
        holder,
        TrustStore([maker.root_cert, holder.root_cert], seal_makers=[maker.root_cert]),
        datetime.now(UTC),
    )


@pytest.fixture
def body_factory() -> Callable[[str], VoucherBody]:
    def make(vt_code: str) -> VoucherBody:
        return VoucherBody.from_voucher(sample_voucher(vt_code))

    return make


@pytest.fixture(scope="session")
def ofdrw() -> Path:
    return OFDRW


@pytest.fixture
def detections(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The DER handed to the seal detector's real work (``detect._detect``), in call order:
    a remembered detection does not appear."""
    from ezhifu.seal import detect  # only the tests that count detections use it

    calls: list[bytes] = []
    original = detect._detect

    def counting(der: bytes, what: str) -> tuple[detect.SealKind, detect.SealVersion]:
        calls.append(der)
        return original(der, what)

    monkeypatch.setattr(detect, "_detect", counting)
    return calls
