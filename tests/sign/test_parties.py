"""Issue 13 items 3-4: parties bound to positions, envelope-level facts (docs/parties.md).

Each case failed on main before the parties file existed (a position bound to nothing, a
replayed body, unsigned fields presented like signed ones) and is checked through the API and
through ``ezhifu verify --json``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli as main
from ezhifu.document.envelope import Envelope, SignatureElement
from ezhifu.errors import ConfigurationError
from ezhifu.pki.keys import dump_certificates
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.results import EnvelopeResult
from ezhifu.sign import sign_envelope
from ezhifu.testing.pki import TestPKI
from ezhifu.verify.envelope import verify_envelope
from ezhifu.verify.parties import Parties

PARTIES = """\
[parties.finance]                 # 财政
certs = ["finance.pem"]
[parties.pbc]                     # 人民银行
anchors = ["pbc-ca.pem"]
[positions.5201]
cz_dwfz  = {{ party = "finance", kind = "signature", required = true }}
rh_zqz   = {{ party = "pbc", kind = "signature", on_receipt = true }}
cz_dwgz  = {{ party = "finance", kind = "seal"{gz} }}
"""


@pytest.fixture
def world(tmp_path: Path, rsa_pki: TestPKI) -> dict[str, object]:
    """Finance signs with the PKI's leaf (pinned); the PBC's signer is a second leaf of the same
    CA, bound through an anchor file naming that CA."""
    pbc_cert, pbc_key = rsa_pki.issue_leaf("pbc signer")
    (tmp_path / "finance.pem").write_bytes(dump_certificates([rsa_pki.leaf_cert]))
    (tmp_path / "pbc-ca.pem").write_bytes(dump_certificates([rsa_pki.issuing_cert]))
    (tmp_path / "roots.pem").write_bytes(dump_certificates([rsa_pki.root_cert]))
    (tmp_path / "parties.toml").write_text(PARTIES.format(gz=""), encoding="utf-8")
    return {
        "dir": tmp_path,
        "finance": rsa_pki.signer(),
        "pbc": SoftwareSigner(pbc_key, pbc_cert),
        "trust": TrustStore(roots=[rsa_pki.root_cert]),
        "parties": Parties.load(tmp_path / "parties.toml"),
    }


def _check(world: dict[str, object], envelope: Envelope) -> tuple[EnvelopeResult, dict[str, Any]]:
    data = envelope.to_bytes()
    trust = world["trust"]
    assert isinstance(trust, TrustStore)
    parties = world["parties"]
    assert isinstance(parties, Parties)
    result = verify_envelope(data, trust=trust, parties=parties)
    folder = world["dir"]
    assert isinstance(folder, Path)
    (folder / "env.xml").write_bytes(data)
    out = CliRunner().invoke(
        main,
        [
            "verify",
            str(folder / "env.xml"),
            "--trust",
            str(folder / "roots.pem"),
            "--parties",
            str(folder / "parties.toml"),
            "--json",
        ],
    )
    report = json.loads(out.output)
    assert report["parties_checked"] is True
    assert report["valid"] is result.valid and out.exit_code == (0 if result.valid else 1)
    return result, report


def _signed(world: dict[str, object], envelope: Envelope, *pairs: tuple[str, str]) -> Envelope:
    for who, position in pairs:
        signer = world[who]
        assert isinstance(signer, SoftwareSigner)
        sign_envelope(envelope, signer, position)
    return Envelope.from_bytes(envelope.to_bytes())


def test_each_party_at_its_own_position_is_valid(world: dict[str, object], envelope: Envelope) -> None:
    result, report = _check(world, _signed(world, envelope, ("finance", "cz_dwfz"), ("pbc", "rh_zqz")))
    assert result.valid and result.parties_checked
    for body in report["bodies"]:
        parties = [s["evidence"] for i in body["items"] for s in i["steps"] if s["name"] == "party"]
        assert parties == [{"party": "finance"}, {"party": "pbc"}]


def test_a_signature_by_another_party_is_refused(world: dict[str, object], envelope: Envelope) -> None:
    result, report = _check(world, _signed(world, envelope, ("pbc", "cz_dwfz")))
    assert not result.valid
    reason = result.bodies[0].items[0].reason or ""
    assert "is not of party 'finance'" in reason
    assert "is not of party 'finance'" in json.dumps(report)
    # on main the same envelope is valid: the position table alone binds nothing
    trust = world["trust"]
    assert isinstance(trust, TrustStore)
    plain = verify_envelope(envelope.to_bytes(), trust=trust, positions={"5201": {"cz_dwfz"}})
    assert plain.bodies[0].items[0].valid and not plain.parties_checked


def test_a_signature_at_a_seal_position_is_refused(world: dict[str, object], envelope: Envelope) -> None:
    result, _ = _check(world, _signed(world, envelope, ("finance", "cz_dwfz"), ("pbc", "cz_dwgz")))
    reasons = [i.reason for i in result.bodies[0].items]
    assert reasons[0] is None
    assert "takes a seal, not a signature" in (reasons[1] or "")


def test_one_signature_is_not_counted_at_two_positions(world: dict[str, object], envelope: Envelope) -> None:
    signed = _signed(world, envelope, ("finance", "cz_dwfz"))
    for body in signed.bodies:
        first = body.signatures[0]
        body.signatures.append(SignatureElement("rh_zqz", first.sn, first.value))
    result, _ = _check(world, Envelope.from_bytes(signed.to_bytes()))
    second = result.bodies[0].items[1]
    assert not second.valid and "already counted at position 'cz_dwfz'" in (second.reason or "")


def test_a_body_missing_a_required_position_is_refused(world: dict[str, object], envelope: Envelope) -> None:
    result, report = _check(world, _signed(world, envelope, ("pbc", "rh_zqz")))
    assert not result.valid
    assert any("required position 'cz_dwfz'" in p for p in result.bodies[0].problems)
    assert any("required position 'cz_dwfz'" in p for p in report["bodies"][0]["problems"])


def test_a_receipt_missing_an_on_receipt_position_is_refused(
    world: dict[str, object], envelope: Envelope
) -> None:
    sent = _signed(world, envelope, ("finance", "cz_dwfz"))
    result, _ = _check(world, sent)
    assert result.valid  # a sent voucher needs no bank position
    receipt = copy.deepcopy(sent)
    for body in receipt.bodies:
        body.voucher_flag = "1"
    result, report = _check(world, Envelope.from_bytes(receipt.to_bytes()))
    assert not result.valid
    assert any("receipt (VoucherFlag 1) lacks position 'rh_zqz'" in p for p in result.bodies[0].problems)
    assert report["bodies"][0]["unsigned"]["VoucherFlag"] == "1"


def test_without_a_parties_file_positions_are_not_bound(world: dict[str, object], envelope: Envelope) -> None:
    signed = _signed(world, envelope, ("finance", "cz_dwfz"))
    folder = world["dir"]
    assert isinstance(folder, Path)
    (folder / "env.xml").write_bytes(signed.to_bytes())
    args = ["verify", str(folder / "env.xml"), "--trust", str(folder / "roots.pem")]
    report = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert report["parties_checked"] is False
    text = CliRunner().invoke(main, args).output
    assert "parties not checked: positions were not bound to parties" in text
    assert "unsigned (no signature covers them): VoucherFlag='0'" in text


def test_a_body_twice_in_one_envelope_is_a_problem(world: dict[str, object], envelope: Envelope) -> None:
    signed = _signed(world, envelope, ("finance", "cz_dwfz"))
    signed.bodies.append(copy.deepcopy(signed.bodies[0]))
    result, report = _check(world, Envelope.from_bytes(signed.to_bytes()))
    assert not result.valid and all(b.valid for b in result.bodies)
    assert result.problems == (
        f"VoucherBody 3 repeats VtCode 5201 VoucherNo {signed.bodies[0].voucher.voucher_no} of VoucherBody 1",
        "VoucherBody 3 repeats the signed voucher text of VoucherBody 1",
    )
    assert report["problems"] == list(result.problems)
    trust = world["trust"]
    assert isinstance(trust, TrustStore)
    assert not verify_envelope(signed.to_bytes(), trust=trust).valid  # without parties too


def test_positions_follow_the_signed_vt_code(world: dict[str, object], envelope: Envelope) -> None:
    signed = _signed(world, envelope, ("finance", "cz_dwfz"))
    for body in signed.bodies:
        body.vt_code = "8202"  # relabelled: no parties positions for 8202 are used
    result, _ = _check(world, Envelope.from_bytes(signed.to_bytes()))
    item = result.bodies[0].items[0]
    assert [s.outcome for s in item.steps if s.name == "party"] == ["ok"]  # bound by signed 5201


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[parties.a]\ncerts = ["finance.pem"]\nkey = 1\n', "parties.a: .*unknown key"),
        ("[parties.a]\n", "parties.a: .*needs 'certs' or 'anchors'"),
        ('[parties.a]\ncerts = ["missing.pem"]\n', r"parties.a.certs\[0\]: .*cannot read missing.pem"),
        ('[parties.a]\ncerts = "finance.pem"\n', "parties.a.certs: .*list of file names"),
        (
            '[parties.a]\ncerts = ["finance.pem"]\n[positions.5201]\np = { party = "b", kind = "seal" }\n',
            "positions.5201.p: .*unknown party 'b'",
        ),
        ('[parties.a]\ncerts = ["finance.pem"]\n[positions.5201]\np = { party = "a" }\n', "needs kind"),
        (
            '[parties.a]\ncerts = ["finance.pem"]\n[positions.5201]\np = { party = "a", kind = "seal", '
            'required = "yes" }\n',
            "booleans",
        ),
        ("[parties.a\n", "line 1"),
    ],
)
def test_bad_parties_files_name_file_and_key(world: dict[str, object], text: str, match: str) -> None:
    folder = world["dir"]
    assert isinstance(folder, Path)
    path = folder / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=match):
        Parties.load(path)


def test_the_parties_positions_are_the_position_table(world: dict[str, object]) -> None:
    parties = world["parties"]
    assert isinstance(parties, Parties)
    assert parties.positions.as_positions() == {"5201": frozenset({"cz_dwfz", "rh_zqz", "cz_dwgz"})}
    entry = parties.positions.positions("5201")["cz_dwfz"]
    assert (entry.party, entry.kind, entry.required, entry.on_receipt) == (
        "finance",
        "signature",
        True,
        False,
    )


def test_the_html_view_says_whether_parties_were_checked(
    world: dict[str, object], envelope: Envelope
) -> None:
    from ezhifu.report.html import render_envelope_html

    signed = _signed(world, envelope, ("finance", "cz_dwfz"))
    trust, parties = world["trust"], world["parties"]
    assert isinstance(trust, TrustStore) and isinstance(parties, Parties)
    bound = render_envelope_html(signed, result=verify_envelope(signed, trust=trust, parties=parties))
    unbound = render_envelope_html(signed, result=verify_envelope(signed, trust=trust))
    notice = "Positions were not bound to parties"
    assert notice not in bound and notice in unbound
    assert "未签名 unsigned" in bound  # VoucherFlag is shown as unsigned


def test_the_pytest_plugin_reads_the_same_parties_file(world: dict[str, object], envelope: Envelope) -> None:
    from ezhifu.testing.pytest_plugin import voucher_problems

    folder, trust = world["dir"], world["trust"]
    assert isinstance(folder, Path) and isinstance(trust, TrustStore)
    wrong = _signed(world, envelope, ("pbc", "cz_dwfz")).to_bytes()
    assert not any("is not of party" in p for p in voucher_problems(wrong, trust=trust))
    problems = voucher_problems(wrong, trust=trust, parties=folder / "parties.toml")
    assert any("is not of party 'finance'" in p for p in problems)
