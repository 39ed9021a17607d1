"""A GB/T 38540-2020 SES_Signature made by ezhifu, checked by an independent path.

The test follows the standard's verification steps (GB/T 38540-2020 clause 7.3, as reconstructed in
seal_sm2.md §4.4) by slicing the DER bytes itself (a 20-line TLV reader, no asn1crypto, no ezhifu
parser) and lets the ``openssl`` CLI do the SM2 verifications with the default distinguishing ID
``1234567812345678`` (GM/T 0009-2012 clause 10; OpenSSL 3.0 would otherwise use an empty ID) and
the SM3 hash of the protected data. Negative controls: a flipped byte and the empty ID both fail.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from seal_helpers import SealWorld

from ezhifu.document.envelope import VoucherBody
from ezhifu.seal.apply import apply_seal

pytestmark = pytest.mark.interop

BodyFactory = Callable[[str], VoucherBody]


def tlvs(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """Split concatenated DER TLVs into (tag byte, whole TLV, contents); definite lengths only."""
    out = []
    pos = 0
    while pos < len(data):
        tag = data[pos]
        first = data[pos + 1]
        if first < 0x80:
            length, header = first, 2
        else:
            count = first & 0x7F
            length = int.from_bytes(data[pos + 2 : pos + 2 + count], "big")
            header = 2 + count
        end = pos + header + length
        assert end <= len(data), "truncated TLV"
        out.append((tag, data[pos:end], data[pos + header : end]))
        pos = end
    return out


def children(tlv: bytes) -> list[tuple[int, bytes, bytes]]:
    [(_tag, _whole, contents)] = tlvs(tlv)
    return tlvs(contents)


def bit_string(contents: bytes) -> bytes:
    assert contents[0] == 0, "BIT STRING with unused bits"
    return contents[1:]


def openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)


def public_key_pem(cert_der: bytes, tmp: Path, name: str) -> Path:
    cert = tmp / f"{name}.der"
    cert.write_bytes(cert_der)
    pub = tmp / f"{name}.pub.pem"
    done = openssl("x509", "-inform", "DER", "-in", str(cert), "-pubkey", "-noout", "-out", str(pub))
    assert done.returncode == 0, done.stderr
    return pub


def sm2_verify(pub: Path, message: bytes, signature_der: bytes, tmp: Path, *, distid: str | None) -> bool:
    msg = tmp / "msg.bin"
    sig = tmp / "sig.bin"
    msg.write_bytes(message)
    sig.write_bytes(signature_der)
    args = ["pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin", "-digest", "sm3"]
    if distid is not None:
        args += ["-pkeyopt", f"distid:{distid}"]
    done = openssl(*args, "-in", str(msg), "-sigfile", str(sig))
    return done.returncode == 0 and b"Signature Verified Successfully" in done.stdout


DEFAULT_ID = "1234567812345678"


def test_v4_stamp_verified_independently(world: SealWorld, body_factory: BodyFactory, tmp_path: Path) -> None:
    body = body_factory("5214")
    stamp = apply_seal(body, world.seal("v4"), world.holder.signer(), "cz_dwgz")
    der = base64.b64decode(stamp.value)

    # Step 1: format. SES_Signature = SEQUENCE { toSign, cert, signatureAlgID, signature [, timeStamp] }.
    top = children(der)
    assert [t for t, _, _ in top] == [0x30, 0x04, 0x06, 0x03]
    (_, tbs_tlv, _), (_, _, signer_cert), (_, _, alg_oid), (_, _, sig_bits) = top
    assert alg_oid == bytes.fromhex("2A811CCF55018375")  # 1.2.156.10197.1.501 sm2-with-sm3
    tbs = children(tbs_tlv)
    assert [t for t, _, _ in tbs] == [0x02, 0x30, 0x18, 0x03, 0x16]  # version, eseal, GeneralizedTime, ...
    assert tbs[0][2] == b"\x04"

    # Step 2: the signer's signature over TBS_Sign exactly as it is in the bytes.
    signer_pub = public_key_pem(signer_cert, tmp_path, "signer")
    signature = bit_string(sig_bits)
    assert sm2_verify(signer_pub, tbs_tlv, signature, tmp_path, distid=DEFAULT_ID)
    # Negative controls: another message, and OpenSSL 3.0's empty default ID.
    flipped = bytearray(tbs_tlv)
    flipped[-3] ^= 0x01
    assert not sm2_verify(signer_pub, bytes(flipped), signature, tmp_path, distid=DEFAULT_ID)
    assert not sm2_verify(signer_pub, tbs_tlv, signature, tmp_path, distid=None)

    # Step 3: the signer certificate is, byte for byte, one of the seal's holder certificates.
    seal = children(tbs[1][1])
    assert [t for t, _, _ in seal] == [0x30, 0x04, 0x06, 0x03]
    seal_info_tlv = seal[0][1]
    info = children(seal_info_tlv)
    prop = children(info[2][1])
    assert prop[2][2] == b"\x01"  # certListType 1: certificates
    holders = [contents for _tag, _whole, contents in children(prop[3][1])]
    assert signer_cert in holders

    # Step 4: the seal maker's signature over SES_SealInfo as it is in the bytes.
    maker_pub = public_key_pem(seal[1][2], tmp_path, "maker")
    assert seal[2][2] == bytes.fromhex("2A811CCF55018375")
    assert sm2_verify(maker_pub, seal_info_tlv, bit_string(seal[3][2]), tmp_path, distid=DEFAULT_ID)

    # Step 7: signing time (GeneralizedTime) inside the seal's validStart..validEnd (same format: text order).
    signing_time = tbs[2][2]
    valid_start, valid_end = prop[5][2], prop[6][2]
    assert valid_start <= signing_time <= valid_end

    # Step 8: dataHash = SM3 of the Base64 text of <Voucher>, hashed by openssl.
    digest = openssl("dgst", "-sm3", "-binary", data=body.voucher_b64.encode("ascii"))
    assert digest.returncode == 0, digest.stderr
    assert bit_string(tbs[3][2]) == digest.stdout
    assert tbs[4][2].decode("ascii").startswith("ezhifu:VoucherBody/Voucher;position=cz_dwgz;")


def test_ofdrw_signed_value_v4_verified_by_openssl(ofdrw: Path, tmp_path: Path) -> None:
    """The same independent path on ofdrw's SignedValueV4.dat agrees with ezhifu's verdict."""
    der = (ofdrw / "SignedValueV4.dat").read_bytes()
    top = children(der)
    tbs_tlv, signer_cert, signature = top[0][1], top[1][2], bit_string(top[3][2])
    assert sm2_verify(
        public_key_pem(signer_cert, tmp_path, "s"), tbs_tlv, signature, tmp_path, distid=DEFAULT_ID
    )
    seal = children(children(tbs_tlv)[1][1])
    maker_pub = public_key_pem(seal[1][2], tmp_path, "m")
    assert sm2_verify(maker_pub, seal[0][1], bit_string(seal[3][2]), tmp_path, distid=DEFAULT_ID)


def test_v1_stamp_verified_independently(world: SealWorld, body_factory: BodyFactory, tmp_path: Path) -> None:
    """GM/T 0031-2014: the maker signs SEQUENCE{SES_SealInfo, cert, signatureAlgorithm}, the signer
    signs the whole TBS_Sign (which holds the signer certificate and algorithm)."""
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal("v1"), world.holder.signer(), "cz_dwgz")
    der = base64.b64decode(stamp.value)
    top = children(der)
    assert [t for t, _, _ in top] == [0x30, 0x03]  # SES_Signature v1 = { toSign, signature }
    tbs_tlv = top[0][1]
    tbs = children(tbs_tlv)
    # version, eseal, timeInfo BIT STRING, dataHash BIT STRING, propertyInfo, cert, signatureAlgorithm
    assert [t for t, _, _ in tbs] == [0x02, 0x30, 0x03, 0x03, 0x16, 0x04, 0x06]
    signer_pub = public_key_pem(tbs[5][2], tmp_path, "signer")
    assert sm2_verify(signer_pub, tbs_tlv, bit_string(top[1][2]), tmp_path, distid=DEFAULT_ID)

    seal = children(tbs[1][1])  # SESeal v1 = { esealInfo, signInfo }
    seal_info_tlv, sign_info = seal[0][1], children(seal[1][1])
    maker_pub = public_key_pem(sign_info[0][2], tmp_path, "maker")
    contents = seal_info_tlv + sign_info[0][1] + sign_info[1][1]
    assert len(contents) < 0x10000
    to_sign = b"\x30\x82" + len(contents).to_bytes(2, "big") + contents
    maker_sig = bit_string(sign_info[2][2])
    assert sm2_verify(maker_pub, to_sign, maker_sig, tmp_path, distid=DEFAULT_ID)
    assert not sm2_verify(maker_pub, seal_info_tlv, maker_sig, tmp_path, distid=DEFAULT_ID)

    # holder certificate inside certList, timeInfo as UTCTime text, dataHash = SM3 of the Base64 text
    prop = children(children(seal_info_tlv)[2][1])
    assert tbs[5][2] in [contents for _t, _w, contents in children(prop[2][1])]
    assert len(bit_string(tbs[2][2])) == 13 and bit_string(tbs[2][2]).endswith(b"Z")
    digest = openssl("dgst", "-sm3", "-binary", data=body.voucher_b64.encode("ascii"))
    assert bit_string(tbs[3][2]) == digest.stdout
