"""One reader (issue 14 item 1): the in-memory and the streaming reader agree on every document.

Every envelope-shaped case of the hostile corpus, a list of findings from the attack report
(issue 14) and hypothesis mutations of valid envelopes are given to
:meth:`Envelope.from_bytes` and to :func:`ezhifu.verify.stream.iter_bodies` (with a small
chunk size, so markup straddles chunks); both must accept, or both refuse with the same
outcome: the grammar code, path and line of an
:class:`~ezhifu.errors.EnvelopeGrammarError`, the ``limit`` of an
:class:`~ezhifu.errors.InputLimitExceeded`, otherwise the error class.
"""

from __future__ import annotations

import io

import pytest
from corpus import build_corpus, sample_envelope_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import EnvelopeGrammarError, EzhifuError, InputLimitExceeded
from ezhifu.verify.stream import iter_bodies

Outcome = tuple[object, ...]


def _outcome(exc: EzhifuError | None) -> Outcome:
    if exc is None:
        return ("accepted",)
    if isinstance(exc, EnvelopeGrammarError):
        return ("grammar", exc.code, exc.path, exc.line)
    if isinstance(exc, InputLimitExceeded):
        return ("limit", exc.limit)
    return (type(exc).__name__,)


def in_memory(data: bytes) -> Outcome:
    try:
        Envelope.from_bytes(data)
    except EzhifuError as exc:
        return _outcome(exc)
    return _outcome(None)


def streamed(data: bytes, chunk_size: int = 97) -> Outcome:
    try:
        list(iter_bodies(io.BytesIO(data), chunk_size=chunk_size))
    except EzhifuError as exc:
        return _outcome(exc)
    return _outcome(None)


VALID = sample_envelope_bytes()
TWO = Envelope.build(Envelope.from_bytes(VALID).bodies * 2).to_bytes()
_HIDDEN = (
    b"<Ext><VoucherBody AdmDivCode='420000' StYear='2024' VtCode='5201' VoucherNo='X1'>"
    b"<VoucherFlag>0</VoucherFlag><Voucher>QUJD</Voucher></VoucherBody></Ext>"
)
#: The findings of issue 14 (1, 2, 5, 6) as documents.
FINDINGS: dict[str, bytes] = {
    "hidden-body-in-ext": VALID.replace(b"</VoucherBody>", _HIDDEN + b"</VoucherBody>", 1),
    "hidden-body-under-mof": VALID.replace(b"</MOF>", _HIDDEN + b"</MOF>"),
    "comment-in-voucher": VALID.replace(b"<Voucher>", b"<Voucher><!-- x -->", 1),
    "comment-between-bodies": TWO.replace(b"</VoucherBody>", b"</VoucherBody><!-- x -->", 1),
    "pi-in-body": VALID.replace(b"<Voucher>", b"<?x y?><Voucher>", 1),
    "cdata-in-voucher": VALID.replace(b"<Voucher>", b"<Voucher><![CDATA[]]>", 1),
    "text-under-mof": VALID.replace(b"<VoucherCount>", b"text<VoucherCount>", 1),
    "text-in-signature-list": VALID.replace(
        b"<VoucherFlag>", b"<SignatureList>t</SignatureList><VoucherFlag>"
    ),
    "xinclude": VALID.replace(
        b"</MOF>", b"<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd'/></MOF>"
    ),
    "namespaced-body": VALID.replace(b"<VoucherBody ", b"<n:VoucherBody xmlns:n='urn:x' ", 1).replace(
        b"</VoucherBody>", b"</n:VoucherBody>", 1
    ),
    "deep-17": VALID.replace(b"<Voucher>", b"<a>" * 17 + b"</a>" * 17 + b"<Voucher>", 1),
    "child-in-leaf": VALID.replace(b"<VoucherFlag>0", b"<VoucherFlag><VoucherBody/>0", 1),
    "attributes-50000": VALID.replace(
        b"<MOF>", b"<MOF " + b" ".join(b"a%d='1'" % i for i in range(50_000)) + b">", 1
    ),
    "long-attribute": VALID.replace(b"<MOF>", b"<MOF a='" + b"x" * 70_000 + b"'>", 1),
    "second-count": VALID.replace(b"</MOF>", b"<VoucherCount>1</VoucherCount></MOF>"),
    "count-mismatch": VALID.replace(b"<VoucherCount>1<", b"<VoucherCount>2<", 1),
    "no-body": b'<?xml version="1.0" encoding="GBK"?>\n<MOF><VoucherCount>0</VoucherCount></MOF>',
    "other-root": b"<Voucher/>",
}


def _envelope_cases() -> list[tuple[str, bytes]]:
    cases = [(c.name, c.make) for c in build_corpus() if c.target in ("envelope", "validate")]
    return [(name, make()) for name, make in cases]


