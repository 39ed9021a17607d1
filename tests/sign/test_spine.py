"""The one result shape and the verification spine (issue 12 item 2): steps, phases, JSON, budget."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ezhifu.cli.verify_cmd import _print_text
from ezhifu.document.envelope import Envelope
from ezhifu.errors import InvalidInput
from ezhifu.pki.trust import TrustStore
from ezhifu.results import OUTCOMES, PHASES, ItemResult, Step, StepLog, phase_of
from ezhifu.sign import sign_envelope
from ezhifu.sign.cms_verify import CmsVerification, verify_detached
from ezhifu.testing.pki import TestPKI
from ezhifu.verify.describe import describe_envelope
from ezhifu.verify.diagnose import MAX_DIAGNOSIS_VERIFICATIONS, MAX_SIBLINGS_TRIED, DiagnosisBudget
from ezhifu.verify.envelope import verify_body, verify_envelope

STEP_NAMES = ["parse", "signature", "chain", "signing-time", "position", "sn", "maker-signature", "odd"]
steps_strategy = st.lists(
    st.builds(Step, st.sampled_from(STEP_NAMES), st.sampled_from(OUTCOMES), st.text(max_size=20)), max_size=12
)


@given(steps_strategy)
def test_valid_and_reason_come_from_the_steps(steps: list[Step]) -> None:
    item = ItemResult.from_steps("signature", "cz_dwfz", steps, intact=True, trusted=True)
    failed = [s for s in steps if s.outcome == "failed"]
    assert item.valid is (not failed)
    assert item.reason == (failed[0].en if failed else None)
    assert item.checks == tuple(s.check for s in steps)
    phases = item.phases
    assert list(phases) == list(PHASES)
    for phase, outcome in phases.items():
        mine = {s.outcome for s in steps if s.phase == phase}
        if "failed" in mine:
            assert outcome == "failed"
        elif not mine - {"not_checked"}:
            assert outcome == "not_checked"  # what was not checked is explicit
    json.dumps(item.to_dict())  # always JSON-ready


def test_a_valid_result_with_a_failed_step_is_refused() -> None:
    with pytest.raises(InvalidInput, match="inconsistent result"):
        ItemResult("seal", "x", True, None, True, True, steps=(Step("format", "failed", "broken"),))


def test_step_log_outcomes_and_legacy_pairs() -> None:
    log = StepLog()
    log.ok("parse", "ok (12 bytes)", bytes="12")
    log.not_checked("data-hash", "not checked: no data given")
    log.waived("chain", "not trusted, allowed by policy: self-signed")
    log.fail("signature", "does not verify")
    assert log.checks == [
        ("parse", "ok (12 bytes)"),
        ("data-hash", "not checked: no data given"),
        ("chain", "not trusted, allowed by policy: self-signed"),
        ("signature", "failed: does not verify"),
    ]
    assert log.failures == [("signature", "does not verify")] and log.reason == "does not verify"
    first = log.steps[0].to_dict()
    assert first == {
        "name": "parse",
        "phase": "parse",
        "outcome": "ok",
        "reason": {"zh": "CMS 结构：通过", "en": "ok (12 bytes)"},
        "evidence": {"bytes": "12"},
    }
    assert phase_of("seal-validity") == "time" and phase_of("unknown-step") == "parse"


def _signed(envelope: Envelope, pki: TestPKI) -> Envelope:
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    return Envelope.from_bytes(envelope.to_bytes())


def test_envelope_result_walks_the_spine(envelope: Envelope, rsa_pki: TestPKI) -> None:
    signed = _signed(envelope, rsa_pki)
    result = verify_envelope(
        signed, trust=TrustStore(roots=[rsa_pki.root_cert]), positions={"5201": {"cz_dwfz"}}
    )
    assert result.valid
    body = result.bodies[0]
    assert [s.name for s in body.steps] == ["decode", "attributes-match"]
    item = body.items[0]
    cms_steps = ["parse", "content-type", "detached", "signer-certificate", "algorithms", "signature"]
    assert [s.name for s in item.steps] == [*cms_steps, "policy", "time-basis", "chain", "sn", "position"]
    assert item.phases == {
        "parse": "ok",
        "consistency": "ok",
        "intact": "ok",
        "trusted": "ok",
        # no signed signing-time attribute: nothing claimed; the time basis (the verification
        # time, issue 13 item 2) is recorded
        "time": "ok",
        "position": "ok",
    }
    assert item.anchors and "root" in item.anchors[0]
    data = json.loads(result.to_json())
    (first,) = data["bodies"][0]["items"]
    assert first["phases"]["time"] == "ok"
    bases = [s["evidence"].get("basis") for s in first["steps"] if s["name"] == "time-basis"]
    assert bases == ["verification"]
    assert [s["name"] for s in first["steps"]][-2:] == ["sn", "position"]
    assert first["checks"][-1] == ["position", "ok"]


def test_cms_verification_is_an_item_result(envelope: Envelope, sm2_pki: TestPKI) -> None:
    signed = _signed(envelope, sm2_pki)
    body = signed.bodies[0]
    der = base64.b64decode(body.signatures[0].value)
    result = verify_detached(der, body.voucher_b64.encode(), trust=TrustStore(roots=[sm2_pki.root_cert]))
    assert isinstance(result, CmsVerification) and isinstance(result, ItemResult)
    assert result.valid and result.kind == "signature" and result.signer is not None
    broken = verify_detached(der, b"other", trust=TrustStore(roots=[sm2_pki.root_cert]))
    assert not broken.valid and broken.steps[-1].name == "signature" and broken.steps[-1].outcome == "failed"
    assert broken.phases["intact"] == "failed" and broken.phases["trusted"] == "ok"


def test_diagnoses_share_one_bounded_budget(make_envelope: Callable[..., Envelope], rsa_pki: TestPKI) -> None:
    """Forty bodies whose signatures were all rotated by one: each failure would try up to
    MAX_SIBLINGS_TRIED siblings, but the envelope spends at most MAX_DIAGNOSIS_VERIFICATIONS."""
    count = 40
    signed = _signed(make_envelope(count), rsa_pki)
    bodies = signed.bodies
    rotated = [b.signatures for b in bodies]
    for i, b in enumerate(bodies):
        b.signatures = rotated[(i + 1) % count]
    trust = TrustStore(roots=[rsa_pki.root_cert])
    budget = DiagnosisBudget()
    results = [verify_body(b, trust=trust, siblings=bodies, budget=budget) for b in bodies]
    assert budget.spent == MAX_DIAGNOSIS_VERIFICATIONS == 32 and budget.remaining == 0
    reasons = [r.items[0].reason or "" for r in results]
    assert all(not r.valid for r in results)
    explained = [r for r in reasons if r.startswith("signature was made over the text of another voucher")]
    # body 1's signature belongs to body 2, found at the 2nd sibling tried; the budget covers
    # the first bodies, then the signature keeps the reason of its failed step
    assert explained and reasons[0].startswith(
        "signature was made over the text of another voucher (VoucherBody 2"
    )
    assert reasons[-1].startswith("signed content differs from the voucher text")
    (diagnosed,) = [s for s in results[0].items[0].steps if s.outcome == "failed"]
    assert diagnosed.name == "signature" and dict(diagnosed.evidence)["cms_reason"].startswith(
        "signed content"
    )
    assert MAX_SIBLINGS_TRIED < MAX_DIAGNOSIS_VERIFICATIONS
    # verify_envelope draws on one budget for the whole envelope, with the same outcome
    again = verify_envelope(signed, trust=trust)
    assert [b.items[0].reason for b in again.bodies] == [r.items[0].reason for r in results]


def test_cli_text_says_what_was_not_checked(
    envelope: Envelope, rsa_pki: TestPKI, capsys: pytest.CaptureFixture[str]
) -> None:
    result = verify_envelope(_signed(envelope, rsa_pki), trust=TrustStore(roots=[rsa_pki.root_cert]))
    _print_text("e.xml", result)
    out = capsys.readouterr().out
    assert "signature at cz_dwfz by " in out and ": ok (not checked: position)" in out
    # issue 13 item 2: the time basis is said (here the verification time)
    assert "      time basis: verification\n" in out


def test_describe_envelope_pairs_marks_with_their_items(envelope: Envelope, rsa_pki: TestPKI) -> None:
    signed = _signed(envelope, rsa_pki)
    sign_envelope(signed, rsa_pki.signer(), "rh_zqz")
    result = verify_envelope(signed, trust=TrustStore(roots=[rsa_pki.root_cert]))
    views = describe_envelope(signed, result)
    assert [v.body.voucher_no for v in views] == [b.voucher_no for b in signed.bodies]
    for view, body_result in zip(views, result.bodies, strict=True):
        assert view.result is body_result
        assert [(e.no, i.position if i else None) for e, i in view.signatures] == [
            ("cz_dwfz", "cz_dwfz"),
            ("rh_zqz", "rh_zqz"),
        ]
        assert view.stamps == ()
    unverified = describe_envelope(signed)
    assert all(v.result is None and all(i is None for _, i in v.signatures) for v in unverified)
