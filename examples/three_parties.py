"""Three voucher libraries — 财政, an agent bank (代理银行) and the People's Bank (人民银行) — at work.

Run it with ``python examples/three_parties.py``.  Everything is made fresh in a temporary
folder: an SM2 test PKI (ezhifu.testing.pki; never use it in production), one GB/T 38540 v4 seal per
party, one SQLite voucher library per party, and a drop-folder transport between them (files
moved atomically from ``tmp`` to ``inbox`` to ``processing`` to ``done``).

Every voucher and receipt is signed (SM2/SM3 detached CMS over the Base64 text) and sealed by
the party that sends it, every message carries its sending library's link signature, and every
envelope is verified by the receiving library before it is accepted.  The steps:

1. 5201 财政直接支付凭证: 财政 → bank; the bank signs it in (签收), pays, and answers with its
   回单 (X-fields filled); 财政 signs the receipt in.
2. 2301 申请划款凭证: bank → 人民银行; the People's Bank clears it and sends the 回单 to the
   bank, with a copy to 财政 that carries the original signed voucher.
3. A 5201 with a wrong payee account: the bank returns it (退回); 财政 discards it (作废),
   corrects it and re-sends it; the bank accepts the new revision and answers it.
4. Reconciliation: the People's Bank sends a 3507 清算信息对账 to the bank and to 财政; they
   match it against their own records and answer with 2507 / 5507 (XCheckResult 0 = 相符).
5. Fund monitoring over 财政's payments.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypedDict

from ezhifu import SoftwareSigner
from ezhifu.cli.demo import seal_picture_png
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.flow.library import Outcome, Party, Sealer, VoucherLibrary
from ezhifu.flow.monitoring import AmountThreshold, DuplicatePayment, run_rules
from ezhifu.flow.reconciliation import (
    answer_statement,
    build_statement,
    entries_from_records,
    statement_entries,
)
from ezhifu.flow.status import RecordKey
from ezhifu.flow.store import SQLiteStore
from ezhifu.flow.transport import DropFolderTransport
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.make import make_seal
from ezhifu.sign.voucher import sign_body
from ezhifu.testing import make_pki

ADM, YEAR = "420000", "2024"
#: party id -> (org type, name, position prefix); spec.md §1 org types, §5.1 position naming.
PARTIES = {
    "finance": ("011", "财政", "cz"),
    "bank": ("102", "代理银行", "yh"),
    "pbc": ("001", "人民银行", "rh"),
}


class Ids(TypedDict):
    """The identifiers every 凭证库 operation takes (行政区划, 业务年度)."""

    adm_div_code: str
    st_year: str


def build(workdir: Path) -> dict[str, VoucherLibrary]:
    """The PKI, the seals and one library per party, wired over a drop folder."""
    pki = make_pki("sm2")
    trust = TrustStore(roots=[pki.root_cert], seal_makers=[pki.root_cert])
    maker_cert, maker_key = pki.issue_leaf("示例制章机构 seal maker")
    maker = SoftwareSigner(maker_key, maker_cert)
    now = datetime.now(UTC).replace(microsecond=0)
    transport = DropFolderTransport(workdir / "exchange")
    (workdir / "exchange").mkdir()

    signers: dict[str, SoftwareSigner] = {}
    seals: dict[str, bytes] = {}
    picture = seal_picture_png()
    for i, (party, (_, name, _)) in enumerate(PARTIES.items()):
        cert, key = pki.issue_leaf(f"{name} ({party})")
        signers[party] = SoftwareSigner(key, cert)
        seals[party] = make_seal(
            maker,
            seal_id=f"{party}-{i:02d}",
            name=f"{name}业务专用章",
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=365),
            holder_certs=[cert],
            picture=picture,
            width_mm=40,
            height_mm=40,
            version="v4",
        )
    # The voucher templates' position table (queryStampPositionWithName), one set per VtCode.
    names = {f"{p}_qm": f"{n}签名" for _, n, p in PARTIES.values()}
    names |= {f"{p}_gz": f"{n}业务专用章" for _, n, p in PARTIES.values()}
    positions = {vt: dict(names) for vt in ("5201", "2301", "3507", "2507", "5507")}

    def sealer_for(party: str) -> Sealer:
        """Sign (SM2/SM3 detached CMS) and seal (v4) at the party's own positions."""
        prefix = PARTIES[party][2]

        def seal(body: VoucherBody) -> None:
            sign_body(body, signers[party], f"{prefix}_qm")  # SM2/SM3 signature
            apply_seal(body, seals[party], signers[party], f"{prefix}_gz")  # v4 seal

        return seal

    libraries = {}
    for party, (org, name, _) in PARTIES.items():
        libraries[party] = VoucherLibrary(
            Party(party, org, name),
            store=SQLiteStore(workdir / f"{party}.db"),
            transport=transport,
            trust=trust,
            link_signer=signers[party],
            peers={p: s.certificate for p, s in signers.items() if p != party and s.certificate},
            sealer=sealer_for(party),
            positions=positions,
            # whose certificates may sign what each peer sends
            party_certs={p: [s.certificate] for p, s in signers.items() if s.certificate},
        )
    return libraries


