"""ezhifu against seals and a seal signature made by ofdrw (an independent Java implementation).

Fixtures: tests/conformance/ofdrw (ofdrw/ofdrw @ 7459e350, Apache-2.0); their README says what a
conforming reader does with each. SHA-256 values are those recorded in the reference note
seal_sm2.md §6.5, so a swapped fixture is noticed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ezhifu.seal.checks import load_certificate, verify_raw_signature
from ezhifu.seal.containers import parse_seal, parse_signature
from ezhifu.seal.detect import SealKind, SealVersion, detect
from ezhifu.seal.verify import verify_seal, verify_ses_signature

SHA256 = {
    "UserV1.esl": "305df82d82b0111a55702aaca7ccea05b412e4cd80b78cc7086aa675ef46f8f3",
    "UserV4.esl": "b73dd33ec01c66a99ce9b99f898027363553ebccfe0bd1cb85bec36e6c3e05fd",
    "SignedValueV4.dat": "cab69f8e4b270116b6344737db465e85e51a4475287b1890a0882a26338b2f46",
    "SESealData.DER": "e52b164451ebddd48e01ed466546e5b248572588d2dd8c255a987efa7393b9be",
}

EXPECTED = {
    "UserV1.esl": (SealKind.SEAL, SealVersion.V1),
    "UserV4.esl": (SealKind.SEAL, SealVersion.V4),
    "UserV5.esl": (SealKind.SEAL, SealVersion.V5),
    "SESealData.DER": (SealKind.SEAL, SealVersion.V4),
    "SignedValueV4.dat": (SealKind.SIGNATURE, SealVersion.V4),
    "SignedValueV5.dat": (SealKind.SIGNATURE, SealVersion.V5),
}


def _read(ofdrw: Path, name: str) -> bytes:
    return (ofdrw / name).read_bytes()


@pytest.mark.parametrize("name", sorted(SHA256))
def test_fixture_is_the_recorded_one(ofdrw: Path, name: str) -> None:
    assert hashlib.sha256(_read(ofdrw, name)).hexdigest() == SHA256[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detect_and_parse_dump_identical(ofdrw: Path, name: str) -> None:
    data = _read(ofdrw, name)
    kind, version = detect(data)
    assert (kind, version) == EXPECTED[name]
    parsed = parse_seal(data) if kind is SealKind.SEAL else parse_signature(data)
    assert parsed.dump() == data
    assert parsed.version is version


def test_user_v1_fields_and_maker_signature(ofdrw: Path) -> None:
    seal = parse_seal(_read(ofdrw, "UserV1.esl"))
    assert (seal.header_id, seal.header_version, seal.vid) == ("ES", 1, "OFDR&WTest")
    assert seal.seal_id == "40C8CDD24DEF43388B86E62CCE1D6832"
    assert seal.name == "OFDRW测试用印章"
    assert seal.seal_type == 1
    assert len(seal.holder_certs) == 1
    assert seal.created == datetime(2020, 4, 22, 2, 18, 7, tzinfo=UTC)
    assert (seal.picture.type, seal.picture.width_mm, seal.picture.height_mm) == ("PNG", 40, 40)
    assert seal.picture.data.startswith(b"\x89PNG")
    assert seal.algorithm_oid == "1.2.156.10197.1.501"
    result = verify_seal(_read(ofdrw, "UserV1.esl"), at=datetime(2021, 1, 1, tzinfo=UTC))
    assert result.maker_signature_ok
    assert result.in_validity
    # No trust store: never reported valid.
    assert not result.valid
    assert result.reason is not None and "no trust store" in result.reason


def test_user_v1_signature_is_over_the_synthesised_sequence_only(ofdrw: Path) -> None:
    """Negative control (seal_sm2.md §3.1): over SES_SealInfo alone the v1 maker signature fails."""
    seal = parse_seal(_read(ofdrw, "UserV1.esl"))
    cert, _ = load_certificate(seal.maker_cert, "maker")
    assert cert is not None
    assert (
        verify_raw_signature(cert, seal.algorithm_oid, seal.signed_bytes, seal.maker_signature, what="m")
        is None
    )
    assert seal.signed_bytes != seal.seal_info_bytes
    failure = verify_raw_signature(
        cert, seal.algorithm_oid, seal.seal_info_bytes, seal.maker_signature, what="m"
    )
    assert failure is not None and "does not verify" in failure


def test_user_v4_maker_signature(ofdrw: Path) -> None:
    data = _read(ofdrw, "UserV4.esl")
    seal = parse_seal(data)
    assert seal.cert_list_type == 1
    assert seal.signed_bytes == seal.seal_info_bytes
    assert seal.valid_to == datetime(2022, 4, 22, 2, 9, tzinfo=UTC)
    inside = verify_seal(data, at=datetime(2021, 1, 1, tzinfo=UTC))
    assert inside.maker_signature_ok and inside.in_validity
    expired = verify_seal(data, at=datetime(2025, 1, 1, tzinfo=UTC))
    assert expired.maker_signature_ok
    assert expired.in_validity is False
    assert expired.reason is not None and "expired" in expired.reason


def test_user_v5_parses_and_its_maker_signature_holds(ofdrw: Path) -> None:
    data = _read(ofdrw, "UserV5.esl")
    seal = parse_seal(data)
    assert seal.header_version == 5 and seal.vid == "OFDR&WTestV5"
    assert verify_seal(data).maker_signature_ok


def test_signed_value_v4_signature_and_embedded_seal(ofdrw: Path) -> None:
    data = _read(ofdrw, "SignedValueV4.dat")
    sig = parse_signature(data)
    assert sig.tbs_version == 4
    assert sig.signing_time == datetime(2020, 10, 12, 11, 14, 3, tzinfo=UTC)
    assert sig.property_info == "/Doc_0/Signs/Sign_0/Signature.xml"
    assert sig.time_stamp is None
    # seal_sm2.md §6.5: TBS_Sign is bytes 4..17109 of the file.
    assert sig.tbs_bytes == data[4:17109]
    # The embedded seal is UserV4.esl, byte for byte.
    assert sig.seal.dump() == _read(ofdrw, "UserV4.esl")
    assert sig.seal.seal_id == "51f044b76510434e9bc67a1185c2fba5"
    # The fixture's dataHash is test data: 32 zero bytes (README).
    assert sig.data_hash == bytes(32)
    # The seal expired in 2022: checked at the verification time it is expired (issue 13 item 2:
    # timeInfo is a claim); at the claimed time, asserted by the caller, it was valid.
    assert dict(verify_ses_signature(data, None).checks)["seal-validity"].startswith("failed: seal ")
    result = verify_ses_signature(data, None, at=sig.signing_time)
    assert result.signature_ok
    assert result.seal is not None and result.seal.maker_signature_ok
    steps = dict(result.checks)
    assert steps["holder"].startswith("signer certificate is in")
    assert steps["seal-validity"] == "seal valid at 2020-10-12T11:14:03+00:00 (asserted by the caller)"
    assert steps["data-hash"] == "not checked: no data given"
    # Any real data hashes to something else: the data check fails with its own reason, the rest holds.
    with_data = verify_ses_signature(data, b"<Signature.xml/>", at=sig.signing_time)
    assert with_data.data_ok is False
    assert with_data.signature_ok
    assert with_data.reason is not None and "data changed" in with_data.reason


def test_signed_value_v4_tampered_tbs_fails(ofdrw: Path) -> None:
    data = bytearray(_read(ofdrw, "SignedValueV4.dat"))
    offset = data.index(b"/Doc_0/Signs")
    data[offset + 1] ^= 0x01  # "/Doc_0" -> "/Eoc_0", inside TBS_Sign.propertyInfo
    result = verify_ses_signature(bytes(data), None)
    assert not result.signature_ok
    assert result.reason is not None and "signer's signature over TBS_Sign does not verify" in result.reason


def test_signed_value_v5_parses_and_verifies(ofdrw: Path) -> None:
    result = verify_ses_signature(_read(ofdrw, "SignedValueV5.dat"), None)
    assert result.signature is not None and result.signature.version is SealVersion.V5
    assert result.signature_ok


def test_vendor_real_seal_is_not_verifiable(ofdrw: Path) -> None:
    data = _read(ofdrw, "SESealData.DER")
    seal = parse_seal(data)
    assert seal.vid == "Vid HebeiGede"
    assert seal.name == "测试单位名称 合同专用章"
    assert len(seal.holder_certs) == 2
    assert (seal.picture.type, seal.picture.width_mm) == ("GIF", 42)
    assert [e.oid for e in seal.extensions] == [
        "1.2.156.112600.7.1",
        "1.2.156.112600.7.2",
        "1.2.156.112600.7.3",
    ]
    assert [e.critical for e in seal.extensions] == [False, True, False]
    # critical FALSE is encoded explicitly (not DER); the raw slice keeps it.
    assert b"\x01\x01\x00" in seal.seal_info_bytes
    result = verify_seal(data, at=datetime(2021, 1, 1, tzinfo=UTC))
    assert not result.valid
    assert not result.maker_signature_ok
    assert result.reason is not None and "does not verify" in result.reason
