"""Mutation fuzzing of every parser that takes partner bytes (issue 9).

Each target gets a valid input mutated by hypothesis (bit flips, truncation, insertion,
splicing) and random bytes. The only acceptable outcomes are success or an ``EzhifuError``
subclass: any other exception is a bug (a bare traceback from a dependency). The long-running
coverage-guided versions of the same targets are in ``fuzz/`` (atheris).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import iter_errors
from ezhifu.errors import EzhifuError
from ezhifu.pki.keys import load_certificate, load_private_key
from ezhifu.seal.containers import parse_seal, parse_signature

CONFORMANCE = Path(__file__).parent.parent / "conformance" / "ofdrw"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            end = draw(st.integers(at, len(data)))
            data[at:at] = data[at:end][:64]
    return bytes(data)


def _only_ezhifu_errors(fn: Any, data: bytes) -> None:
    try:
        fn(data)
    except EzhifuError as exc:
        assert str(exc).strip()


ENVELOPE = Envelope.build([sample_voucher("5201", details=2)]).to_bytes()
SEAL = (CONFORMANCE / "UserV4.esl").read_bytes()
SEAL_V1 = (CONFORMANCE / "UserV1.esl").read_bytes()
SES_SIGNATURE = (CONFORMANCE / "SignedValueV4.dat").read_bytes()
CERT_PEM = (CONFORMANCE / "sign_cert.pem").read_bytes()


@FUZZ
@given(st.one_of(mutated(ENVELOPE), st.binary(max_size=512)))
def test_fuzz_envelope(data: bytes) -> None:
    _only_ezhifu_errors(Envelope.from_bytes, data)


@FUZZ
@given(mutated(ENVELOPE))
def test_fuzz_validation(data: bytes) -> None:
    # iter_errors reports, it must never raise anything but EzhifuError on bad bytes.
    _only_ezhifu_errors(lambda d: list(iter_errors(d)), data)


@FUZZ
@given(st.one_of(mutated(SEAL), mutated(SEAL_V1), st.binary(max_size=256)))
def test_fuzz_seal(data: bytes) -> None:
    _only_ezhifu_errors(parse_seal, data)


@FUZZ
@given(st.one_of(mutated(SES_SIGNATURE), st.binary(max_size=256)))
def test_fuzz_seal_signature(data: bytes) -> None:
    _only_ezhifu_errors(parse_signature, data)


@FUZZ
@given(st.one_of(mutated(CERT_PEM), st.binary(max_size=256)))
def test_fuzz_certificate(data: bytes) -> None:
    _only_ezhifu_errors(load_certificate, data)


@pytest.fixture(scope="module")
def cms_case() -> tuple[bytes, bytes, Any]:
    from ezhifu.pki.trust import TrustStore
    from ezhifu.sign.cms import sign_detached
    from ezhifu.testing.pki import make_pki

    pki = make_pki("sm2")
    data = base64.b64encode(b"voucher text")
    return sign_detached(data, pki.signer()), data, TrustStore(roots=[pki.root_cert])


def test_fuzz_cms(cms_case: tuple[bytes, bytes, Any]) -> None:
    from ezhifu.sign.cms_verify import verify_detached

    der, content, trust = cms_case

    @FUZZ
    @given(st.one_of(mutated(der), st.binary(max_size=256)))
    def run(data: bytes) -> None:
        # verify_detached reports failures in its result; it must not raise on bad bytes.
        result = verify_detached(data, content, trust=trust)
        if data != der:
            assert not (result.intact and result.trusted) or result.reason is None

    run()
    assert verify_detached(der, content, trust=trust).intact


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_private_key(data: bytes) -> None:
    _only_ezhifu_errors(load_private_key, data)
