"""Helpers shared by the seal tests (imported as ``seal_helpers``; pytest puts this folder on the path)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from ezhifu.pki.trust import TrustStore
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid PNG (RFC 2083): IHDR, one zlib IDAT of filter-0 rows, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


#: A 1x1 GIF89a (the smallest well-formed GIF: header, logical screen, colour table, image, trailer).
GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@dataclass
class SealWorld:
    """A seal maker PKI, a holder PKI, a trust store over both roots and a seal factory."""

    maker: TestPKI
    holder: TestPKI
    trust: TrustStore
    now: datetime

    def seal(self, version: str = "v4", **overrides: object) -> bytes:
        args: dict[str, object] = {
            "seal_id": "0123456789ABCDEF0123456789ABCDEF",
            "name": "测试财政局国库支付业务专用章",
            "valid_from": self.now - timedelta(days=1),
            "valid_to": self.now + timedelta(days=30),
            "holder_certs": [self.holder.leaf_cert],
            "picture": png_bytes(),
            "width_mm": 42,
            "height_mm": 42,
            "version": version,
        }
        args.update(overrides)
        return make_seal(self.maker.signer(), **args)  # type: ignore[arg-type]
