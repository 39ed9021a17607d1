"""The fast DER reader (ezhifu.crypto.der.fast_tlv) against asn1crypto (issue 17 item 1).

``split_tlvs`` reads plain DER element headers itself and hands anything unusual to asn1crypto.
The two must never give different answers: over every DER, PEM and Base64 CMS and seal in the
suite (the ofdrw conformance files, ``samples/``, the CMS and seal values inside the XML files of
``tests/`` and ``samples/``, freshly made SM2 and RSA CMS and v1/v4 seals and seal signatures)
and over hypothesis mutations of them, each element the fast reader reads is the element
asn1crypto reads, every nested level included; where it declines, asn1crypto's answer (or error)
stands.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from asn1crypto import parser
from der_support import mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.crypto.der import Tlv, fast_tlv, pem_blocks, split_tlvs
from ezhifu.errors import MalformedDER, SealFormatError
from ezhifu.seal import detect
from ezhifu.seal.apply import build_ses_signature
from ezhifu.seal.make import make_seal
from ezhifu.sign.cms import sign_detached
from ezhifu.testing.pki import make_pki

ROOT = Path(__file__).resolve().parents[2]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
#: A Base64 run long enough to be a CMS or a seal (inside the XML files).
_B64 = re.compile(rb"[A-Za-z0-9+/=\s]{200,}")


def _reference(data: bytes) -> list[Tlv]:
    """asn1crypto alone, element by element (the reader before the fast path)."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        cls, method, tag, header, contents, trailer = parser.parse(data[pos:], strict=False)
        size = len(header) + len(contents) + len(trailer)
        out.append(Tlv(cls, method, tag, data[pos : pos + size], contents))
        pos += size
    return out


def _tree(data: bytes, depth: int = 0) -> Iterator[bytes]:
    """``data`` and every constructed element's contents below it, and OCTET / BIT STRING
    contents that are themselves DER (a seal inside TBS_Sign, a certificate in ``cert``)."""
    yield data
    if depth > 12:
        return
    try:
        items = _reference(data)
    except ValueError:
        return
    for item in items:
        if item.method == 1 or (item.cls == 0 and item.tag in (3, 4)):
            inner = item.contents[1:] if item.tag == 3 and item.method == 0 else item.contents
            if inner:
                yield from _tree(inner, depth + 1)


def _agree(data: bytes) -> None:
    """The production reader gives asn1crypto's elements, or both refuse the bytes."""
    try:
        expected: list[Tlv] | None = _reference(data)
    except ValueError:
        expected = None
    try:
        got: list[Tlv] | None = split_tlvs(data, what="differential", max_items=len(data) + 1)
    except MalformedDER:
        got = None
    assert got == expected
    pos = 0
    for item in expected or []:  # each element the fast reader takes is asn1crypto's element
        fast = fast_tlv(data, pos)
        if fast is not None:
            cls, method, tag, start, end = fast
            assert (cls, method, tag, data[pos:end], data[start:end]) == tuple(item)
        pos += len(item.element)


def _xml_values(path: Path) -> Iterator[bytes]:
    for match in _B64.finditer(path.read_bytes()):
        try:
            value = base64.b64decode(b"".join(match.group().split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        if value[:1] == b"\x30":  # a DER SEQUENCE (a CMS or a seal), not an inner voucher's XML
            yield value


@cache
def corpus() -> tuple[tuple[str, bytes], ...]:
    items: list[tuple[str, bytes]] = []
    for folder in (ROOT / "tests", ROOT / "samples"):
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix == ".py":
                continue
            suffix = path.suffix.lower()
            if suffix in {".der", ".esl", ".dat", ".p12", ".cer", ".crt", ".p7s", ".p7b"}:
                items.append((str(path.relative_to(ROOT)), path.read_bytes()))
            elif suffix == ".pem":
                blocks = pem_blocks(path.read_bytes(), str(path), allow_text=True)
                items.extend((f"{path.relative_to(ROOT)}#{i}", der) for i, (_, der) in enumerate(blocks))
            elif suffix == ".xml":
                items.extend((f"{path.relative_to(ROOT)}@{i}", v) for i, v in enumerate(_xml_values(path)))
    now = datetime.now(UTC)
    for kind in ("sm2", "rsa2048"):
        pki = make_pki(kind, depth=3)
        label = kind[:3]
        signer = pki.signer()
        items.append((f"{label} cms", sign_detached(b"voucher", signer)))
        items.append((f"{label} cms+attrs", sign_detached(b"voucher", signer, signed_attributes=True)))
        if kind != "sm2":
            continue
        for version in ("v1", "v4"):
            seal = make_seal(
                signer,
                seal_id="a" * 32,
                name="differential",
                valid_from=now - timedelta(days=1),
                valid_to=now + timedelta(days=30),
                holder_certs=[pki.leaf_cert],
                picture=PNG,
                picture_type="PNG",
                width_mm=40,
                height_mm=40,
                version=version,
            )
            items.append((f"seal {version}", seal))
            items.append((f"ses {version}", build_ses_signature(seal, signer, b"voucher", "cz_dwgz")))
    return tuple(items)


def test_the_corpus_covers_cms_and_seals() -> None:
    names = [name for name, _ in corpus()]
    assert any(n.endswith(".esl") for n in names) and any(n.endswith(".dat") for n in names)
    assert any("@" in n for n in names)  # values out of XML files
    assert {"sm2 cms", "rsa cms", "seal v4", "ses v4", "ses v1"} <= set(names)
    assert len(names) >= 20


@pytest.mark.parametrize("name", [name for name, _ in corpus()])
def test_fast_reader_agrees_with_asn1crypto_on_every_file(name: str) -> None:
    data = dict(corpus())[name]
    levels = 0
    for part in _tree(data):
        _agree(part)
        levels += 1
    assert levels > 3  # a real nested structure was walked


def test_seal_detection_uses_the_same_answers() -> None:
    for name, data in corpus():
        if name.startswith(("seal", "ses")) or name.endswith((".esl", ".dat", ".DER")):
            assert detect.split_tlvs(data, what=name) == _reference(data)
    with pytest.raises(SealFormatError, match="malformed DER at byte 0"):
        detect.split_tlvs(b"\x30\x05\x02\x01", what="truncated")


@pytest.mark.parametrize(
    "data",
    [
        b"\x04\x81\x05hello",  # long form for a short length (not minimal): declined
        b"\x04\x82\x00\x05hello",  # leading zero length octet: declined
        b"\x1f\x81\x00\x00",  # high tag number form: declined
        b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length (BER): declined
        b"\x04\x05hel",  # runs past the end: declined
    ],
)
def test_unusual_encodings_are_declined(data: bytes) -> None:
    assert fast_tlv(data, 0) is None
    _agree(data)


_SEEDS = st.sampled_from([data for _, data in corpus()])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    return mutate(draw, draw(_SEEDS), rounds=4, ops=["flip", "insert", "delete", "truncate", "length"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_reader_agrees_on_mutated_inputs(data: bytes) -> None:
    for part in _tree(data):
        _agree(part)
