"""Property tests across the layer: the libxml2 fast path and the xmlschema report agree on
arbitrary field values, and damaged input only ever raises ezhifu's own errors."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import Envelope
from ezhifu.document.fields import spec_for
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import is_valid, iter_errors
from ezhifu.errors import EzhifuError, InvalidInput

_BASE = sample_voucher("5201", details=2, seed=11)
_SPEC = spec_for("5201")
assert _SPEC is not None
_HEADER = [f.name for f in _SPEC.header if f.name != "VtCode"]
_DETAIL = [f.name for f in _SPEC.detail]
_ENVELOPE = Envelope.build([sample_voucher("5214", details=1, seed=3)]).to_bytes()

# values close to the grammar's edges: digits (ASCII and not), signs, dots, spaces, letters
_values = st.text(alphabet="0123456789.-+ eE,O２０٣\u3000中", max_size=12) | st.sampled_from(
    ["", "0.00", "-1.00", "12.345", "20240230", "20240510", "420000", "4200001", "x" * 301]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.dictionaries(st.sampled_from(_HEADER), _values, max_size=3),
    detail=st.dictionaries(st.sampled_from(_DETAIL), _values, max_size=2),
)
def test_fast_path_and_detailed_report_agree(header: dict[str, str], detail: dict[str, str]) -> None:
    rows = list(_BASE.details)
    rows[1] = rows[1].replace(**detail)
    voucher = _BASE.replace(details=rows, **header)
    data = voucher.to_xml()
    issues = list(iter_errors(data, engine="xmlschema"))
    assert is_valid(data) == (not issues), issues
    assert [(i.code, i.path) for i in iter_errors(data)] == [(i.code, i.path) for i in issues]
    for issue in issues:
        assert issue.line is not None and issue.path.startswith("/Voucher/")


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(_ENVELOPE) - 1), byte=st.integers(0, 255))
def test_damaged_envelopes_raise_only_ezhifu_errors(position: int, byte: int) -> None:
    data = _ENVELOPE[:position] + bytes([byte]) + _ENVELOPE[position + 1 :]
    with contextlib.suppress(InvalidInput):
        for body in Envelope.from_bytes(data).bodies:
            _ = body.voucher
    with contextlib.suppress(InvalidInput):
        list(iter_errors(data))
    assert isinstance(is_valid(data), bool)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_ezhifu_errors(data: bytes) -> None:
    for action in (Envelope.from_bytes, Voucher.from_xml, lambda d: list(iter_errors(d))):
        try:
            action(data)
        except EzhifuError as exc:
            assert isinstance(exc, InvalidInput)
