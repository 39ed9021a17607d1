"""SafeBox: position table, OCX-coded refusals, audit of every use, eight threads at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from keystore_fixtures import SoftHSM

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import (
    ConfigurationError,
    KeyNotFound,
    PositionAlreadySigned,
    PositionNotConfigured,
    SealFormatError,
)
from ezhifu.flow.safebox import (
    CertificateIdEmpty,
    PositionEmpty,
    PositionNotInTable,
    PositionTable,
    PositionTaken,
    SafeBox,
    SealFormatRefused,
    VoucherNotInEnvelope,
)
from ezhifu.keystore.audit import AuditLog, MemoryAuditStorage, SQLiteAuditStorage
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI

AUDIT_KEY = b"safebox test audit key, 32 bytes"
# 1x1 transparent PNG (the PNG signature and minimal chunks), a seal picture for tests.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

TABLE = {
    "positions": {
        "5201": {
            "cz_dwfz": {"kind": "signature", "alias": "unit-head", "name": "单位负责人签名"},
            "cz_dwgz": {"kind": "stamp", "alias": "unit-sealer", "seal": "SEAL0001", "name": "单位公章"},
            "cz_nokey": {"kind": "signature", "alias": "bare-key"},
            "cz_badseal": {"kind": "stamp", "alias": "unit-sealer", "seal": "NOTASEAL"},
        },
        "*": {"rh_ywzqz": {"kind": "stamp", "alias": "unit-sealer", "seal": "SEAL0001"}},
    }
}


@pytest.fixture
def box_parts(pkis: dict[str, TestPKI]) -> tuple[MemoryKeyStore, TestPKI]:
    pki = pkis["sm2"]
    store = MemoryKeyStore()
    store.add_key("unit-head", pki.leaf_key, pki.chain)
    sealer_cert, sealer_key = pki.issue_leaf("unit sealer")
    store.add_key("unit-sealer", sealer_key, [sealer_cert, pki.root_cert])
    store.add_key("bare-key", pki.issue_leaf("bare")[1])  # a key without a certificate
    now = datetime.now(UTC)
    seal = make_seal(
        pki.signer(),
        seal_id="SEAL0001",
        name="测试单位公章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[sealer_cert],
        picture=PNG,
        width_mm=40,
        height_mm=40,
    )
    store.add_seal("SEAL0001", seal)
    store.add_seal("NOTASEAL", b"\x30\x03\x02\x01\x05")
    return store, pki


def _envelope(*seeds: int) -> Envelope:
    return Envelope.build([sample_voucher("5201", seed=s) for s in seeds])


def test_sign_stamp_verify_and_audit(box_parts: tuple[MemoryKeyStore, TestPKI]) -> None:
    store, pki = box_parts
    audit = AuditLog(MemoryAuditStorage(), AUDIT_KEY)
    box = SafeBox(store, PositionTable.from_mapping(TABLE), audit=audit, actor="clerk-7")
    envelope = _envelope(1, 2)
    signatures = box.sign(envelope, "cz_dwfz")
    stamps = box.stamp(envelope, "cz_dwgz")
    assert [s.no for s in signatures] == ["cz_dwfz", "cz_dwfz"]
    assert [s.sn for s in stamps] == ["SEAL0001", "SEAL0001"]
    reparsed = Envelope.from_bytes(envelope.to_bytes())
    result = box.verify(reparsed, TrustStore(roots=[pki.root_cert], seal_makers=[pki.root_cert]))
    assert result.valid, result.to_json()
    entries = audit.entries()
    assert [(e.operation, e.outcome) for e in entries[:4]] == [("sign", "ok")] * 2 + [("stamp", "ok")] * 2
    assert entries[0].actor == "clerk-7" and entries[0].alias == "unit-head"
    assert entries[0].vt_code == "5201" and entries[0].voucher_no == envelope.bodies[0].voucher_no
    assert audit.verify().count == len(entries) == 6  # two verify entries follow


def test_verify_flags_position_outside_table(box_parts: tuple[MemoryKeyStore, TestPKI]) -> None:
    from ezhifu.sign.voucher import sign_body

    store, pki = box_parts
    box = SafeBox(store, PositionTable.from_mapping(TABLE))
    envelope = _envelope(3)
    sign_body(envelope.bodies[0], pki.signer(), "cz_elsewhere")  # signed outside the box
    result = box.verify(envelope, TrustStore(roots=[pki.root_cert], seal_makers=[pki.root_cert]))
    assert not result.valid
    assert "cz_elsewhere" in " ".join(result.bodies[0].reasons)


@pytest.mark.parametrize(
    ("operation", "position", "error", "ocx"),
    [
        ("sign", "", PositionEmpty, 106),
        ("sign", "cz_unknown", PositionNotInTable, 122),
        ("stamp", "cz_unknown", PositionNotInTable, 121),
        ("sign", "cz_dwgz", PositionNotInTable, 122),  # a stamp position, not a signature one
        ("sign", "cz_nokey", CertificateIdEmpty, 107),
        ("stamp", "cz_badseal", SealFormatRefused, 114),
    ],
)
def test_refusals_carry_ocx_codes_and_are_audited(
    box_parts: tuple[MemoryKeyStore, TestPKI], operation: str, position: str, error: type[Exception], ocx: int
) -> None:
    store, _ = box_parts
    audit = AuditLog(MemoryAuditStorage(), AUDIT_KEY)
    box = SafeBox(store, PositionTable.from_mapping(TABLE), audit=audit)
    envelope = _envelope(4)
    with pytest.raises(error) as info:
        getattr(box, operation)(envelope, position)
    assert getattr(info.value, "ocx_code", None) == ocx
    assert not envelope.bodies[0].signatures and not envelope.bodies[0].stamps
    (entry,) = audit.entries()
    assert (entry.operation, entry.outcome) == (operation, "refused")
    assert f"OCX {ocx}" in entry.reason
    audit.verify()


def test_error_classes_are_the_shared_kinds() -> None:
    assert issubclass(PositionNotInTable, PositionNotConfigured)
    assert issubclass(PositionTaken, PositionAlreadySigned)
    assert issubclass(SealFormatRefused, SealFormatError)


def test_already_signed_and_stamped(box_parts: tuple[MemoryKeyStore, TestPKI]) -> None:
    store, _ = box_parts
    box = SafeBox(store, PositionTable.from_mapping(TABLE))
    envelope = _envelope(5)
    box.sign(envelope, "cz_dwfz")
    box.stamp(envelope, "rh_ywzqz")  # a "*" rule applies to every VtCode
    with pytest.raises(PositionTaken) as signed:
        box.sign(envelope, "cz_dwfz")
    assert signed.value.ocx_code == 109
    with pytest.raises(PositionTaken) as stamped:
        box.stamp(envelope, "rh_ywzqz")
    assert stamped.value.ocx_code == 117
    assert len(envelope.bodies[0].signatures) == 1 and len(envelope.bodies[0].stamps) == 1


def test_only_the_configured_key_and_seal(box_parts: tuple[MemoryKeyStore, TestPKI]) -> None:
    store, _ = box_parts
    box = SafeBox(store, PositionTable.from_mapping(TABLE))
    envelope = _envelope(6)
    with pytest.raises(PositionNotInTable, match="unit-sealer") as wrong_key:
        box.sign(envelope, "cz_dwfz", alias="unit-sealer")
    assert wrong_key.value.ocx_code == 122
    with pytest.raises(PositionNotInTable, match="OTHER") as wrong_seal:
        box.stamp(envelope, "cz_dwgz", seal_id="OTHER")
    assert wrong_seal.value.ocx_code == 121
    with pytest.raises(VoucherNotInEnvelope) as missing:
        box.sign(envelope, "cz_dwfz", voucher_no="000")
    assert missing.value.ocx_code == 108
    assert not envelope.bodies[0].signatures and not envelope.bodies[0].stamps


def test_missing_alias_in_keystore_is_refused(pkis: dict[str, TestPKI]) -> None:
    box = SafeBox(MemoryKeyStore(), PositionTable.from_mapping(TABLE))
    with pytest.raises(KeyNotFound, match="unit-head"):
        box.sign(_envelope(7), "cz_dwfz")


def test_position_table_from_toml_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "positions.toml"
    path.write_text(
        '[positions."5201".cz_dwfz]\nkind = "signature"\nalias = "a"\n'
        '[positions."5201".cz_dwgz]\nkind = "stamp"\nalias = "b"\nseal = "S1"\n',
        encoding="utf-8",
    )
    table = PositionTable.from_toml(path)
    assert table.as_positions() == {"5201": frozenset({"cz_dwfz", "cz_dwgz"})}
    assert table.rule("5201", "cz_dwgz", "stamp").seal_id == "S1"
    with pytest.raises(ConfigurationError, match="sael"):
        PositionTable.from_mapping({"5201": {"p": {"kind": "stamp", "alias": "b", "sael": "x"}}})
    with pytest.raises(ConfigurationError, match="needs 'seal'"):
        PositionTable.from_mapping({"5201": {"p": {"kind": "stamp", "alias": "b"}}})
    with pytest.raises(ConfigurationError, match="kind"):
        PositionTable.from_mapping({"5201": {"p": {"kind": "scribble", "alias": "b"}}})


def test_eight_threads_sign_1000_vouchers(pkis: dict[str, TestPKI], tmp_path: Path) -> None:
    """1,000 vouchers signed through one SafeBox by eight threads; all verify; audit intact.

    P-256 keeps the run short (verification dominates); SM2 goes through the same path above.
    """
    pki = pkis["p256"]
    store = MemoryKeyStore()
    store.add_key("unit-head", pki.leaf_key, pki.chain)
    audit = AuditLog(SQLiteAuditStorage(tmp_path / "audit.db", synchronous="NORMAL"), AUDIT_KEY)
    box = SafeBox(store, PositionTable.from_mapping(TABLE), audit=audit)
    base = sample_voucher("5201")
    numbers = [f"{base.voucher_no[:-4]}{i:04d}" for i in range(1000)]
    envelopes = [Envelope.build([base.replace(VoucherNo=number)]) for number in numbers]
    shared = envelopes[0]  # every thread also races for the same position of one voucher
    outcomes: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(start: int) -> None:
        try:
            for envelope in envelopes[start::8]:
                if envelope is not shared:
                    box.sign(envelope, "cz_dwfz")
            try:
                box.sign(shared, "cz_dwfz")
                outcome = "signed"
            except PositionTaken:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # surfaced below, not swallowed
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(outcomes) == ["refused"] * 7 + ["signed"]  # exactly one thread won the race
    assert all(len(e.bodies[0].signatures) == 1 for e in envelopes)
    from ezhifu.verify.envelope import verify_envelope

    trust = TrustStore(roots=[pki.root_cert])
    table = box.positions.as_positions()
    assert all(verify_envelope(e, trust=trust, positions=table).valid for e in envelopes)
    report = audit.verify()
    assert report.count == 1000 + 7  # 1,000 signatures and the 7 refused racers
    entries = audit.entries()
    assert sum(e.outcome == "ok" for e in entries) == 1000
    assert {e.voucher_no for e in entries if e.outcome == "ok"} == set(numbers)
    audit.close()


def test_relabelled_body_refused_before_anything_is_signed(box_parts: tuple[MemoryKeyStore, TestPKI]) -> None:
    from ezhifu.errors import SigningError

    store, _ = box_parts
    audit = AuditLog(MemoryAuditStorage(), AUDIT_KEY)
    box = SafeBox(store, PositionTable.from_mapping(TABLE), audit=audit)
    envelope = _envelope(8, 9)
    envelope.bodies[1].adm_div_code = "999999"  # unsigned attribute changed (spec.md §5.5)
    with pytest.raises(SigningError, match="AdmDivCode"):
        box.sign(envelope, "cz_dwfz")
    assert not envelope.bodies[0].signatures  # all-or-nothing
    assert [(e.operation, e.outcome) for e in audit.entries()] == [("sign", "refused")]


def test_pin_unlocks_a_locked_store(softhsm: SoftHSM) -> None:
    """A token opened without its PIN: the box's pin logs in, then signs at the position."""
    from ezhifu.keystore.pkcs11 import PKCS11KeyStore

    table = PositionTable.from_mapping({"5201": {"cz_dwfz": {"kind": "signature", "alias": "ec-signer"}}})
    with PKCS11KeyStore(softhsm.module, softhsm.label, None) as token:
        box = SafeBox(token, table)
        envelope = _envelope(10)
        (element,) = box.sign(envelope, "cz_dwfz", pin=softhsm.pin)
        assert element.sn == format(softhsm.certs["ec-signer"].serial_number, "x")
        assert softhsm.root is not None
        assert box.verify(envelope, TrustStore(roots=[softhsm.root])).valid