@pytest.mark.parametrize(("name", "data"), _envelope_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_hostile_corpus_read_the_same_by_both_readers(name: str, data: bytes) -> None:
    assert_agree(data, 1 << 16)


@pytest.mark.parametrize("name", sorted(FINDINGS))
def test_findings_refused_the_same_way_by_both_readers(name: str) -> None:
    data = FINDINGS[name]
    first = in_memory(data)
    assert first != ("accepted",), name
    assert streamed(data) == first
    assert streamed(data, chunk_size=1 << 16) == first


def test_hidden_body_refused_at_ext_with_its_line() -> None:
    data = FINDINGS["hidden-body-in-ext"]
    line = data[: data.index(b"<Ext>")].count(b"\n") + 1
    assert in_memory(data) == ("grammar", "unknown-element", "/MOF/VoucherBody[1]/Ext", line)


def test_valid_envelopes_accepted_by_both() -> None:
    for data in (VALID, TWO):
        assert in_memory(data) == streamed(data) == ("accepted",)


_FRAGMENTS = [
    b"<!-- c -->",
    b"<?pi x?>",
    b"<![CDATA[x]]>",
    b"text",
    b" ",
    b"<Ext/>",
    b"<Voucher>QUJD</Voucher>",
    b"<VoucherFlag>1</VoucherFlag>",
    b"<VoucherCount>1</VoucherCount>",
    b"<Signature No='a' SN='1'>QUJD</Signature>",
    b"<SignatureList/>",
    b"<Ext>" + _HIDDEN + b"</Ext>",
    b"&amp;",
    b"</Voucher>",
    b"<",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from([VALID, TWO]))
    cuts = [i for i in range(len(base)) if base[i : i + 1] == b"<"]
    kind = draw(st.sampled_from(["insert", "delete", "duplicate"]))
    at = draw(st.sampled_from(cuts))
    if kind == "insert":
        return base[:at] + draw(st.sampled_from(_FRAGMENTS)) + base[at:]
    end = base.find(b">", at) + 1
    if kind == "delete":
        return base[:at] + base[end:]
    return base[:end] + base[at:end] + base[end:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(), chunk=st.sampled_from([7, 64, 1 << 16]))
def test_mutations_read_the_same_by_both_readers(data: bytes, chunk: int) -> None:
    assert_agree(data, chunk)


def assert_agree(data: bytes, chunk: int = 97) -> None:
    """Both accept, or both refuse with the same outcome. One exception, by the nature of
    streaming: a document that is not well-formed is refused by the in-memory parser before
    any grammar check, while the streaming reader reports the first problem in document
    order, which may be a grammar problem before the syntax error; both refuse."""
    first, second = in_memory(data), streamed(data, chunk_size=chunk)
    if first[0] in ("InvalidInput", "DecodingError") and second != ("accepted",):
        return
    assert first == second


@pytest.mark.parametrize("text", [b"x", b"&amp;", b"&#65;"])
@pytest.mark.parametrize("where", ["after the last body", "between two bodies"])
def test_text_beside_a_body_refused_by_both_readers(text: bytes, where: str) -> None:
    """Found by the mutation test: the streaming reader freed a body with its tail, so text
    after the last <VoucherBody> passed there while the in-memory reader refused it."""
    if "between" in where:
        data = Envelope.build([sample_voucher("5201"), sample_voucher("5201")]).to_bytes()
        bad = data.replace(b"</VoucherBody>", b"</VoucherBody>" + text, 1)
    else:
        bad = sample_envelope_bytes().replace(b"</MOF>", text + b"</MOF>")
    assert in_memory(bad)[0] == "grammar"
    assert_agree(bad, chunk=7)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_markup_after_an_early_grammar_problem_is_reported_by_both_readers(chunk: int) -> None:
    """Found by the mutation test: ``<Ext/>`` before the XML declaration. The in-memory reader
    scans the bytes for markup before parsing (``markup-not-allowed``); the streaming reader met
    the root ``<Ext>`` first when its first chunk ended before ``<?xml`` (``not-an-envelope``).
    Now both report the markup, whatever the chunk size."""
    bad = b"<Ext/>" + sample_envelope_bytes()
    assert in_memory(bad) == ("grammar", "markup-not-allowed", "/", 1)
    assert streamed(bad, chunk_size=chunk) == in_memory(bad)
    late = sample_envelope_bytes().replace(b"<VoucherCount>", b"<Bogus/><VoucherCount>", 1) + b"<!--x-->"
    assert streamed(late, chunk_size=chunk)[:2] == in_memory(late)[:2] == ("grammar", "markup-not-allowed")
