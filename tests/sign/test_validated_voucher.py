"""Parse each document once (issue 17): ``validate`` hands its reading of every inner voucher to
``sign_body`` and to the later verification of the same body, which then do not parse it again.

What must hold: the reading is the model's (the same four attribute values, for every document
validate accepts), it stands only for the exact text it was read from, and every check still
runs: a relabelled or changed body is refused or fails exactly as without it.
"""

from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.fields import known_vt_codes
from ezhifu.document.rules import ENVELOPE_ATTRIBUTES, ValidatedVoucher
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import validate
from ezhifu.errors import EzhifuError, SigningError
from ezhifu.pki.trust import TrustStore
from ezhifu.sign import sign_body
from ezhifu.testing.pki import TestPKI
from ezhifu.verify.envelope import verify_body


def _model_attributes(body: VoucherBody) -> dict[str, str]:
    inner = body.voucher
    return {attr: inner.get(attr, "") or "" for attr in ENVELOPE_ATTRIBUTES}


def _envelope(*vt_codes: str, seed: int = 0) -> Envelope:
    return Envelope.build([sample_voucher(vt, seed=seed + i) for i, vt in enumerate(vt_codes)])


def test_validate_returns_one_reading_per_body_equal_to_the_model() -> None:
    env = _envelope("5201", "8202", "2301")
    read = validate(env.to_bytes())
    assert [r.text for r in read] == [b.voucher_b64 for b in env.bodies]
    again = Envelope.from_bytes(env.to_bytes())
    for reading, body in zip(read, again.bodies, strict=True):
        assert dict(reading.attributes) == _model_attributes(body)
    # a lone inner voucher has no envelope text to stand for
    assert validate(env.bodies[0].voucher_xml) == ()


def test_sign_body_adopts_the_reading_and_does_not_parse_again(sm2_pki: TestPKI) -> None:
    env = _envelope("5201")
    body = env.bodies[0]
    sign_body(body, sm2_pki.signer(), "cz_dwfz", validated=validate(env.to_bytes()))
    assert body._cache is None  # the model was never built
    trust = TrustStore(roots=[sm2_pki.root_cert])
    with_reading = verify_body(body, trust=trust)
    assert body._cache is None
    assert with_reading.valid
    # the same body without the reading: the same verdict and steps, through the model
    plain = dataclasses.replace(body)
    assert plain._validated is None
    without = verify_body(plain, trust=trust)
    assert plain._cache is not None
    assert without.to_dict() == with_reading.to_dict()


@pytest.mark.parametrize("attribute", list(ENVELOPE_ATTRIBUTES.values()))
def test_a_relabelled_body_is_still_refused(sm2_pki: TestPKI, attribute: str) -> None:
    env = _envelope("5201")
    read = validate(env.to_bytes())
    body = env.bodies[0]
    setattr(body, attribute, getattr(body, attribute) + "9")  # relabelled after validation
    with pytest.raises(SigningError, match="refusing to sign"):
        sign_body(body, sm2_pki.signer(), "cz_dwfz", validated=read)
    # and a verification of a body relabelled after signing fails, with the reading adopted
    env = _envelope("5201")
    body = env.bodies[0]
    sign_body(body, sm2_pki.signer(), "cz_dwfz", validated=validate(env.to_bytes()))
    setattr(body, attribute, getattr(body, attribute) + "9")
    result = verify_body(body, trust=TrustStore(roots=[sm2_pki.root_cert]))
    assert not result.valid
    assert any("attributes are not signed" in p for p in result.problems)


def test_a_reading_stands_only_for_its_exact_text(sm2_pki: TestPKI) -> None:
    a, b = _envelope("5201", seed=1), _envelope("5201", seed=2)
    read_a = validate(a.to_bytes())
    body_b = b.bodies[0]
    assert not body_b.adopt(read_a)  # another voucher's reading is not taken
    # a forged reading claiming body b's own attributes for other text changes nothing either
    forged = ValidatedVoucher(read_a[0].text, tuple((k, "x") for k in ENVELOPE_ATTRIBUTES))
    assert not body_b.adopt([forged])
    assert body_b.signed_attributes() == _model_attributes(body_b)
    # a reading adopted, then the text changed: the new text is parsed, the reading ignored
    body_a = a.bodies[0]
    assert body_a.adopt(read_a)
    body_a.voucher_b64 = body_b.voucher_b64
    assert body_a.signed_attributes() == _model_attributes(body_b)


def test_a_document_validate_refuses_gives_no_reading() -> None:
    env = _envelope("5201")
    env.bodies[0].vt_code = "5202"  # relabelled: an attribute-mismatch issue
    with pytest.raises(EzhifuError):
        validate(env.to_bytes())


_CLOSE = b"]]></VoucherNo>"
_EDITS = (
    lambda x: x,
    lambda x: x.replace(b"<AdmDivCode>", b"<!-- c --><AdmDivCode>", 1),
    lambda x: x.replace(b"</VtCode>", b"</VtCode>\n\n  ", 1),
    lambda x: x.replace(b"<Voucher>", b'<Voucher a="1">', 1),
    lambda x: x.replace(b"<StYear>", b"<StYear> ", 1),
    lambda x: x.replace(b"<VoucherNo>", b"<VoucherNo><![CDATA[", 1).replace(b"</VoucherNo>", _CLOSE, 1),
    lambda x: x.replace(b"<AdmDivCode>", b"<AdmDivCode>1</AdmDivCode><AdmDivCode>", 1),
    lambda x: x.replace(b"<VtCode>", b"<?pi x?><VtCode>", 1),
    lambda x: x.replace(b"</Voucher>", b"<VtCode>5201</VtCode></Voucher>", 1),
    lambda x: x.replace(b"<VoucherNo>", b'<VoucherNo b="2">', 1),
    lambda x: x.replace(b"</DetailList>", b"</DetailList>text", 1),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vt_code=st.sampled_from(known_vt_codes()),
    seed=st.integers(0, 10_000),
    details=st.integers(1, 4),
    edit=st.sampled_from(range(len(_EDITS))),
)
def test_every_accepted_reading_equals_the_model(vt_code: str, seed: int, details: int, edit: int) -> None:
    """Over generated vouchers of every type and edits of their inner XML (comments, blanks,
    attributes, CDATA, duplicates, text between elements): whenever validate accepts the
    envelope, its reading equals what the model reads, and the model reads it without error."""
    inner = _EDITS[edit](sample_voucher(vt_code, details=details, seed=seed).to_xml())
    body = VoucherBody(
        adm_div_code="", st_year="", vt_code="", voucher_no="", voucher_b64=base64.b64encode(inner).decode()
    )
    try:
        model = _model_attributes(body)
    except EzhifuError:
        model = None
    if model is not None:
        for attr, name in ENVELOPE_ATTRIBUTES.items():
            setattr(body, name, model[attr])
    data = Envelope(bodies=[body]).to_bytes()
    try:
        read = validate(data)
    except EzhifuError:
        return
    assert model is not None, "validate accepted a voucher the model refuses"
    again = Envelope.from_bytes(data).bodies[0]
    assert again.adopt(read)
    assert again.signed_attributes() == model
