"""Re-validation against the stored evidence (issue 19 item 4): after the signer's certificate
expired the voucher is valid as of the evidence time; CRL evidence removed is reported; revoked
signers are refused; renewal signatures add, never rewrite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ezhifu.archive.check import check_package
from ezhifu.archive.gbt7408 import parse_datetime
from ezhifu.archive.package import create_package
from ezhifu.archive.reader import read_members
from ezhifu.archive.revalidate import renew_package, revalidate_package
from ezhifu.errors import ArchiveError
from ezhifu.pki.trust import VerifyPolicy
from test_archive_support import Parties, flip_byte, make_parties, rezip, signed_pair, sm2_crl

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def short_lived() -> Parties:
    """The finance bureau's signing certificate expires two days from now."""
    return make_parties(finance_not_after=NOW + timedelta(days=2))


@pytest.fixture(scope="module")
def package(short_lived: Parties) -> bytes:
    envelope, receipt = signed_pair(short_lived)
    return create_package(
        envelope, receipt, trust=short_lived.trust, signer=short_lived.archive_signer()
    ).data


def test_valid_as_of_the_evidence_time_after_the_signer_expired(package: bytes, short_lived: Parties) -> None:
    later = NOW + timedelta(days=30)
    result = revalidate_package(package, archive_trust=short_lived.archive_trust, now=later)
    assert result.valid, (result.problems, [i.to_dict() for i in result.check.failed])
    created = json.loads(read_members(package)["manifest.json"])["created"]
    assert result.evidence_time is not None and result.evidence_time == parse_datetime(created)
    assert "manifest.p7s" in result.evidence_source
    envelope, receipt = result.envelopes
    assert envelope.archived_valid and envelope.as_of.valid and envelope.valid
    assert not envelope.today.valid  # checked today, the signer certificate has expired
    assert any("expired" in r for b in envelope.today.bodies for r in b.reasons)
    assert receipt.today.valid  # the bank's certificate is still current
    assert "not checked when archived" in envelope.revocation
    data = result.to_dict()
    assert data["valid"] and data["envelopes"][0]["today_valid"] is False


def test_a_time_after_the_expiry_is_not_valid(package: bytes, short_lived: Parties) -> None:
    result = revalidate_package(package, archive_trust=short_lived.archive_trust, at=NOW + timedelta(days=3))
    assert not result.valid and result.evidence_source == "time given with --at"
    assert not result.envelopes[0].as_of.valid


def test_without_the_archive_trust_nothing_is_claimed(package: bytes) -> None:
    result = revalidate_package(package, archive_trust=None)
    assert not result.valid  # the evidence time is only the archive's claim
    assert result.check.item("manifest-signer-trusted").outcome == "skip"


def test_tampered_evidence_is_not_valid(package: bytes, short_lived: Parties) -> None:
    members = read_members(package)
    tampered = rezip(package, {"content/envelope.xml": flip_byte(members["content/envelope.xml"], 3000)})
    result = revalidate_package(tampered, archive_trust=short_lived.archive_trust)
    assert not result.valid and "fixity" in {i.name for i in result.check.failed}


@pytest.fixture(scope="module")
def with_crls() -> tuple[Parties, bytes]:
    parties = make_parties()
    envelope, receipt = signed_pair(parties, seed=3)
    crls = (sm2_crl(parties.finance), sm2_crl(parties.bank))
    policy = VerifyPolicy(check_crl=True, crls=crls)
    created = create_package(
        envelope, receipt, trust=parties.trust, signer=parties.archive_signer(), policy=policy
    )
    return parties, created.data


def test_crl_evidence_is_stored_and_used(with_crls: tuple[Parties, bytes]) -> None:
    parties, data = with_crls
    assert {"evidence/crl/crl-01.der", "evidence/crl/crl-02.der"} <= set(read_members(data))
    result = revalidate_package(data, archive_trust=parties.archive_trust)
    assert result.valid
    assert all(e.revocation == "checked against 2 stored CRL(s)" for e in result.envelopes)
    # thirty days on the CRLs are outdated: today's verdict says so, the evidence verdict stands
    later = revalidate_package(data, archive_trust=parties.archive_trust, now=NOW + timedelta(days=30))
    assert later.valid and not later.envelopes[0].today.valid
    assert any("outdated" in r for b in later.envelopes[0].today.bodies for r in b.reasons)


def test_removed_crl_evidence_is_reported_not_silently_valid(with_crls: tuple[Parties, bytes]) -> None:
    parties, data = with_crls
    stripped = rezip(data, {"evidence/crl/crl-01.der": None})
    result = revalidate_package(stripped, archive_trust=parties.archive_trust)
    assert not result.valid
    first = result.envelopes[0]
    assert not first.revocation_complete and "evidence/crl/crl-01.der" in first.revocation
    assert "files-present" in {i.name for i in result.check.failed}
    report = check_package(stripped, archive_trust=parties.archive_trust)
    assert "revocation evidence missing" in report.item("signatures-reverified").reason


def test_a_revoked_signer_is_not_archived() -> None:
    parties = make_parties()
    envelope, receipt = signed_pair(parties, seed=4)
    crls = (sm2_crl(parties.finance, [parties.finance.leaf_cert.serial_number]), sm2_crl(parties.bank))
    with pytest.raises(ArchiveError, match="revoked"):
        create_package(
            envelope,
            receipt,
            trust=parties.trust,
            signer=parties.archive_signer(),
            policy=VerifyPolicy(check_crl=True, crls=crls),
        )


def test_renewal_adds_a_signature_and_keeps_every_stored_byte(package: bytes, short_lived: Parties) -> None:
    renewed = renew_package(package, short_lived.archive_signer())
    before, after = read_members(package), read_members(renewed)
    assert {n: after[n] for n in before} == before  # nothing stored is rewritten
    assert set(after) - set(before) == {"preservation/renewal-01.json", "preservation/renewal-01.p7s"}
    report = check_package(renewed, archive_trust=short_lived.archive_trust)
    assert report.ok and report.item("renewals").outcome == "pass"
    twice = renew_package(renewed, short_lived.archive_signer())
    assert "preservation/renewal-02.json" in read_members(twice)
    assert (
        check_package(twice, archive_trust=short_lived.archive_trust).item("renewals").reason.startswith("2 ")
    )


def test_a_renewal_notices_later_changes(package: bytes, short_lived: Parties) -> None:
    renewed = renew_package(package, short_lived.archive_signer())
    forged = rezip(
        renewed,
        {"preservation/renewal-01.p7s": flip_byte(read_members(renewed)["preservation/renewal-01.p7s"])},
    )
    assert check_package(forged, archive_trust=short_lived.archive_trust).item("renewals").outcome == "fail"
    gone = rezip(renewed, {"preservation/renewal-01.p7s": None})
    assert "missing" in check_package(gone).item("renewals").reason


def test_a_damaged_package_is_not_renewed(package: bytes, short_lived: Parties) -> None:
    broken = rezip(package, {"rendition/envelope.html": b"<html></html>"})
    with pytest.raises(ArchiveError, match="fixity"):
        renew_package(broken, short_lived.archive_signer())


def test_the_revocation_statuses_are_recorded(with_crls: tuple[Parties, bytes]) -> None:
    """Issue 13 item 6: archive create keeps each checked path's revocation evidence."""
    _, data = with_crls
    record = json.loads(read_members(data)["evidence/verification.json"])
    text = json.dumps(record, ensure_ascii=False)
    assert '"statuses"' in text and "not revoked" in text and "sha256=" in text
    assert '"unavailable": "hard-fail"' in text
