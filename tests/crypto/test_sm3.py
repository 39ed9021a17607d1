"""SM3 (GB/T 32905-2016) and the hash_data helper.

Vectors: GB/T 32905-2016 Annex A examples 1 and 2, as carried by OpenSSL
test/recipes/30-test_evp_data/evpmd_sm3.txt and GmSSL tests/sm3test.c (seal_sm2.md §6.1).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sm2_fixtures import openssl

from ezhifu.crypto import sm3 as sm3_module
from ezhifu.crypto.sm3 import DIGEST_SIZES, hash_data, new_hash, sm3, sm3_backend
from ezhifu.errors import EzhifuError, InvalidInput, UnsupportedAlgorithm

# GB/T 32905-2016 Annex A.1 and A.2.
VECTORS = [
    (b"abc", "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0"),
    (b"abcd" * 16, "DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732"),
]


@pytest.mark.parametrize(("message", "expected"), VECTORS)
def test_sm3_standard_vectors(message: bytes, expected: str) -> None:
    assert sm3(message) == bytes.fromhex(expected)
    assert hash_data("sm3", message) == bytes.fromhex(expected)
    assert hash_data("SM3", bytearray(message)) == bytes.fromhex(expected)


@pytest.mark.parametrize(("message", "expected"), VECTORS)
def test_sm3_cryptography_fallback_matches(
    monkeypatch: pytest.MonkeyPatch, message: bytes, expected: str
) -> None:
    """The path used when hashlib has no SM3 (cryptography's hashes.SM3) gives the same values."""
    monkeypatch.setattr(sm3_module, "_HASHLIB_SM3", False)
    assert sm3_backend() == "cryptography"
    assert sm3(message) == bytes.fromhex(expected)
    hasher = new_hash("sm3")
    hasher.update(message[:1])
    hasher.update(message[1:])
    assert hasher.digest() == bytes.fromhex(expected)
    assert hasher.hexdigest() == expected.lower()  # digest() twice: the context is not consumed


def test_sm3_matches_openssl_cli() -> None:
    data = bytes(range(256)) * 41  # crosses many 64-byte blocks, odd length tail
    out = openssl("dgst", "-sm3", "-binary", data=data).stdout
    assert sm3(data) == out


@pytest.mark.parametrize("name", ["sha1", "sha256", "sha384", "sha512", "SHA-256", "sha_512"])
def test_hash_data_sha_family_matches_hashlib(name: str) -> None:
    data = b"treasury voucher" * 10
    key = name.lower().replace("-", "").replace("_", "")
    assert hash_data(name, data) == hashlib.new(key, data).digest()
    assert len(hash_data(name, data)) == DIGEST_SIZES[key]


@given(st.lists(st.binary(max_size=200), max_size=8), st.sampled_from(sorted(DIGEST_SIZES)))
@settings(max_examples=60, deadline=None)
def test_incremental_equals_one_shot(chunks: list[bytes], name: str) -> None:
    hasher = new_hash(name)
    for chunk in chunks:
        hasher.update(chunk)
    assert hasher.digest() == hash_data(name, b"".join(chunks))
    assert hasher.digest_size == DIGEST_SIZES[name]


@pytest.mark.parametrize("name", ["md5", "sm4", "sha3-256", ""])
def test_unknown_digest_is_refused(name: str) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="unsupported digest"):
        hash_data(name, b"x")


def test_non_bytes_input_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be bytes, got str"):
        sm3("abc")  # type: ignore[arg-type]
    with pytest.raises(EzhifuError, match="digest name must be a string"):
        hash_data(None, b"x")  # type: ignore[arg-type]