def show(lib: VoucherLibrary, key: RecordKey, step: str) -> None:
    code, meaning = lib.status(key)
    kind = "回单" if key.voucher_flag == "1" else "发送单"
    who = f"[{lib.party.name}]"
    print(f"  {who:<7} {key.vt_code} {kind} {key.voucher_no:<22} {step:<28} {int(code):>3}  {meaning}")


def pump(libraries: dict[str, VoucherLibrary]) -> None:
    """Let every library take its deliveries (verifying each) until the network is quiet."""
    for _ in range(8):
        outcomes: list[tuple[str, Outcome]] = []
        for lib in libraries.values():
            outcomes.extend((lib.party.name, o) for o in lib.poll())
        for name, outcome in outcomes:
            if not outcome.accepted:
                raise SystemExit(f"{name} rejected a message: {outcome.detail}")
            if "verified" in outcome.detail:
                print(f"      {name} verified on arrival: {outcome.detail}")
        if not outcomes:
            return


def out_key(vt: str, no: str, flag: str = "0") -> RecordKey:
    return RecordKey("out", flag, ADM, YEAR, vt, no)


def in_key(vt: str, no: str, flag: str = "0") -> RecordKey:
    return RecordKey("in", flag, ADM, YEAR, vt, no)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ezhifu-three-parties-") as tmp:
        libs = build(Path(tmp))
        fin, bank, pbc = libs["finance"], libs["bank"], libs["pbc"]
        ids: Ids = {"adm_div_code": ADM, "st_year": YEAR}
        day = date(2024, 5, 6)

        print("1. 5201 财政直接支付凭证: 财政 -> 代理银行, and its receipt")
        v5201 = sample_voucher("5201", details=2, seed=1, VouDate=day, StYear=YEAR)
        no = v5201.voucher_no
        fin.save(v5201, to="bank")
        show(fin, out_key("5201", no), "saved (unsigned draft)")
        fin.send("5201", [no], **ids)
        show(fin, out_key("5201", no), "signed, sealed, sent")
        pump(libs)
        show(fin, out_key("5201", no), "bank accepted it")
        envelope = bank.read("5201", **ids)
        unread = len(envelope.bodies) if envelope else 0
        print(f"      bank readVoucherAgain: {unread} voucher(s) not yet signed in")
        bank.confirm("5201", [no], **ids)
        pump(libs)
        show(fin, out_key("5201", no), "bank signed it in (签收)")
        bank.send_receipt(
            "5201",
            no,
            **ids,
            fields={"XPayDate": day, "XPayAmt": v5201.get("PayAmt"), "XAgentBusinessNo": "BK20240506000001"},
        )
        show(bank, in_key("5201", no), "receipt signed and sent")
        pump(libs)
        show(fin, out_key("5201", no), "receipt arrived")
        fin.confirm("5201", [no], receipts=True, **ids)
        pump(libs)
        show(bank, out_key("5201", no, "1"), "财政 signed the receipt in")

        print("\n2. 2301 申请划款凭证: 代理银行 -> 人民银行, receipt to the bank with a copy to 财政")
        v2301 = sample_voucher("2301", details=2, seed=2, VouDate=day, StYear=YEAR)
        no2301 = v2301.voucher_no
        bank.save(v2301, to="pbc")
        bank.send("2301", [no2301], **ids)
        show(bank, out_key("2301", no2301), "signed, sealed, sent")
        pump(libs)
        pbc.confirm("2301", [no2301], **ids)
        pump(libs)
        show(bank, out_key("2301", no2301), "人民银行 signed it in")
        pbc.send_receipt(
            "2301",
            no2301,
            **ids,
            fields={"XPaySndBnkNo": "011100000003", "XClearDate": day, "XPayAmt": v2301.get("PayAmt")},
            copies=["finance"],
        )
        pump(libs)
        show(bank, out_key("2301", no2301), "清算回单 arrived")
        show(fin, in_key("2301", no2301, "1"), "copy kept (original checked)")

        print("\n3. A 5201 with a wrong payee account: returned, discarded, corrected, re-sent")
        bad = sample_voucher("5201", details=1, seed=3, VouDate=day, StYear=YEAR, PayeeAcctNo="0000")
        no3 = bad.voucher_no
        fin.save(bad, to="bank")
        fin.send("5201", [no3], **ids)
        pump(libs)
        bank.confirm("5201", [no3], **ids)
        bank.return_voucher("5201", [no3], ["收款人账号不存在"], **ids)
        pump(libs)
        show(fin, out_key("5201", no3), "bank returned it (退回)")
        fin.discard("5201", [no3], **ids)
        show(fin, out_key("5201", no3), "discarded (作废)")
        pump(libs)
        show(bank, in_key("5201", no3), "bank saw the discard")
        fixed = bad.replace(PayeeAcctNo="6222020200001234567")
        fin.resend(fixed)
        show(fin, out_key("5201", no3), "corrected, re-sent (rev. 2)")
        pump(libs)
        bank.confirm("5201", [no3], **ids)
        bank.send_receipt(
            "5201",
            no3,
            **ids,
            fields={"XPayDate": day, "XPayAmt": fixed.get("PayAmt"), "XAgentBusinessNo": "BK2"},
        )
        pump(libs)
        show(fin, out_key("5201", no3), "receipt of revision 2")
        revisions = fin.store.revisions(out_key("5201", no3))
        print(f"      财政 keeps {len(revisions)} revisions of {no3}; history:")
        for entry in fin.history(out_key("5201", no3)):
            print(
                f"        {entry.seq:>2} {entry.action:<14} {entry.from_state or '-':>10} -> {entry.to_state}"
            )

        print("\n4. Reconciliation 3507 清算信息对账 -> 2507 (bank) / 5507 (财政)")
        cleared = pbc.records(
            direction="in", voucher_flag="0", vt_code="2301", date_from="20240501", date_to="20240531"
        )
        for party, suffix in (("bank", "B"), ("finance", "F")):
            statement = build_statement(
                entries_from_records(cleared),
                voucher_no=f"3507202405{suffix}",
                adm_div_code=ADM,
                st_year=YEAR,
                vou_date=date(2024, 6, 1),
                begin_date=date(2024, 5, 1),
                end_date=date(2024, 5, 31),
                tre_code="4200000000",
            )
            pbc.save(statement, to=party)
            pbc.send("3507", [statement.voucher_no], **ids)
        pump(libs)
        for party, answer_vt, own in (
            ("bank", "2507", bank.records(direction="out", voucher_flag="0", vt_code="2301")),
            ("finance", "5507", fin.records(direction="in", voucher_flag="1", vt_code="2301")),
        ):
            lib = libs[party]
            received = lib.read("3507", **ids)
            assert received is not None
            statement_body = received.bodies[0]
            lib.confirm("3507", [statement_body.voucher_no], **ids)
            answer, report = answer_statement(
                statement_body.voucher, entries_from_records(own), answer_vt_code=answer_vt
            )
            print(
                f"      {lib.party.name}: {len(statement_entries(statement_body.voucher))} listed, "
                f"{report.matched} matched -> XCheckResult={answer.get('XCheckResult')} "
                f"({answer.get('XCheckReason')}), XDiffNum={answer.get('XDiffNum')}"
            )
            lib.save(answer, to="pbc")
            lib.send(answer_vt, [answer.voucher_no], **ids)
            show(lib, out_key(answer_vt, answer.voucher_no), f"{answer_vt} answer sent")
        pump(libs)
        for answer_vt in ("2507", "5507"):
            for record in pbc.records(direction="in", vt_code=answer_vt):
                voucher = Envelope.from_bytes(record.envelope).bodies[0].voucher
                result = voucher.get("XCheckResult")
                print(
                    f"      人民银行 received {answer_vt} {record.key.voucher_no}: XCheckResult={result} "
                    f"({'相符' if result == '0' else '不符'})"
                )

        print("\n5. Fund monitoring (资金监控) over 财政's payments")
        payments = fin.records(direction="out", vt_code="5201")
        alerts = run_rules([AmountThreshold(Decimal("100000.00")), DuplicatePayment(window_days=3)], payments)
        for alert in alerts:
            print(f"      ALERT {alert.rule}: {alert.message}")
        print(f"      {len(payments)} payments checked, {len(alerts)} alert(s)")

        rejected = sum(len(lib.rejections()) for lib in libs.values())
        print(f"\nDone: every envelope was signed, sealed and verified on arrival; {rejected} rejection(s).")
        for lib in libs.values():
            lib.store.close()
        return 0 if rejected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
