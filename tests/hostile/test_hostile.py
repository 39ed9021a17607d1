"""The hostile corpus (issue 9): every case answered by an EzhifuError subclass with a message.

A case must not hang: a hang guard (SIGALRM, far above the measured times; see
``benchmarks/bench_hostile.py`` for per-case timings) turns a hang into a failure instead
of a stuck CI run. Speed itself is measured by the benchmark, not asserted here.
"""

from __future__ import annotations

import base64
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from corpus import HostileCase, build_corpus, sample_envelope_bytes

import ezhifu.errors as errors
from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement
from ezhifu.document.validation import validate
from ezhifu.pki.keys import load_certificate, load_private_key
from ezhifu.seal.containers import parse_seal

HANG_GUARD_S = 20

TARGETS: dict[str, Callable[[bytes], Any]] = {
    "envelope": Envelope.from_bytes,
    "validate": validate,
    "seal": parse_seal,
    "key": load_private_key,
    "certificate": load_certificate,
}


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    def _timeout(signum: int, frame: Any) -> None:
        raise TimeoutError(f"hostile case still running after {HANG_GUARD_S} s")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the case loudly."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("case", build_corpus(), ids=lambda c: c.name)
def test_hostile_case(case: HostileCase) -> None:
    data = case.make()
    with pytest.raises(errors.EzhifuError) as info:
        TARGETS[case.target](data)
    expected = getattr(errors, case.expect)
    assert isinstance(info.value, expected), f"{case.name}: got {type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert message.strip(), f"{case.name}: empty message"
    assert case.contains.lower() in message.lower(), f"{case.name}: {message!r} lacks {case.contains!r}"
    if case.code:
        assert isinstance(info.value, errors.SchemaValidationError)
        codes = {issue.code for issue in info.value.issues}
        assert case.code in codes, f"{case.name}: issue codes {codes} lack {case.code}"


def test_corpus_covers_every_listed_kind() -> None:
    names = {c.name for c in build_corpus()}
    for required in (
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "text-node-50MB",
        "nesting-100000",
        "invalid-gbk",
        "invalid-utf8",
        "duplicate-voucher-count",
        "second-voucher-element",
        "amount-minus-1",
        "amount-1e309",
        "amount-12.345",
        "amount-9999999999999999.99",
        "empty-required-field",
        "unknown-vtcode",
        "seal-truncated",
        "seal-oversized",
        "seal-length-bomb",
    ):
        assert required in names


# --- cases that need a signed envelope ------------------------------------------------


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, Any]:
    from ezhifu.pki.trust import TrustStore
    from ezhifu.sign.voucher import sign_envelope
    from ezhifu.testing.pki import make_pki

    pki = make_pki("sm2")
    env = Envelope.from_bytes(sample_envelope_bytes())
    sign_envelope(env, pki.signer(), "cz_dwfz")
    return env.to_bytes(), TrustStore(roots=[pki.root_cert])


def _verify(data: bytes, trust: Any) -> Any:
    from ezhifu.verify.envelope import verify_envelope

    return verify_envelope(Envelope.from_bytes(data), trust=trust)


def test_extra_unsigned_body_is_flagged(signed: tuple[bytes, Any]) -> None:
    data, trust = signed
    assert _verify(data, trust).valid
    env = Envelope.from_bytes(data)
    extra = Envelope.from_bytes(sample_envelope_bytes()).bodies[0]
    env.bodies.append(extra)
    result = _verify(env.to_bytes(), trust)
    assert not result.valid
    assert result.bodies[0].valid
    assert not result.bodies[1].valid
    assert "no signature" in " ".join(result.bodies[1].reasons)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda der: der[: len(der) // 2], id="truncated-cms"),
        pytest.param(lambda der: bytes.fromhex("3084ffffffff") + der, id="length-bomb-cms"),
        pytest.param(lambda der: der + b"\x00" * 16, id="trailing-bytes-cms"),
        pytest.param(lambda der: b"\x30\x80" * 20_000, id="nested-indefinite-cms"),
        pytest.param(
            lambda der: b"\x30\x84" + (6 << 20).to_bytes(4, "big") + b"\x04" * (6 << 20), id="oversized-cms"
        ),
    ],
)
def test_hostile_signature_values_fail_with_reason(
    signed: tuple[bytes, Any], payload: Callable[[bytes], bytes]
) -> None:
    data, trust = signed
    env = Envelope.from_bytes(data)
    sig = env.bodies[0].signatures[0]
    der = base64.b64decode(sig.value)
    env.bodies[0].signatures[0] = SignatureElement(sig.no, sig.sn, base64.b64encode(payload(der)).decode())
    result = _verify(env.to_bytes(), trust)
    item = result.bodies[0].items[0]
    assert not item.valid and not item.intact
    assert item.reason


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"", id="empty"),
        pytest.param(bytes.fromhex("3084ffffffff020100"), id="length-bomb"),
        pytest.param(b"\x30\x80" * 20_000, id="nested-indefinite"),
        pytest.param(b"not base64 at all", id="garbage"),
    ],
)
def test_hostile_stamp_values_fail_with_reason(signed: tuple[bytes, Any], payload: bytes) -> None:
    data, trust = signed
    env = Envelope.from_bytes(data)
    env.bodies[0].stamps.append(SignStampElement("cz_dwgz", "0" * 32, base64.b64encode(payload).decode()))
    result = _verify(env.to_bytes(), trust)
    stamp_items = [i for i in result.bodies[0].items if i.kind == "seal"]
    assert stamp_items and not stamp_items[0].valid
    assert stamp_items[0].reason


def test_oversized_seal_picture_refused() -> None:
    from ezhifu.seal.make import make_seal
    from ezhifu.testing.pki import make_pki

    pki = make_pki("sm2")
    big_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024)
    with pytest.raises(errors.EzhifuError) as info:
        make_seal(
            pki.signer(),
            seal_id="1" * 32,
            name="test",
            valid_from=pki.leaf_cert.not_valid_before,
            valid_to=pki.leaf_cert.not_valid_after,
            holder_certs=[pki.leaf_cert],
            picture=big_png,
            picture_type="PNG",
            width_mm=40,
            height_mm=40,
        )
    assert "picture" in str(info.value).lower() or "image" in str(info.value).lower()
