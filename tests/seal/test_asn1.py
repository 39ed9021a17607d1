"""ASN.1 details: [0] tagging tolerance, the certListType CHOICE, version detection, pictures, and
hypothesis round trips make -> parse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seal_helpers import GIF_1X1, SealWorld, png_bytes

from ezhifu.crypto.sm3 import hash_data
from ezhifu.errors import SealFormatError
from ezhifu.seal.apply import holder_matches
from ezhifu.seal.asn1 import v1 as asn1_v1
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.containers import parse_seal
from ezhifu.seal.detect import SealKind, SealVersion, detect
from ezhifu.seal.model import decode_v1_time_info
from ezhifu.seal.picture import PictureError, export_picture, sniff_picture, validate_picture
from ezhifu.seal.verify import verify_seal

TOKEN = core.Sequence(contents=core.Integer(7).dump()).dump()


@pytest.mark.parametrize(
    "tlv",
    [
        core.OctetBitString(TOKEN).dump(),  # untagged
        core.OctetBitString(TOKEN, explicit=0).dump(),  # [0] EXPLICIT (what ezhifu writes, ofdrw)
        core.OctetBitString(TOKEN, implicit=0).dump(),  # [0] IMPLICIT
    ],
    ids=["untagged", "explicit", "implicit"],
)
def test_time_stamp_tagging_variants(tlv: bytes) -> None:
    assert asn1_v4.decode_time_stamp(tlv) == TOKEN


def _ext() -> asn1_v4.ExtensionDatas:
    return asn1_v4.ExtensionDatas([{"extnID": "1.2.156.112600.7.3", "critical": True, "extnValue": b"v"}])


@pytest.mark.parametrize(
    "tlv",
    [
        _ext().dump(),
        asn1_v4.ExtensionDatas(_ext().native, explicit=0).dump(),
        asn1_v4.ExtensionDatas(_ext().native, implicit=0).dump(),
        core.OctetString(_ext().dump()).dump(),
        asn1_v4.ExtensionDatas(_ext().native, explicit=3).dump(),
    ],
    ids=["untagged", "explicit", "implicit", "octet-string", "explicit-3"],
)
def test_ext_datas_tagging_variants(tlv: bytes) -> None:
    parsed = asn1_v4.decode_ext_datas(tlv)
    assert parsed is not None
    assert parsed.native == _ext().native


def test_explicit_zero_matches_asn1crypto_explicit() -> None:
    assert (
        asn1_v4.explicit_zero(core.OctetBitString(TOKEN)).dump()
        == core.OctetBitString(TOKEN, explicit=0).dump()
    )


def test_bad_tagging_is_a_format_error() -> None:
    with pytest.raises(SealFormatError, match="timeStamp"):
        asn1_v4.decode_time_stamp(core.Integer(1).dump())
    with pytest.raises(SealFormatError, match="extDatas"):
        asn1_v4.decode_ext_datas(core.Sequence(contents=core.Integer(1).dump()).dump())


def _reseal_with_digests(world: SealWorld, digests: list[tuple[str, bytes]]) -> bytes:
    """A v4 seal whose certList is certDigestList (certListType 2), signed by the maker."""
    seal = parse_seal(world.seal("v4"))
    info = asn1_v4.SES_SealInfo.load(seal.seal_info_bytes)
    prop = info["property"]
    new_prop = asn1_v4.SES_ESPropertyInfo(
        {
            "type": prop["type"].native,
            "name": prop["name"].native,
            "certListType": 2,
            "certList": asn1_v4.CertDigestList([{"type": t, "value": v} for t, v in digests]),
            "createDate": prop["createDate"].native,
            "validStart": prop["validStart"].native,
            "validEnd": prop["validEnd"].native,
        }
    )
    new_info = asn1_v4.SES_SealInfo(
        {"header": info["header"], "esID": info["esID"], "property": new_prop, "picture": info["picture"]}
    )
    signer = world.maker.signer()
    signature = signer.sign(new_info.dump())
    return bytes(
        asn1_v4.SESeal(
            {
                "eSealInfo": new_info,
                "cert": seal.maker_cert,
                "signAlgID": seal.algorithm_oid,
                "signedValue": signature,
            }
        ).dump()
    )


def test_cert_list_type_2_dispatches_to_digests(world: SealWorld) -> None:
    holder_der = world.holder.leaf_cert.dump()
    der = _reseal_with_digests(world, [("SM3", hash_data("sm3", holder_der))])
    seal = parse_seal(der)
    assert seal.cert_list_type == 2
    assert seal.holder_certs == ()
    assert seal.holder_cert_digests == (("SM3", hash_data("sm3", holder_der)),)
    assert holder_matches(seal, holder_der)
    assert not holder_matches(seal, world.maker.leaf_cert.dump())
    assert verify_seal(der, trust=world.trust).valid


def test_cert_list_type_out_of_range_is_refused(world: SealWorld) -> None:
    der = _reseal_with_digests(world, [("SM3", b"\x00" * 32)])
    name = core.UTF8String(parse_seal(der).name).dump()
    assert der.count(name + b"\x02\x01\x02") == 1
    der = der.replace(name + b"\x02\x01\x02", name + b"\x02\x01\x03")  # certListType 2 -> 3
    with pytest.raises(SealFormatError, match="certListType is 3"):
        parse_seal(der)


def test_detect_refuses_what_is_not_a_seal() -> None:
    for data, message in [
        (b"", "empty"),
        (b"\x04\x01\x00", "SEQUENCE"),
        (core.Sequence(contents=core.Integer(1).dump()).dump() + b"\x05\x00", "trailing"),
        (core.Sequence(contents=core.UTF8String("x").dump()).dump(), "neither"),
        (b"\x30\x05\x02\x01", "malformed"),
    ]:
        with pytest.raises(SealFormatError, match=message):
            detect(data)


def test_detect_v1_signature_and_v1_header_version_11(world: SealWorld) -> None:
    der = world.seal("v1")
    assert detect(der) == (SealKind.SEAL, SealVersion.V1)
    # GM/T 0031-2014 leaves the header version free (its example is 11): still v1 by element count.
    seal = asn1_v1.SESeal.load(der)
    assert seal["esealInfo"]["header"]["version"].native == 1


def test_v1_time_info_from_a_time_stamp_token() -> None:
    """GM/T 0031-2014 clause 6.2.1: timeInfo may hold a time-stamp token; its genTime is used."""
    from asn1crypto import cms, tsp

    gen = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    tst = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": "1.2.3",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": bytes(32)},
            "serial_number": 1,
            "gen_time": gen,
        }
    )
    token = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": {
                "version": "v3",
                "digest_algorithms": [],
                # Dotted: asn1crypto maps the name "tst_info" only if tsp was imported before
                # cms.ContentType was first used (its reverse map is built once).
                "encap_content_info": {"content_type": "1.2.840.113549.1.9.16.1.4", "content": tst},
                "signer_infos": [],
            },
        }
    )
    assert decode_v1_time_info(token.dump()) == gen


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"260105083000Z", datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),
        (b"20260105083000Z", datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),
        (b"2026-01-05 08:30:00", datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),  # ofdrw's v1 convention
        (b"not a time", None),
        (b"2026-13-05 08:30:00", None),
        (b"\x30\x00", None),
        # UTCTime text of 2000-2009 starts with "0", the byte of a DER SEQUENCE: text, not a token
        (b"050105083000Z", datetime(2005, 1, 5, 8, 30, tzinfo=UTC)),
        (b"000102000000Z", datetime(2000, 1, 2, tzinfo=UTC)),
        # UTCTime YY 50-99 are 1950-1999 (RFC 5280 4.1.2.5.1), 00-49 are 2000-2049
        (b"680102000000Z", datetime(1968, 1, 2, tzinfo=UTC)),
        (b"500101000000Z", datetime(1950, 1, 1, tzinfo=UTC)),
        (b"491231235959Z", datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (b"520229000000Z", datetime(1952, 2, 29, tzinfo=UTC)),
    ],
)
def test_v1_time_info_variants(raw: bytes, expected: datetime | None) -> None:
    assert decode_v1_time_info(raw) == expected


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png_bytes(), "PNG"),
        (GIF_1X1, "GIF"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "JPG"),
        (b"BM" + b"\x00" * 40, "BMP"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b"<svg/>", "SVG"),
        (b"PK\x03\x04" + b"\x00" * 26, "OFD"),
        (b"hello", None),
    ],
)
def test_picture_sniffing(data: bytes, kind: str | None) -> None:
    assert sniff_picture(data) == kind


def test_picture_validation_limits() -> None:
    with pytest.raises(PictureError, match="empty"):
        validate_picture(b"")
    with pytest.raises(PictureError, match="limit"):
        validate_picture(b"GIF89a" + b"\x00" * (3 * 1024 * 1024))
    with pytest.raises(PictureError, match="not one of"):
        validate_picture(GIF_1X1, "TIFF")
    assert validate_picture(b"\xff\xd8\xff\xe0", "jpeg") == "JPG"


def test_export_picture(world: SealWorld) -> None:
    image = export_picture(parse_seal(world.seal("v4", picture=GIF_1X1)))
    assert (image.type, image.mime, image.extension, image.data) == ("GIF", "image/gif", "gif", GIF_1X1)
    assert (image.width_mm, image.height_mm) == (42, 42)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    version=st.sampled_from(["v1", "v4"]),
    seal_id=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
    seal_type=st.integers(min_value=0, max_value=2**31),
    width=st.integers(min_value=1, max_value=1000),
    height=st.integers(min_value=1, max_value=1000),
    days=st.integers(min_value=1, max_value=3650),
    pixels=st.integers(min_value=1, max_value=8),
)
def test_make_parse_round_trip(
    world: SealWorld,
    version: str,
    seal_id: str,
    name: str,
    seal_type: int,
    width: int,
    height: int,
    days: int,
    pixels: int,
) -> None:
    start = world.now.replace(microsecond=0) - timedelta(minutes=30)
    picture = png_bytes(pixels, pixels)
    der = world.seal(
        version,
        seal_id=seal_id,
        name=name,
        seal_type=seal_type,
        width_mm=width,
        height_mm=height,
        valid_from=start,
        valid_to=start + timedelta(days=days),
        created=start,
        picture=picture,
    )
    seal = parse_seal(der)
    assert seal.dump() == der
    assert (seal.seal_id, seal.name, seal.seal_type) == (seal_id, name, seal_type)
    assert (seal.picture.width_mm, seal.picture.height_mm, seal.picture.data) == (width, height, picture)
    assert (seal.valid_from, seal.valid_to, seal.created) == (start, start + timedelta(days=days), start)
    assert seal.holder_certs == (world.holder.leaf_cert.dump(),)
    assert verify_seal(der, trust=world.trust, at=world.now).valid


def test_header_id_other_than_es_fails_verification(world: SealWorld) -> None:
    """SES_Header.ID is fixed "ES"; a re-signed seal with another ID parses but does not verify."""
    seal = parse_seal(world.seal("v4"))
    info = asn1_v4.SES_SealInfo.load(seal.seal_info_bytes)
    forged_info = asn1_v4.SES_SealInfo(
        {
            "header": {"ID": "XX", "version": 4, "Vid": "ezhifu"},
            "esID": info["esID"],
            "property": info["property"],
            "picture": info["picture"],
        }
    )
    der = asn1_v4.SESeal(
        {
            "eSealInfo": forged_info,
            "cert": seal.maker_cert,
            "signAlgID": seal.algorithm_oid,
            "signedValue": world.maker.signer().sign(forged_info.dump()),
        }
    ).dump()
    assert parse_seal(der).header_id == "XX"
    result = verify_seal(der, trust=world.trust)
    assert result.maker_signature_ok and not result.valid
    assert result.reason == "SES_Header.ID is 'XX', not 'ES'"
