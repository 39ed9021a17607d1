"""Archive packages: create -> check round trip, tampering with each kind of file, refusals,
the booking registry and the DA/T 95 B.1 metadata against the project's XSD (issue 19 item 3)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from ezhifu.archive.check import check_package
from ezhifu.archive.dat95 import B1_DETAIL, B1_HEADER
from ezhifu.archive.gbt7408 import parse_datetime
from ezhifu.archive.manifest import MANIFEST_NAME, SIGNATURE_NAME, canonical_json, file_entry, sign_manifest
from ezhifu.archive.metadata_xml import metadata_issues, read_metadata
from ezhifu.archive.package import create_package, write_package
from ezhifu.archive.reader import read_members
from ezhifu.archive.registry import Booking, Registry
from ezhifu.cli.demo import seal_picture_png
from ezhifu.document.envelope import Envelope
from ezhifu.errors import ArchiveError, ArchiveRegistryError, DuplicateBooking, MetadataError
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.make import make_seal
from ezhifu.sign.voucher import sign_envelope
from test_archive_support import (
    BANK_POSITION,
    FINANCE_POSITION,
    Parties,
    flip_byte,
    make_parties,
    rezip,
    signed_pair,
)


@pytest.fixture(scope="module")
def parties() -> Parties:
    return make_parties()


@pytest.fixture(scope="module")
def pair(parties: Parties) -> tuple[bytes, bytes]:
    return signed_pair(parties)


@pytest.fixture(scope="module")
def package(parties: Parties, pair: tuple[bytes, bytes]) -> bytes:
    return create_package(pair[0], pair[1], trust=parties.trust, signer=parties.archive_signer()).data


def _failed(data: bytes, parties: Parties) -> set[str]:
    return {i.name for i in check_package(data, archive_trust=parties.archive_trust).failed}


def test_round_trip_every_item_passes(package: bytes, parties: Parties, pair: tuple[bytes, bytes]) -> None:
    report = check_package(package, archive_trust=parties.archive_trust)
    assert report.ok, [i.to_dict() for i in report.failed]
    outcomes = {i.name: i.outcome for i in report.items}
    assert outcomes.pop("renewals") == "skip"  # none added yet
    assert set(outcomes.values()) == {"pass"}
    assert {i.quality for i in report.items} == {"authentic", "complete", "usable", "secure"}
    members = read_members(package)
    # the envelopes exactly as received, byte for byte
    assert members["content/envelope.xml"] == pair[0] and members["content/receipt.xml"] == pair[1]
    assert list(members)[:2] == [MANIFEST_NAME, SIGNATURE_NAME]
    manifest = json.loads(members[MANIFEST_NAME])
    assert set(manifest["files"]) == set(members) - {MANIFEST_NAME, SIGNATURE_NAME}
    for name, entry in manifest["files"].items():
        assert entry == file_entry(members[name])
    assert any(n.startswith("evidence/trust/root-") for n in members)
    assert any(n.startswith("evidence/certs/") for n in members)


def test_without_archive_trust_the_signer_item_is_skipped(package: bytes) -> None:
    report = check_package(package)
    assert report.ok
    assert report.item("manifest-signer-trusted").outcome == "skip"


def test_an_other_archive_root_is_not_trusted(package: bytes) -> None:
    stranger = make_parties().archive_trust
    report = check_package(package, archive_trust=stranger)
    assert report.failed and report.item("manifest-signer-trusted").outcome == "fail"


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("content/envelope.xml", {"fixity", "signatures-reverified", "metadata-content-link"}),
        ("content/receipt.xml", {"fixity", "signatures-reverified"}),
        ("metadata/dat95.xml", {"fixity"}),
        ("evidence/verification.json", {"fixity"}),
        ("rendition/envelope.html", {"fixity"}),
        ("evidence/trust/root-01.der", {"fixity", "signatures-reverified"}),
    ],
)
def test_tampering_with_a_file_fails_fixity_naming_it(
    package: bytes, parties: Parties, member: str, expected: set[str]
) -> None:
    members = read_members(package)
    # change a byte inside the content (not the last one: a closing tag or DER end)
    tampered = rezip(package, {member: flip_byte(members[member], len(members[member]) // 2)})
    report = check_package(tampered, archive_trust=parties.archive_trust)
    fixity = report.item("fixity")
    assert fixity.outcome == "fail" and member in fixity.reason
    assert expected <= {i.name for i in report.failed}
    assert not {i.name for i in report.failed} & {"manifest-signature", "manifest-signer-trusted"}


def test_tampering_with_the_manifest_fails_its_signature(package: bytes, parties: Parties) -> None:
    members = read_members(package)
    manifest = json.loads(members[MANIFEST_NAME])
    manifest["vouchers"][0]["VoucherNo"] = "999"
    failed = _failed(rezip(package, {MANIFEST_NAME: canonical_json(manifest)}), parties)
    assert "manifest-signature" in failed and "manifest-signer-trusted" in failed
    # one byte of whitespace: no longer canonical, and the signature breaks too
    spaced = members[MANIFEST_NAME].replace(b"{", b"{ ", 1)
    failed = _failed(rezip(package, {MANIFEST_NAME: spaced}), parties)
    assert {"manifest-canonical", "manifest-signature"} <= failed


def test_a_missing_or_an_extra_file_fails_completeness(package: bytes, parties: Parties) -> None:
    assert "files-present" in _failed(rezip(package, {"rendition/receipt.html": None}), parties)
    assert "no-unlisted-files" in _failed(rezip(package, {"evidence/extra.txt": b"x"}), parties)
    assert "manifest-signature" in _failed(rezip(package, {SIGNATURE_NAME: None}), parties)
    failed = _failed(rezip(package, {MANIFEST_NAME: None}), parties)
    assert "manifest-readable" in failed


def _resigned(package: bytes, parties: Parties, changes: dict[str, bytes]) -> bytes:
    """The package after someone holding the archive key changed files and re-signed the manifest:
    fixity passes, so only the content checks can notice."""
    members = read_members(package)
    members.update(changes)
    manifest = json.loads(members[MANIFEST_NAME])
    for name in changes:
        manifest["files"][name] = file_entry(changes[name])
    data = canonical_json(manifest)
    when = parse_datetime(manifest["created"])
    return rezip(
        package,
        {
            **changes,
            MANIFEST_NAME: data,
            SIGNATURE_NAME: sign_manifest(data, parties.archive_signer(), at=when),
        },
    )


def test_metadata_that_does_not_match_the_signed_voucher_fails_the_link(
    package: bytes, parties: Parties
) -> None:
    members = read_members(package)
    root = etree.fromstring(members["metadata/dat95.xml"])
    root.find("AuthorizedPaymentVoucher/PayAmt").text = "1.00"
    changed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    report = check_package(
        _resigned(package, parties, {"metadata/dat95.xml": changed}), archive_trust=parties.archive_trust
    )
    assert {i.name for i in report.failed} == {"metadata-content-link"}
    assert "PayAmt" in report.item("metadata-content-link").reason


def test_metadata_missing_a_mandatory_element_fails_the_schema(package: bytes, parties: Parties) -> None:
    members = read_members(package)
    root = etree.fromstring(members["metadata/dat95.xml"])
    voucher = root.find("AuthorizedPaymentVoucher")
    voucher.remove(voucher.find("XPayDate"))
    changed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert metadata_issues(changed)
    report = check_package(
        _resigned(package, parties, {"metadata/dat95.xml": changed}), archive_trust=parties.archive_trust
    )
    assert "metadata-schema" in {i.name for i in report.failed}


def test_a_rendition_with_a_script_or_without_the_voucher_fails(package: bytes, parties: Parties) -> None:
    bad = b"<html><body><script>alert(1)</script>nothing here</body></html>"
    report = check_package(_resigned(package, parties, {"rendition/envelope.html": bad}))
    item = report.item("rendition-readable")
    assert item.outcome == "fail" and "script" in item.reason and "does not show" in item.reason


def test_b1_metadata_validates_and_maps_the_fields(package: bytes, pair: tuple[bytes, bytes]) -> None:
    data = read_members(package)["metadata/dat95.xml"]
    assert metadata_issues(data) == []
    parsed = read_metadata(data)
    voucher = Envelope.from_bytes(pair[0]).bodies[0].voucher
    receipt = Envelope.from_bytes(pair[1]).bodies[0].voucher
    (record,) = parsed.vouchers
    assert record["VoucherNo"] == voucher.voucher_no and record["PayAmt"] == voucher.get("PayAmt")
    assert record["XAgentBusinessNo"] == receipt.get("XAgentBusinessNo")  # from the 回单
    assert record["VouDate"] == voucher.vou_date.isoformat() if voucher.vou_date else False  # GB/T 7408
    assert parsed.item_counts == (len(voucher.details),)
    assert [e["BusinessActivity"] for e in parsed.events] == ["接收", "验证", "归档"]
    assert all(e["ActionTime"].endswith("+08:00") for e in parsed.events)


def test_b1_mandatory_elements_follow_the_standard_table() -> None:
    # spec.md §4.3 (S13 = DA/T 95 B.1) lists these header 必选 elements
    header = {e.name for e in B1_HEADER if e.required}
    assert {
        "Id",
        "AdmDivCode",
        "StYear",
        "VtCode",
        "VouDate",
        "VoucherNo",
        "BgtTypeCode",
        "ProCatCode",
    } <= header
    assert {
        "AgencyCode",
        "AgencyName",
        "ExpFuncCode",
        "GovExpEcoCode",
        "PayAmt",
        "XPayDate",
        "Hold1",
    } <= header
    assert {"PayKindCode", "PayeeAcctNo", "PayeeAcctName", "PayeeAcctBankName", "PayAmt"} <= {
        e.name for e in B1_DETAIL if e.required
    }
    assert len(B1_HEADER) == 77 and len(B1_DETAIL) == 39


def test_a_voucher_without_its_receipt_lacks_the_bank_fields(
    parties: Parties, pair: tuple[bytes, bytes]
) -> None:
    with pytest.raises(MetadataError, match="XPayDate"):
        create_package(pair[0], trust=parties.trust, signer=parties.archive_signer())


def test_a_failed_verification_is_refused_unless_allowed(parties: Parties, pair: tuple[bytes, bytes]) -> None:
    stranger = make_parties()
    with pytest.raises(ArchiveError, match="verification failed"):
        create_package(pair[0], pair[1], trust=stranger.trust, signer=parties.archive_signer())
    kept = create_package(
        pair[0], pair[1], trust=stranger.trust, signer=parties.archive_signer(), allow_invalid=True
    )
    assert not kept.valid
    report = check_package(kept.data, archive_trust=parties.archive_trust)
    assert {"archived-verdict", "signatures-reverified"} <= {i.name for i in report.failed}
    assert (
        "验证" in read_metadata(read_members(kept.data)["metadata/dat95.xml"]).events[1]["BusinessActivity"]
    )


def test_a_receipt_of_another_voucher_is_refused(parties: Parties, pair: tuple[bytes, bytes]) -> None:
    _, other_receipt = signed_pair(parties, seed=99)
    with pytest.raises(ArchiveError, match="receipt"):
        create_package(pair[0], other_receipt, trust=parties.trust, signer=parties.archive_signer())


def test_registry_refuses_a_second_booking(
    tmp_path: Path, parties: Parties, pair: tuple[bytes, bytes]
) -> None:
    options = {"trust": parties.trust, "signer": parties.archive_signer()}
    with Registry(tmp_path / "books.sqlite") as registry:
        first = write_package(tmp_path / "a.zip", pair[0], pair[1], registry=registry, **options)
        with pytest.raises(DuplicateBooking, match=first.package_id):
            write_package(tmp_path / "b.zip", pair[0], pair[1], registry=registry, **options)
        assert not (tmp_path / "b.zip").exists()
        # the same signed voucher text under a relabelled envelope is the same voucher
        relabelled = Envelope.from_bytes(pair[0])
        relabelled.bodies[0].voucher_no = "RELABELLED"
        with pytest.raises(DuplicateBooking, match="RELABELLED"):
            registry.book(_relabelled_bookings(relabelled))
        assert [b.voucher_no for b in registry.all()] == [first.bookings[0].voucher_no]
    assert (os.stat(tmp_path / "books.sqlite").st_mode & 0o777) == 0o600


def _relabelled_bookings(envelope: Envelope) -> list[Booking]:
    body = envelope.bodies[0]
    digest = hashlib.sha256(body.voucher_b64.encode()).hexdigest()
    return [
        Booking(body.adm_div_code, body.st_year, body.vt_code, body.voucher_no, "other-id", digest, "p2", "t")
    ]


def test_a_failed_write_books_nothing(tmp_path: Path, parties: Parties) -> None:
    envelope, receipt = signed_pair(parties, seed=5)
    options = {"trust": parties.trust, "signer": parties.archive_signer()}
    with Registry(tmp_path / "books.sqlite") as registry:
        with pytest.raises(OSError):
            write_package(tmp_path / "missing-dir" / "a.zip", envelope, receipt, registry=registry, **options)
        assert registry.all() == []
        write_package(tmp_path / "a.zip", envelope, receipt, registry=registry, **options)
        assert len(registry.all()) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_two_signatures_in_one_body_are_both_evidenced(parties: Parties) -> None:
    envelope, receipt = signed_pair(parties, seed=11)
    env = Envelope.from_bytes(envelope)
    second = make_parties().finance
    sign_envelope(env, second.signer(), "cz_dwgz")
    trust = parties.trust.merge(type(parties.trust)(roots=[second.root_cert]))
    created = create_package(env.to_bytes(), receipt, trust=trust, signer=parties.archive_signer())
    record = json.loads(read_members(created.data)["evidence/verification.json"])["envelopes"][0]
    assert [i["position"] for i in record["items"]] == ["cz_dwfz", "cz_dwgz"]
    assert all(len(i["path"]) == 2 for i in record["items"])  # leaf and root
    assert record["revocation"]["checked"] is False and "CRL" in record["revocation"]["reason"]


def test_a_pdf_rendition_is_printed_and_checked(
    parties: Parties, pair: tuple[bytes, bytes], tmp_path: Path
) -> None:
    created = create_package(pair[0], pair[1], trust=parties.trust, signer=parties.archive_signer(), pdf=True)
    members = read_members(created.data)
    printed = members["rendition/envelope.pdf"]
    assert printed.startswith(b"%PDF-") and "rendition/receipt.pdf" in members
    (tmp_path / "v.pdf").write_bytes(printed)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "v.pdf"), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert Envelope.from_bytes(pair[0]).bodies[0].voucher_no in text
    assert check_package(created.data, archive_trust=parties.archive_trust).ok
    truncated = _resigned(created.data, parties, {"rendition/envelope.pdf": printed[: len(printed) // 2]})
    item = check_package(truncated).item("rendition-readable")
    assert item.outcome == "fail" and "not a complete PDF" in item.reason


def test_a_concurrent_booking_waits_then_reports_the_lock(tmp_path: Path, parties: Parties) -> None:
    created = create_package(
        *signed_pair(parties, seed=21), trust=parties.trust, signer=parties.archive_signer()
    )
    path = tmp_path / "books.sqlite"
    with Registry(path) as first, Registry(path, timeout=0.2) as second:
        with first.booking(created.bookings), pytest.raises(ArchiveRegistryError, match="locked"):
            second.book(created.bookings)
        with pytest.raises(DuplicateBooking):
            second.book(created.bookings)


def test_the_archive_key_may_live_in_a_keystore(parties: Parties, pair: tuple[bytes, bytes]) -> None:
    with MemoryKeyStore() as store:
        store.add_key("archive", parties.archive.leaf_key, parties.archive.chain)
        created = create_package(pair[0], pair[1], trust=parties.trust, signer=store.signer("archive"))
    assert check_package(created.data, archive_trust=parties.archive_trust).ok


def test_a_position_table_is_applied_recorded_and_used_again(
    parties: Parties, pair: tuple[bytes, bytes]
) -> None:
    options = {"trust": parties.trust, "signer": parties.archive_signer()}
    table = {"8202": frozenset({FINANCE_POSITION, BANK_POSITION})}
    created = create_package(pair[0], pair[1], positions=table, **options)
    record = json.loads(read_members(created.data)["evidence/verification.json"])["envelopes"][0]
    assert record["positions"] == {"8202": sorted(table["8202"])}
    assert check_package(created.data, archive_trust=parties.archive_trust).ok
    with pytest.raises(ArchiveError, match="not configured"):
        create_package(pair[0], pair[1], positions={"8202": frozenset({"elsewhere"})}, **options)


def test_a_sealed_voucher_keeps_its_seal_picture_and_path(parties: Parties) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    envelope_bytes, receipt = signed_pair(parties, seed=31)
    envelope = Envelope.from_bytes(envelope_bytes)
    maker_cert, maker_key = parties.finance.issue_leaf("制章人")
    picture = seal_picture_png()
    seal = make_seal(
        SoftwareSigner(maker_key, maker_cert),
        seal_id="archive-test-seal",
        name="测试财政单位公章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[parties.finance.leaf_cert],
        picture=picture,
        width_mm=40,
        height_mm=40,
        version="v4",
    )
    apply_seal(envelope.bodies[0], seal, parties.finance.signer(), "cz_dwgz")
    trust = parties.trust.merge(TrustStore(seal_makers=[parties.finance.root_cert]))
    created = create_package(envelope.to_bytes(), receipt, trust=trust, signer=parties.archive_signer())
    members = read_members(created.data)
    record = json.loads(members["evidence/verification.json"])["envelopes"][0]
    (stamp,) = [i for i in record["items"] if i["kind"] == "seal"]
    assert stamp["position"] == "cz_dwgz" and len(stamp["path"]) == 2
    assert members[stamp["picture"]] == picture and stamp["picture"].endswith(".png")
    assert "data:image/png;base64," in members["rendition/envelope.html"].decode("utf-8")
    assert check_package(created.data, archive_trust=parties.archive_trust).ok
    tampered = rezip(created.data, {stamp["picture"]: flip_byte(picture, 60)})
    assert stamp["picture"] in check_package(tampered).item("fixity").reason