class _FailingStorage(MemoryAuditStorage):
    """An audit storage that refuses every write after ``ok_writes`` succeeded (disk full)."""

    def __init__(self, ok_writes: int) -> None:
        super().__init__()
        self.ok_writes = ok_writes

    def append(self, build):  # type: ignore[no-untyped-def]
        if self.ok_writes <= 0:
            from ezhifu.errors import AuditError

            raise AuditError("audit storage: disk full (test)")
        self.ok_writes -= 1
        return super().append(build)


@pytest.mark.parametrize("operation", ["sign", "stamp"])
def test_no_signature_leaves_the_box_without_its_audit_entry(
    box_parts: tuple[MemoryKeyStore, TestPKI], operation: str
) -> None:
    """Security review AUD-2: when the "ok" entry cannot be written, the element is withdrawn."""
    from ezhifu.errors import AuditError

    store, _pki = box_parts
    audit = AuditLog(_FailingStorage(ok_writes=0), AUDIT_KEY)
    box = SafeBox(store, PositionTable.from_mapping(TABLE), audit=audit)
    envelope = _envelope(1, 1)
    with pytest.raises(AuditError):
        if operation == "sign":
            box.sign(envelope, "cz_dwfz")
        else:
            box.stamp(envelope, "cz_dwgz")
    body = envelope.bodies[0]
    assert body.signatures == [] and body.stamps == []


