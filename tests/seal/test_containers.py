"""One container per seal format (issue 12 item 4): detection, the shared interface, writers."""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seal_helpers import GIF_1X1, SealWorld

from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import InvalidInput, SealFormatError
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.seal.checks import load_certificate, verify_raw_signature
from ezhifu.seal.containers import (
    CONTAINERS,
    SealContent,
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


# --- the writers (template methods in containers/base.py) against the readers ---------------

SM2_SM3 = SignatureAlgorithm.SM2_SM3.signature_oid
_MOMENTS = st.datetimes(
    min_value=datetime(1950, 1, 1), max_value=datetime(2049, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))


def _content(
    world: SealWorld, start: datetime, end: datetime, name: str = "n", holders: int = 1
) -> SealContent:
    return SealContent(
        seal_id="S-1", name=name, seal_type=2, valid_from=start, valid_to=end, created=start,
        holders=(bytes(world.holder.leaf_cert.dump()),) * holders, picture_type="GIF", picture=GIF_1X1,
        width_mm=40, height_mm=30, vid="ezhifu", maker_cert=bytes(world.maker.leaf_cert.dump()),
        algorithm_oid=SM2_SM3,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    version=st.sampled_from(["v1", "v4"]),
    start=_MOMENTS,
    days=st.integers(min_value=1, max_value=3000),
    name=st.text(min_size=1, max_size=30),
    holders=st.integers(min_value=1, max_value=3),
    data_hash=st.binary(min_size=1, max_size=64),
    token=st.none() | st.binary(min_size=1, max_size=40),
)
def test_the_writers_sign_what_the_readers_say_is_signed(
    world: SealWorld,
    version: str,
    start: datetime,
    days: int,
    name: str,
    holders: int,
    data_hash: bytes,
    token: bytes | None,
) -> None:
    """Each writer hands its key exactly the bytes the same format's reader names as signed
    (``to_be_signed``), and what it states reads back unchanged, for the seal and the signature."""
    end = min(start + timedelta(days=days), datetime(2049, 12, 31, tzinfo=UTC))
    content = _content(world, start, end, name, holders)
    signed: list[bytes] = []

    def sign(data: bytes) -> bytes:
        signed.append(data)
        return hashlib.sha256(data).digest()

    writer = writer_for(version)
    seal = container_for(writer.version).parse_seal(writer.build_seal(content, sign))
    assert container_for(seal.version).to_be_signed(seal) == {"maker": signed[0]}
    assert seal.maker_signature == hashlib.sha256(signed[0]).digest()
    assert (seal.seal_id, seal.name, seal.seal_type, seal.vid, seal.holder_certs) == (
        "S-1", name, 2, "ezhifu", content.holders
    )  # fmt: skip
    assert (seal.valid_from, seal.valid_to, seal.created) == (start, end, start)
    picture = seal.picture
    assert (picture.type, picture.data, picture.width_mm, picture.height_mm) == ("GIF", GIF_1X1, 40, 30)
    assert seal.header_version == {"v1": 1, "v4": 4}[version]
    stamp = None if token is None else (lambda _value: token)
    signer = container_for(seal.version, SealKind.SIGNATURE)
    args = {"when": end, "data_hash": data_hash, "property_info": "p=1", "signer_cert": content.holders[0]}
    if version == "v1" and token is not None:  # GM/T 0031-2014 has no timeStamp field
        with pytest.raises(InvalidInput, match="time-stamp hook needs a v4 seal"):
            signer.build_signature(seal, **args, algorithm_oid=SM2_SM3, sign=sign, time_stamp=stamp)
        return
    sig = signer.parse_signature(
        signer.build_signature(seal, **args, algorithm_oid=SM2_SM3, sign=sign, time_stamp=stamp)
    )
    assert signer.to_be_signed(sig) == {"maker": signed[0], "signer": signed[1]}
    assert sig.signature == hashlib.sha256(signed[1]).digest() and sig.seal.raw == seal.raw
    assert (sig.signing_time, sig.data_hash, sig.property_info, sig.signer_cert) == (
        end, data_hash, "p=1", content.holders[0]
    )  # fmt: skip
    assert sig.time_stamp == token and sig.tbs_version == seal.header_version


@pytest.mark.parametrize(
    "moment", [datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2050, 1, 1, tzinfo=UTC)]
)
def test_a_v1_writer_refuses_what_utctime_cannot_hold(world: SealWorld, moment: datetime) -> None:
    seal = container_for(SealVersion.V1).parse_seal(world.seal("v1"))
    with pytest.raises(InvalidInput, match=r"signing time .* cannot be a UTCTime \(v1 seals: 1950\.\.2049\)"):
        V1Container(SealKind.SIGNATURE).build_signature(
            seal, when=moment, data_hash=b"h", property_info="p", signer_cert=b"c",
            algorithm_oid=SM2_SM3, sign=lambda tbs: b"s", time_stamp=None,
        )  # fmt: skip


def test_read_only_formats_do_not_write(world: SealWorld) -> None:
    seal = container_for(SealVersion.V4).parse_seal(world.seal("v4"))
    for container in (V5Container(SealKind.SEAL), VendorContainer(SealKind.SEAL)):
        assert not container.writable
        with pytest.raises(InvalidInput, match="ezhifu does not make"):
            container.build_seal(_content(world, world.now, world.now), lambda data: b"s")
        with pytest.raises(SealFormatError, match="ezhifu applies v1 and v4 seals, not"):
            container.build_signature(
                seal, when=world.now, data_hash=b"h", property_info="p", signer_cert=b"c",
                algorithm_oid=SM2_SM3, sign=lambda tbs: b"s", time_stamp=None,
            )  # fmt: skip
    # the vendor stamp names its own verification; the standards' formats leave it to seal.verify
    assert VendorContainer.stamp_verifier is not None and V4Container.stamp_verifier is None
