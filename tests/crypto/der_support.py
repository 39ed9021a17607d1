"""DER test material shared by the differential tests of the fast readers: the primitive
elements of a DER value, and hypothesis mutations of its bytes."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from ezhifu.crypto.der import fast_tlv

__all__ = ["mutate", "primitive_ranges"]


def primitive_ranges(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """The contents ranges of every primitive element below ``data[start:end]`` (plain DER)."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        item = fast_tlv(data, pos)
        if item is None or item[4] > end:
            return out
        out.extend(primitive_ranges(data, item[3], item[4]) if item[1] else [(item[3], item[4])])
        pos = item[4]
    return out


_LENGTH_BYTES = [0x80, 0x81, 0x82, 0x84, 0x85, 0x7F, 0x00, 0xFF]
_TAG_BYTES = [0x02, 0x04, 0x05, 0x06, 0x30, 0x31, 0xA0, 0xA1, 0x80, 0x1F]


def mutate(draw: st.DrawFn, seed: bytes, *, rounds: int, ops: Sequence[str]) -> bytes:
    """``seed`` with 1..``rounds`` of ``ops`` applied: flip a bit, insert or delete bytes,
    truncate, put a length byte or (``tag``) a tag byte somewhere."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, rounds))):
        op = draw(st.sampled_from(list(ops)))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 4))]
        elif op == "truncate":
            del data[pos:]
        elif op == "length" and data:
            data[pos] = draw(st.sampled_from(_LENGTH_BYTES))
        elif op == "tag" and data:
            data[pos] = draw(st.sampled_from(_TAG_BYTES))
    return bytes(data)