def test_relabelled_voucher_does_not_get_the_other_templates_seal(
    box_parts: tuple[MemoryKeyStore, TestPKI],
) -> None:
    """Issue 13 finding 4: a 5201 voucher whose unsigned VtCode attribute says 8202 must not be
    stamped with the 8202 seal; the rule is chosen from the SIGNED voucher's VtCode."""
    from ezhifu.errors import SigningError

    store, _ = box_parts
    table = {
        "positions": {
            "5201": {"cz_dwfz": {"kind": "signature", "alias": "unit-head"}},
            "8202": {
                "yh_zfgz": {"kind": "stamp", "alias": "unit-sealer", "seal": "SEAL0001"},
                "yh_zfqz": {"kind": "signature", "alias": "unit-head"},
            },
        }
    }
    audit = AuditLog(MemoryAuditStorage(), AUDIT_KEY)
    box = SafeBox(store, PositionTable.from_mapping(table), audit=audit)
    envelope = _envelope(11)
    envelope.bodies[0].vt_code = "8202"  # the label says 8202, the signed voucher is a 5201
    with pytest.raises((PositionNotInTable, SigningError)):
        box.stamp(envelope, "yh_zfgz")
    assert not envelope.bodies[0].stamps
    # The rule lookup itself follows the signed VtCode, even with the consistency check off.
    with pytest.raises(PositionNotInTable, match="5201"):
        box.sign(envelope, "yh_zfqz", check_consistency=False)
    assert not envelope.bodies[0].signatures
    # And the signed VtCode's own positions still work for the relabelled body.
    box.sign(envelope, "cz_dwfz", check_consistency=False)
    assert [s.no for s in envelope.bodies[0].signatures] == ["cz_dwfz"]
    assert [e.outcome for e in audit.entries()] == ["refused", "refused", "ok"]
    assert audit.entries()[-1].vt_code == "5201"  # the audit trail records the signed VtCode


def test_stamp_refuses_a_relabelled_body(box_parts: tuple[MemoryKeyStore, TestPKI]) -> None:
    from ezhifu.errors import SigningError

    store, _ = box_parts
    box = SafeBox(store, PositionTable.from_mapping(TABLE))
    envelope = _envelope(12)
    envelope.bodies[0].voucher_no = "PLACEHOLDER"
    with pytest.raises(SigningError, match="VoucherNo"):
        box.stamp(envelope, "cz_dwgz")
    assert not envelope.bodies[0].stamps
