"""One container per seal format (issue 12 item 4): detection, the shared interface, writers."""

from __future__ import annotations

import ast
import base64
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seal_helpers import GIF_1X1, SealWorld

from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import InvalidInput, SealFormatError
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.seal.checks import load_certificate, verify_raw_signature
from ezhifu.seal.containers import (
    CONTAINERS,
    V1Container,
    V4Container,
    V5Container,
    VendorContainer,
    container_for,
    detect_container,
    writer_for,
)
from ezhifu.seal.detect import SealKind, SealVersion
from ezhifu.seal.model import Seal, SealSignature
from ezhifu.seal.vendor import apply_vendor_stamp, build_vendor_seal, stamp_signed_content
from ezhifu.testing.pki import make_pki

SRC = Path(__file__).resolve().parents[2] / "src" / "ezhifu"

FILES = {
    "UserV1.esl": (V1Container, SealKind.SEAL),
    "UserV4.esl": (V4Container, SealKind.SEAL),
    "UserV5.esl": (V5Container, SealKind.SEAL),
    "SESealData.DER": (V4Container, SealKind.SEAL),
    "SignedValueV4.dat": (V4Container, SealKind.SIGNATURE),
    "SignedValueV5.dat": (V5Container, SealKind.SIGNATURE),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_detect_container_and_the_bytes_each_signature_covers(ofdrw: Path, name: str) -> None:
    data = (ofdrw / name).read_bytes()
    container = detect_container(data)
    cls, kind = FILES[name]
    assert type(container) is cls and container.kind is kind
    parsed = container.parse(data)
    assert parsed.dump() == data
    seal = parsed.seal if isinstance(parsed, SealSignature) else parsed
    assert isinstance(seal, Seal)
    tbs = container.to_be_signed(parsed)
    maker, _ = load_certificate(seal.maker_cert, "maker")
    assert maker is not None
    # the maker's signature holds over exactly the bytes the container names (SESealData.DER is
    # the conformance set's seal whose maker signature does not hold: ezhifu seal show exits 1)
    outcome = verify_raw_signature(maker, seal.algorithm_oid, tbs["maker"], seal.maker_signature, what="m")
    assert (outcome is None) is (name != "SESealData.DER")
    if isinstance(parsed, SealSignature):
        signer, _ = load_certificate(parsed.signer_cert, "signer")
        assert signer is not None
        assert (
            verify_raw_signature(signer, parsed.algorithm_oid, tbs["signer"], parsed.signature, what="s")
            is None
        )
    facts = container.facts(data)
    assert facts.seal_id == seal.seal_id and facts.standard == container.standard
    assert facts.picture_data == seal.picture.data and facts.maker is not None
    described = container.describe(data)
    assert described["kind"] == kind.value
    assert (described["seal"] if kind is SealKind.SIGNATURE else described)["seal_id"] == seal.seal_id


def test_every_version_has_one_container() -> None:
    assert set(CONTAINERS) == set(SealVersion)
    assert {c.version for c in CONTAINERS.values()} == set(SealVersion)
    assert [v for v, c in CONTAINERS.items() if c.writable] == [SealVersion.V1, SealVersion.V4]


def test_writers_are_the_writable_containers(world: SealWorld) -> None:
    assert type(writer_for("v1")) is V1Container and type(writer_for("v4")) is V4Container
    for bad in ("v5", "vendor", "V4", ""):
        with pytest.raises(InvalidInput, match="'v1' or 'v4'"):
            writer_for(bad)
    seal = container_for(SealVersion.V4).parse_seal(world.seal("v4"))
    with pytest.raises(SealFormatError, match="ezhifu applies v1 and v4 seals, not GM/T 0031-2025"):
        V5Container(SealKind.SIGNATURE).require_writable()
    assert seal.version is SealVersion.V4


def test_the_vendor_container(body_factory: Callable[[str], VoucherBody]) -> None:
    pki = make_pki("rsa2048")
    signer = SoftwareSigner(pki.leaf_key, pki.leaf_cert)
    seal_der = build_vendor_seal(signer, seal_id="VS1", name="测试章", image=GIF_1X1)
    body = body_factory("5214")
    stamp = apply_vendor_stamp(body, seal_der, signer, "cz_dwgz")
    der = base64.b64decode(stamp.value)
    container = detect_container(der)
    assert isinstance(container, VendorContainer) and container.kind is SealKind.SIGNATURE
    info = container.parse(der)
    data = body.voucher_b64.encode("ascii")
    assert container.to_be_signed(info, data) == {"signer": stamp_signed_content(data, info)}
    assert container.to_be_signed(info) == {}  # without the voucher text; the maker's part is unknown
    assert container.seal_refusal() is not None
    facts = container.facts(der)
    assert facts.picture is not None and facts.picture.type == "GIF" and facts.seal_id == "VS1"
    assert container.describe(der)["kind"] == "vendor-stamp"
    with pytest.raises(SealFormatError, match="vendor-format stamp"):
        container.parse_signature(der)
    with pytest.raises(SealFormatError, match="not a seal"):
        container.parse_seal(der)
    assert detect_container(seal_der).describe(seal_der)["kind"] == "vendor-seal"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_detection_refuses_garbage_with_its_own_error(data: bytes) -> None:
    try:
        container = detect_container(data)
    except SealFormatError:
        return
    with contextlib.suppress(SealFormatError):
        container.parse(data)


def _version_tests(tree: ast.AST) -> list[int]:
    """Lines comparing a seal version (``version ==``, ``is SealVersion.X``, ``in (SealVersion...)``)."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        text = ast.unparse(node)
        if "SealVersion." in text or ".version ==" in text or text.startswith("version =="):
            out.append(node.lineno)
    return out


def test_no_version_dispatch_outside_detection() -> None:
    """Seal formats are told apart in seal/detect.py and seal/containers/ only (issue 12 item 4)."""
    allowed = {SRC / "seal" / "detect.py", SRC / "seal" / "model.py"}  # model: the cache's own check
    found = {}
    for path in SRC.rglob("*.py"):
        if path in allowed or (SRC / "seal" / "containers") in path.parents:
            continue
        lines = _version_tests(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[str(path.relative_to(SRC))] = lines
    assert found == {}


def test_the_dispatch_check_sees_a_version_test() -> None:
    code = "if seal.version is SealVersion.V1:\n    pass\nif x == 1:\n    pass\nok = version == 'v1'\n"
    assert _version_tests(ast.parse(code)) == [1, 5]
