"""The decoded-seal cache of ezhifu.seal.model (issue 9) is keyed by the exact seal bytes and
changes no result: a seal decoded once is shared, a seal differing in one byte is decoded (and
checked) again, and a seal signature reads the same with and without the cached seal."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from seal_helpers import SealWorld

from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import SealFormatError
from ezhifu.seal import model
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.containers import parse_seal, parse_signature
from ezhifu.seal.verify import verify_stamp


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_seal_is_shared_by_exact_bytes(world: SealWorld, version: str) -> None:
    seal_der = world.seal(version)
    first = parse_seal(seal_der)
    assert parse_seal(bytes(seal_der)) is first
    assert first.dump() == seal_der


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_signature_reads_the_same_with_and_without_the_cached_seal(
    world: SealWorld, body_factory: Callable[[str], VoucherBody], version: str
) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(version), world.holder.signer(), "cz_dwgz")
    der = base64.b64decode(stamp.value)
    model._SEALS.clear()
    cold = parse_signature(der)
    warm = parse_signature(der)  # the embedded seal now comes from the cache
    assert warm.seal is cold.seal
    assert warm == cold
    assert verify_stamp(body, stamp, trust=world.trust).valid


def test_a_seal_differing_in_one_byte_is_decoded_again(world: SealWorld) -> None:
    seal_der = world.seal("v4")
    cached = parse_seal(seal_der)
    # break the structure of the seal inside a signature: the cache must not hide it
    broken = bytearray(seal_der)
    broken[2] ^= 0xFF  # the outer length
    with pytest.raises(SealFormatError):
        parse_seal(bytes(broken))
    assert parse_seal(seal_der) is cached


def test_tampered_seal_inside_a_stamp_is_not_served_from_the_cache(
    world: SealWorld, body_factory: Callable[[str], VoucherBody]
) -> None:
    body = body_factory("5201")
    seal_der = world.seal("v4")
    stamp = apply_seal(body, seal_der, world.holder.signer(), "cz_dwgz")
    assert verify_stamp(body, stamp, trust=world.trust).valid  # seal now cached
    der = base64.b64decode(stamp.value)
    name = "测试财政局国库支付业务专用章".encode()
    at = der.find(name)
    assert at > 0
    tampered = bytearray(der)
    tampered[at + 1] ^= 0x01  # another seal name: another seal, and the maker signature breaks
    stamp2 = type(stamp)(no=stamp.no, sn=stamp.sn, value=base64.b64encode(bytes(tampered)).decode())
    result = verify_stamp(body, stamp2, trust=world.trust)
    assert not result.valid
    assert dict(result.checks)["maker-signature"].startswith("failed")
