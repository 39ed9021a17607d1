"""Generator of the hostile-input corpus (issue 9).

Every case is untrusted input a partner (or an attacker on the link) could send. Each is
built from a valid sample at run time, so nothing large is checked in. ``build_corpus()``
returns the cases; ``python tests/hostile/corpus.py OUTDIR`` writes them as files for
fuzzers and for inspection.

A case names its *target* (the API it is fed to) and what must happen: an ``EzhifuError``
subclass (``expect``) whose message contains ``contains``, never another exception, never
a hang, never a file or network access.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher

__all__ = ["HostileCase", "build_corpus", "envelope_with_inner", "sample_envelope_bytes"]


@dataclass(frozen=True)
class HostileCase:
    name: str
    target: str  # "envelope" | "validate" | "seal" | "signature" | "key" | "certificate" | "der"
    make: Callable[[], bytes]
    expect: str  # name of the EzhifuError subclass expected (or a base of it)
    contains: str = ""  # a word the message must contain (case-insensitive)
    code: str = ""  # for "validate": an issue with this code must be reported


def sample_envelope_bytes(vt_code: str = "5201", details: int = 2) -> bytes:
    return Envelope.build([sample_voucher(vt_code, details=details)]).to_bytes()


def envelope_with_inner(inner_xml: bytes, *, vt_code: str = "5201") -> bytes:
    """An envelope whose <Voucher> carries ``inner_xml`` (any bytes) as Base64."""
    env = Envelope.build([sample_voucher(vt_code, details=1)])
    env.bodies[0].voucher_b64 = base64.b64encode(inner_xml).decode("ascii")
    return env.to_bytes()


def _inner(vt_code: str = "5201", details: int = 1) -> bytes:
    return sample_voucher(vt_code, details=details).to_xml()


def _replace_first(data: bytes, tag: bytes, value: bytes) -> bytes:
    pattern = re.compile(b"<" + tag + b">[^<]*</" + tag + b">")
    return pattern.sub(b"<" + tag + b">" + value + b"</" + tag + b">", data, count=1)


def _with_prolog(prolog: bytes) -> Callable[[], bytes]:
    def make() -> bytes:
        data = sample_envelope_bytes()
        decl, rest = data.split(b"\n", 1)
        return decl + b"\n" + prolog + b"\n" + rest

    return make


_LAUGHS = (
    b'<!DOCTYPE MOF [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10) for i in range(9)
    )
    + b"]>"
)


def _billion_laughs() -> bytes:
    data = sample_envelope_bytes()
    decl, rest = data.split(b"\n", 1)
    return decl + b"\n" + _LAUGHS + b"\n" + rest.replace(b"<Attach>", b"<Attach>&j;", 1)


def _huge_text() -> bytes:
    # 50 MB in one text node: the Base64 of <Voucher>.
    data = sample_envelope_bytes()
    return re.sub(
        rb"<Voucher>[^<]*</Voucher>", b"<Voucher>" + b"A" * (50 * 1024 * 1024) + b"</Voucher>", data
    )


def _deep() -> bytes:
    depth = 100_000
    return b'<?xml version="1.0" encoding="GBK"?><MOF>' + b"<a>" * depth + b"</a>" * depth + b"</MOF>"


def _bad_gbk() -> bytes:
    data = sample_envelope_bytes()
    # 0x81 0x20 is an invalid GBK pair (trail byte below 0x40).
    return (
        data.replace(b"<Attach>", b"<Attach>\x81\x20", 1)
        if b"<Attach>" in data
        else data.replace(b"<VoucherFlag>", b"<VoucherFlag>\x81\x20", 1)
    )


def _bad_utf8() -> bytes:
    data = sample_envelope_bytes().replace(b'encoding="GBK"', b'encoding="UTF-8"', 1)
    return data.replace(b"<VoucherFlag>0", b"<VoucherFlag>\xc3\x28", 1)


def _duplicate_count() -> bytes:
    data = sample_envelope_bytes()
    return data.replace(
        b"<VoucherCount>1</VoucherCount>", b"<VoucherCount>1</VoucherCount><VoucherCount>1</VoucherCount>"
    )


def _second_voucher() -> bytes:
    # Signature wrapping: a forged <Voucher> placed before the real one.
    data = sample_envelope_bytes()
    forged = base64.b64encode(_inner()).decode().encode()
    return data.replace(b"<Voucher>", b"<Voucher>" + forged + b"</Voucher><Voucher>", 1)


def _duplicate_inner_field() -> bytes:
    inner = _inner()
    inner = inner.replace(b"<PayAmt>", b"<PayAmt>1.00</PayAmt><PayAmt>", 1)
    return envelope_with_inner(inner)


def _amount(value: bytes) -> Callable[[], bytes]:
    return lambda: envelope_with_inner(_replace_first(_inner(), b"PayAmt", value))


def _empty_required() -> bytes:
    return envelope_with_inner(_replace_first(_inner(), b"VouDate", b""))


def _unknown_vtcode() -> bytes:
    data = sample_envelope_bytes()
    inner = _inner().replace(b"<VtCode>5201</VtCode>", b"<VtCode>9999</VtCode>")
    out = envelope_with_inner(inner)
    return out.replace(b'VtCode="5201"', b'VtCode="9999"') if data else out


def _not_base64() -> bytes:
    data = sample_envelope_bytes()
    return re.sub(rb"<Voucher>[^<]{8}", b"<Voucher>!!!*@@@#", data, count=1)


# --- DER ------------------------------------------------------------------------------

_LENGTH_BOMB = bytes.fromhex("3084ffffffff") + b"\x02\x01\x00"
_NESTED_BOMB = b"\x30\x80" * 50_000  # indefinite lengths, deeply nested (BER, never DER)


def _truncated_seal() -> bytes:
    return _seal_fixture()[: len(_seal_fixture()) // 2]


def _seal_fixture() -> bytes:
    return (Path(__file__).parent.parent / "conformance" / "ofdrw" / "UserV4.esl").read_bytes()


def _oversized_der() -> bytes:
    # A syntactically valid SEQUENCE holding a 20 MB OCTET STRING.
    payload = b"\x00" * (20 * 1024 * 1024)
    octet = b"\x04\x84" + len(payload).to_bytes(4, "big") + payload
    return b"\x30\x84" + len(octet).to_bytes(4, "big") + octet


def _seal_with_trailing_garbage() -> bytes:
    return _seal_fixture() + b"\x00\x00"


def build_corpus() -> list[HostileCase]:
    """Every hostile case (lazy: payloads are made when a case runs)."""
    return [
        # XML and envelope
        HostileCase("billion-laughs", "envelope", _billion_laughs, "HostileInputError", "doctype"),
        HostileCase(
            "external-entity",
            "envelope",
            _with_prolog(b'<!DOCTYPE MOF [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
            "HostileInputError",
            "doctype",
        ),
        HostileCase(
            "external-dtd",
            "envelope",
            _with_prolog(b'<!DOCTYPE MOF SYSTEM "http://127.0.0.1:9/evil.dtd">'),
            "HostileInputError",
            "doctype",
        ),
        HostileCase(
            "parameter-entity",
            "envelope",
            _with_prolog(b'<!DOCTYPE MOF [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>'),
            "HostileInputError",
            "doctype",
        ),
        HostileCase("text-node-50MB", "envelope", _huge_text, "InvalidInput"),
        HostileCase("nesting-100000", "envelope", _deep, "HostileInputError"),
        HostileCase("invalid-gbk", "envelope", _bad_gbk, "DecodingError", "offset"),
        HostileCase("invalid-utf8", "envelope", _bad_utf8, "DecodingError", "offset"),
        HostileCase("duplicate-voucher-count", "envelope", _duplicate_count, "InvalidInput", "duplicat"),
        HostileCase("second-voucher-element", "envelope", _second_voucher, "InvalidInput", "duplicat"),
        HostileCase("voucher-not-base64", "validate", _not_base64, "InvalidInput", "base64"),
        # inner voucher values
        HostileCase(
            "duplicate-inner-field", "validate", _duplicate_inner_field, "SchemaValidationError", "PayAmt"
        ),
        HostileCase(
            "amount-minus-1", "validate", _amount(b"-1"), "SchemaValidationError", "PayAmt", "amount-format"
        ),
        HostileCase(
            "amount-1e309", "validate", _amount(b"1e309"), "SchemaValidationError", "PayAmt", "amount-format"
        ),
        HostileCase(
            "amount-12.345",
            "validate",
            _amount(b"12.345"),
            "SchemaValidationError",
            "PayAmt",
            "amount-format",
        ),
        HostileCase(
            "amount-9999999999999999.99",
            "validate",
            _amount(b"9999999999999999.99"),
            "SchemaValidationError",
            "PayAmt",
            "amount-format",
        ),
        HostileCase(
            "empty-required-field",
            "validate",
            _empty_required,
            "SchemaValidationError",
            "VouDate",
            "required-empty",
        ),
        HostileCase("unknown-vtcode", "validate", _unknown_vtcode, "SchemaValidationError", "9999"),
        # DER: seals, signatures, keys, certificates
        HostileCase("seal-truncated", "seal", _truncated_seal, "InvalidInput"),
        HostileCase("seal-trailing-bytes", "seal", _seal_with_trailing_garbage, "InvalidInput"),
        HostileCase("seal-length-bomb", "seal", lambda: _LENGTH_BOMB, "InvalidInput"),
        HostileCase("seal-nested-indefinite", "seal", lambda: _NESTED_BOMB, "InvalidInput"),
        HostileCase("seal-oversized", "seal", _oversized_der, "InvalidInput"),
        HostileCase("key-length-bomb", "key", lambda: _LENGTH_BOMB, "InvalidInput"),
        HostileCase("key-garbage", "key", lambda: b"\x00garbage\xff" * 10, "InvalidInput"),
        HostileCase("certificate-length-bomb", "certificate", lambda: _LENGTH_BOMB, "InvalidInput"),
        HostileCase("certificate-truncated", "certificate", lambda: _LENGTH_BOMB[:4], "InvalidInput"),
    ]


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "hostile-corpus")
    out.mkdir(parents=True, exist_ok=True)
    for case in build_corpus():
        suffix = ".xml" if case.target in ("envelope", "validate") else ".der"
        (out / f"{case.name}{suffix}").write_bytes(case.make())
    print(f"wrote {len(build_corpus())} cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
