"""iter_errors / is_valid / validate on hostile parts (issue 14 item 5).

A document that parses is answered with issues, never an exception: a hostile inner voucher is a
``hostile-input`` issue, non-canonical Base64 and unknown ``VoucherBody`` attributes are
reported, the number of issues is bounded ("and K more"). A document that cannot be read at all
is one issue (its code, line and the reader's refusal as reason), never an exception either: only
misuse of the API (an argument of the wrong type, an unknown schema version or level) raises.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import Envelope
from ezhifu.document.issues import UNREADABLE_CODES
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import MAX_ISSUES, is_valid, iter_errors, validate
from ezhifu.document.xmlparse import parse_xml
from ezhifu.errors import (
    HostileDocumentError,
    HostileInputError,
    InputLimitExceeded,
    InvalidInput,
    SchemaValidationError,
)

VALID = Envelope.build([sample_voucher("5201")]).to_bytes()


def _with_inner(inner: bytes) -> bytes:
    envelope = Envelope.build([sample_voucher("5201")])
    envelope.bodies[0].voucher_b64 = base64.b64encode(inner).decode("ascii")
    return envelope.to_bytes()


def test_hostile_inner_voucher_is_an_issue_not_an_exception() -> None:
    data = _with_inner(b'<?xml version="1.0"?><!DOCTYPE Voucher [<!ENTITY a "b">]><Voucher>&a;</Voucher>')
    issues = list(iter_errors(data))
    assert [(i.code, i.path) for i in issues] == [("hostile-input", "/MOF/VoucherBody[1]/Voucher")]
    assert "DOCTYPE" in issues[0].reason
    assert is_valid(data) is False
    with pytest.raises(HostileDocumentError) as caught:
        validate(data)
    assert isinstance(caught.value, HostileInputError) and isinstance(caught.value, SchemaValidationError)
    assert [i.code for i in caught.value.issues] == ["hostile-input"]


def test_non_canonical_base64_is_reported() -> None:
    text = base64.b64encode(sample_voucher("5201").to_xml()).decode("ascii")
    assert text.endswith("=") and not text.endswith("==")  # one padding character: 2 spare bits
    last = text[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twisted = text[:-2] + alphabet[alphabet.index(last) | 1] + "="  # same bytes, other text
    assert twisted != text and base64.b64decode(twisted) == base64.b64decode(text)
    data = VALID.replace(text.encode(), twisted.encode())
    assert data != VALID
    codes = [i.code for i in iter_errors(data)]
    assert codes == ["base64-noncanonical"]
    assert is_valid(data) is False
    assert list(iter_errors(VALID)) == []


def test_line_wrapped_base64_is_canonical() -> None:
    text = base64.b64encode(sample_voucher("5201").to_xml()).decode("ascii")
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert list(iter_errors(VALID.replace(text.encode(), wrapped.encode()))) == []


def test_unknown_voucher_body_attribute_is_reported_with_its_value() -> None:
    data = VALID.replace(b"<VoucherBody ", b'<VoucherBody Payee="forged" ', 1)
    issues = list(iter_errors(data))
    assert [(i.code, i.path, i.value) for i in issues] == [
        ("envelope-value", "/MOF/VoucherBody[1]/@Payee", "forged")
    ]
    assert is_valid(data) is False


def test_50000_attributes_answer_with_the_named_limit() -> None:
    # Changed by issue 14 item 5 (validation never raises for a document): validate used to
    # raise InputLimitExceeded itself; the limit is now its reported issue, with the reader's
    # refusal (the named limit max_attributes) as the reason, inside the validation error.
    data = VALID.replace(b"<MOF>", b"<MOF " + b" ".join(b"a%d='1'" % i for i in range(50_000)) + b">", 1)
    with pytest.raises(InputLimitExceeded) as refused:
        parse_xml(data)  # the reader's own refusal (Envelope.from_bytes raises it too)
    assert refused.value.limit == "max_attributes"
    with pytest.raises(HostileDocumentError) as caught:
        validate(data)
    assert [(i.code, i.path, i.line, i.reason) for i in caught.value.issues] == [
        ("input-limit", "/", 2, str(refused.value))
    ]
    assert [(i.code, i.reason) for i in iter_errors(data)] == [("input-limit", str(refused.value))]
    assert is_valid(data) is False


def test_issues_are_bounded_then_and_k_more() -> None:
    # 1,020 unknown attributes: the xmlschema pass stops after MAX_XSD_ERRORS ("at least")
    envelope = Envelope.build([sample_voucher("5201", seed=i) for i in range(MAX_ISSUES + 20)])
    for body in envelope.bodies:
        body.extra_attributes = (("X", "1"),)
    issues = list(iter_errors(envelope.to_bytes()))
    assert len(issues) == MAX_ISSUES + 1
    assert issues[-1].code == "too-many-issues"
    assert "more issues not listed" in issues[-1].reason


_FRAGMENTS = [b"<!-- c -->", b"<Ext/>", b"text", b"<Voucher>QUJD</Voucher>", b"<", b"&amp;", b"<x a='1'/>"]


@settings(max_examples=60, deadline=None)
@given(at=st.integers(min_value=0, max_value=len(VALID)), fragment=st.sampled_from(_FRAGMENTS))
def test_iter_errors_reports_an_unreadable_document_as_its_issue(at: int, fragment: bytes) -> None:
    # Changed by issue 14 item 5: iter_errors used to raise the reader's error for a document
    # that cannot be read; it now reports that refusal (same reason) as the document's one issue.
    data = VALID[:at] + fragment + VALID[at:]
    issues = list(iter_errors(data))
    try:
        parse_xml(data)
    except InvalidInput as exc:  # the document itself cannot be read
        assert [(i.path, i.reason) for i in issues] == [("/", str(exc))]
        assert issues[0].code in UNREADABLE_CODES and isinstance(exc, UNREADABLE_CODES[issues[0].code])
        assert is_valid(data) is False
        return
    assert all(i.code for i in issues)


def _answers(data: bytes) -> None:
    """The three answer ``data`` without raising (validate: only its validation error)."""
    issues = list(iter_errors(data))
    assert all(isinstance(i.code, str) and i.code and i.reason for i in issues)
    assert is_valid(data) == (not issues)
    try:
        validate(data)
    except SchemaValidationError as exc:
        assert exc.issues
    else:
        assert is_valid(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _answers(data)


_PREFIXES = [b"", b'<?xml version="1.0" encoding="GBK"?>', b"\xef\xbb\xbf", b"<MOF>", b"<Voucher>"]


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.sampled_from(_PREFIXES),
    at=st.integers(min_value=0, max_value=len(VALID)),
    cut=st.integers(min_value=0, max_value=64),
    noise=st.binary(max_size=64),
)
def test_mutated_envelopes_and_inner_vouchers_never_raise(
    prefix: bytes, at: int, cut: int, noise: bytes
) -> None:
    _answers(prefix + VALID[:at] + noise + VALID[at + cut :])
    inner = sample_voucher("5201").to_xml()
    at_inner = at % (len(inner) + 1)
    _answers(_with_inner(inner[:at_inner] + noise + inner[at_inner + cut :]))
