"""The whole job in one call: build, validate, sign, seal and verify a voucher envelope.

:func:`run_demo` is what ``ezhifu demo`` runs and what the tests check, so the README's first
command exercises every layer for real:

1. a throwaway test PKI (SM2 root -> leaf for the finance bureau's signer, and a seal maker's
   certificate) from :func:`ezhifu.testing.pki.make_pki`, held in a
   :class:`~ezhifu.keystore.memory.MemoryKeyStore` (the safe box keys are used through);
2. a 5201 财政直接支付凭证 (spec.md §4.2) from :func:`ezhifu.document.samples.sample_voucher`,
   wrapped in a ``<MOF>`` envelope (spec.md §2.1) and validated against the bundled schema;
3. a detached CMS signature over the exact Base64 text of ``<Voucher>`` at position ``cz_dwfz``
   (spec.md §5.3);
4. a GB/T 38540-2020 (v4) seal, made by the seal maker with a generated round red picture, and
   applied at position ``cz_dwgz`` (seal_sm2.md §2-4);
5. the envelope written, read back from disk and verified against the demo's root only;
6. the root certificates (``root.pem`` for the signer, ``seal-maker-root.pem`` for the seal
   maker: anchors by purpose) and an HTML view written next to it.

Everything is generated at run time and nothing secret is written: the private keys live only in
the memory keystore. A seal made with a software key is for testing and development only and is
not legally effective.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezhifu._fileio import atomic_write
from ezhifu.errors import EzhifuError

if TYPE_CHECKING:
    from ezhifu.results import EnvelopeResult

__all__ = [
    "DEMO_SEAL_ID",
    "SEAL_POSITION",
    "SIGNATURE_POSITION",
    "DemoResult",
    "DemoStep",
    "run_demo",
    "seal_picture_png",
]

#: Where the demo signs and seals (positions observed in the 2024 messages, spec.md §5.1).
SIGNATURE_POSITION = "cz_dwfz"
SEAL_POSITION = "cz_dwgz"
#: 32 hex characters, like the seal ids of the 2024 messages (spec.md §5.3).
DEMO_SEAL_ID = "de305201de305201de305201de305201"
_SEAL_NAME = "ezhifu 演示印章（测试用，无法律效力）"
_SIGNER_ALIAS = "finance-signer"


# --- a seal picture without any imaging library ---------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    # PNG (ISO/IEC 15948) chunk: length, type, data, CRC-32 over type and data.
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def seal_picture_png(size: int = 240, color: tuple[int, int, int] = (214, 32, 39)) -> bytes:
    """A round red seal picture as PNG bytes: a double ring and a five-pointed star, no text.

    Written with :mod:`zlib` and :mod:`struct` only (8-bit RGBA, filter 0, transparent
    background, anti-aliased rings) so the demo needs no imaging library.
    """
    if not 16 <= size <= 2048:
        raise ValueError(f"seal picture size {size} is outside 16..2048 pixels")
    c = size / 2
    rings = ((size * 0.41, size * 0.47), (size * 0.355, size * 0.37))
    star_outer = size * 0.2
    star_inner = star_outer * 0.382  # regular five-pointed star: sin 18° / sin 126°
    points = [
        (
            c + (star_outer if k % 2 == 0 else star_inner) * math.cos(-math.pi / 2 + k * math.pi / 5),
            c + (star_outer if k % 2 == 0 else star_inner) * math.sin(-math.pi / 2 + k * math.pi / 5),
        )
        for k in range(10)
    ]

    def in_star(x: float, y: float) -> bool:
        inside = False
        j = len(points) - 1
        for i, (xi, yi) in enumerate(points):
            xj, yj = points[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    red, green, blue = color
    raw = bytearray()
    for y in range(size):
        raw.append(0)  # filter type 0 (None) for every scanline
        for x in range(size):
            px, py = x + 0.5, y + 0.5
            d = math.hypot(px - c, py - c)
            alpha = 0.0
            for lo, hi in rings:  # coverage of a 1-pixel-wide edge gives the anti-aliasing
                alpha = max(alpha, min(d - lo + 0.5, hi - d + 0.5, 1.0))
            if alpha < 1.0 and d <= star_outer + 1 and in_star(px, py):
                alpha = 1.0
            raw += bytes((red, green, blue, round(max(alpha, 0.0) * 255)))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA, not interlaced
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _png_chunk(b"IEND", b"")
    )


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One step of the demo: what was done, whether it worked, and a detail line."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(slots=True)
class DemoResult:
    """What :func:`run_demo` did and wrote. ``ok`` is true when every step succeeded."""

    # What was asked: where to write, and the language of the HTML view's labels ("zh", "en";
    # ``None``: both, see ezhifu.report.wording).
    out_dir: Path
    language: str | None = None
    # What happened: the steps, and the verification of the written envelope.
    steps: list[DemoStep] = field(default_factory=list)
    verification: EnvelopeResult | None = None
    # What was written (``None`` until it is).
    envelope_path: Path | None = None
    root_path: Path | None = None
    seal_maker_root_path: Path | None = None
    html_path: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "out_dir": str(self.out_dir),
            "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in self.steps],
            "envelope": str(self.envelope_path) if self.envelope_path else None,
            "root": str(self.root_path) if self.root_path else None,
            "seal_maker_root": str(self.seal_maker_root_path) if self.seal_maker_root_path else None,
            "html": str(self.html_path) if self.html_path else None,
            "verification": self.verification.to_dict() if self.verification else None,
        }


def run_demo(
    out_dir: str | Path = "ezhifu-demo",
    *,
    vt_code: str = "5201",
    details: int = 3,
    on_step: Callable[[DemoStep], None] | None = None,
    test_keys: str | Path | None = None,
    language: str | None = None,
) -> DemoResult:
    """Run the whole job once and write ``envelope.xml``, ``root.pem`` and ``voucher.html``.

    Each step is recorded in :attr:`DemoResult.steps` (and passed to ``on_step`` as it finishes,
    for a live report). A step that fails stops the run: its ``EzhifuError`` message becomes the
    step's detail and the result is not ``ok``. Afterwards
    ``ezhifu verify OUT/envelope.xml --trust OUT/root.pem --seal-maker-trust OUT/seal-maker-root.pem``
    verifies the written envelope (anchors by purpose: the signers' root and the seal maker's root;
    with the signer root alone the seal's maker is reported untrusted).

    With ``test_keys`` the demo's throwaway signer key and chain, root and seal are also written
    to that directory (:func:`write_test_keys`), for trying ``ezhifu sign`` and ``seal apply``.
    ``language`` is the HTML view's (``ezhifu demo`` passes the command line's).
    """
    out = Path(out_dir)
    result = DemoResult(out_dir=out, language=language)

    def record(name: str, ok: bool, detail: str = "") -> None:
        step = DemoStep(name, ok, detail)
        result.steps.append(step)
        if on_step is not None:
            on_step(step)

    try:
        _run(out, vt_code, details, result, record, None if test_keys is None else Path(test_keys))
    except EzhifuError as exc:
        record("stopped", False, f"{type(exc).__name__}: {exc}")
    return result


def _run(
    out: Path,
    vt_code: str,
    details: int,
    result: DemoResult,
    record: Callable[[str, bool, str], None],
    test_keys: Path | None = None,
) -> None:
    # Imports are local so that ``import ezhifu.cli.demo`` (the CLI's help) stays cheap.
    from ezhifu.document.envelope import Envelope
    from ezhifu.document.samples import sample_voucher
    from ezhifu.document.validation import iter_errors
    from ezhifu.keystore.memory import MemoryKeyStore
    from ezhifu.pki.signer import SoftwareSigner
    from ezhifu.seal.apply import apply_seal
    from ezhifu.seal.make import make_seal
    from ezhifu.sign.voucher import sign_envelope
    from ezhifu.testing.pki import make_pki

    out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)

    # 1. Test PKI and the safe box.
    pki = make_pki("sm2", depth=2)
    # The seal maker (制章者) has a root of its own: anchors are kept by purpose.
    maker_pki = make_pki("sm2", subject_prefix="ezhifu demo seal maker")
    maker_cert = maker_pki.leaf_cert
    maker = SoftwareSigner(maker_pki.leaf_key, maker_cert)
    with MemoryKeyStore() as keystore:
        keystore.add_key(_SIGNER_ALIAS, pki.leaf_key, pki.chain)
        signer = keystore.signer(_SIGNER_ALIAS)
        record(
            "test PKI and keystore",
            True,
            f"SM2 root -> signer {_common_name(pki.leaf_cert)!r}, seal-maker root -> seal maker "
            f"{_common_name(maker_cert)!r}; memory keystore alias {_SIGNER_ALIAS!r}",
        )

        # 2. Voucher and envelope.
        voucher = sample_voucher(vt_code, details=details)
        envelope = Envelope.build([voucher])
        body = envelope.bodies[0]
        issues = list(iter_errors(envelope.to_bytes()))
        record(
            f"voucher {vt_code} built and validated",
            not issues,
            f"VoucherNo {body.voucher_no}, {details} details"
            if not issues
            else "; ".join(str(i) for i in issues[:3]),
        )
        if issues:
            return

        # 3. Signature.
        sign_envelope(envelope, signer, SIGNATURE_POSITION)
        record("signed", True, f"SM2/SM3 detached CMS at position {SIGNATURE_POSITION}")

        # 4. Seal: made by the seal maker for the signer, applied by the signer.
        picture = seal_picture_png()
        seal_der = make_seal(
            maker,
            seal_id=DEMO_SEAL_ID,
            name=_SEAL_NAME,
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=365),
            holder_certs=[pki.leaf_cert],
            picture=picture,
            width_mm=40,
            height_mm=40,
            version="v4",
        )
        keystore.add_seal(DEMO_SEAL_ID, seal_der)
        apply_seal(body, keystore.seal(DEMO_SEAL_ID), signer, SEAL_POSITION)
        record("sealed", True, f"GB/T 38540 v4 seal {DEMO_SEAL_ID} at position {SEAL_POSITION}")
    if test_keys is not None:
        written = write_test_keys(test_keys, pki, seal_der, maker_root=maker_pki.root_cert)
        record("test keys written (test only, no legal effect)", True, ", ".join(sorted(written)))

    _write_and_verify(out, envelope, (pki, maker_pki), result, record)


def _write_and_verify(
    out: Path,
    envelope: Any,
    pkis: tuple[Any, Any],
    result: DemoResult,
    record: Callable[[str, bool, str], None],
) -> None:
    """Steps 5 and 6: write, read back, verify against the demo roots only; the HTML view."""
    # Local for the same reason as in _run: the CLI's help stays cheap.
    from asn1crypto import pem

    from ezhifu.pki.trust import TrustStore, VerifyPolicy
    from ezhifu.report.html import write_envelope_html
    from ezhifu.verify.envelope import verify_envelope
    from ezhifu.verify.parties import Parties

    # 5. Write, read back, verify against the demo roots only (signers' and seal maker's).
    pki, maker_pki = pkis
    envelope_path = out / "envelope.xml"
    atomic_write(envelope_path, envelope.to_bytes(), mode=0o644)
    root_path, maker_root_path = out / "root.pem", out / "seal-maker-root.pem"
    atomic_write(root_path, pem.armor("CERTIFICATE", pki.root_cert.dump()), mode=0o644)
    atomic_write(maker_root_path, pem.armor("CERTIFICATE", maker_pki.root_cert.dump()), mode=0o644)
    result.envelope_path, result.root_path = envelope_path, root_path
    result.seal_maker_root_path = maker_root_path
    parties_path = _write_parties(
        out, envelope.bodies[0].voucher.vt_code, pem.armor("CERTIFICATE", pki.leaf_cert.dump())
    )
    trust = TrustStore(roots=[pki.root_cert], seal_makers=[maker_pki.root_cert])
    verification = verify_envelope(
        envelope_path.read_bytes(), trust=trust, policy=VerifyPolicy(), parties=Parties.load(parties_path)
    )
    result.verification = verification
    items = [i for b in verification.bodies for i in b.items]
    record(
        "verified",
        verification.valid,
        f"{sum(i.valid for i in items)}/{len(items)} signatures and seals valid"
        if verification.valid
        else "; ".join(r for b in verification.bodies for r in b.reasons) or "; ".join(verification.problems),
    )

    # 6. The HTML view.
    html_path = write_envelope_html(
        out / "voucher.html",
        envelope_path.read_bytes(),
        result=verification,
        source_name="envelope.xml",
        language=result.language,
    )
    result.html_path = html_path
    record("HTML view written", True, str(html_path))


def _write_parties(out: Path, vt_code: str, signer_pem: bytes) -> Path:
    """The demo's parties file (docs/parties.md): the demo signer is the finance party, which
    must sign at :data:`SIGNATURE_POSITION` and stamp at :data:`SEAL_POSITION`."""
    atomic_write(out / "signer.pem", signer_pem, mode=0o644)
    text = (
        "# ezhifu demo parties file (docs/parties.md)\n"
        "[parties.finance]                 # 财政 (the demo signer)\n"
        'certs = ["signer.pem"]\n'
        f'[positions."{vt_code}"]\n'
        f'{SIGNATURE_POSITION} = {{ party = "finance", kind = "signature", required = true }}\n'
        f'{SEAL_POSITION} = {{ party = "finance", kind = "seal", required = true }}\n'
    )
    path = out / "parties.toml"
    atomic_write(path, text.encode("utf-8"), mode=0o644)
    return path


def write_test_keys(directory: Path, pki: Any, seal_der: bytes, *, maker_root: Any = None) -> dict[str, Path]:
    """Write the demo's **throwaway** test material: ``signer.key.pem`` (unencrypted PKCS#8,
    mode 0600), ``signer-chain.pem``, ``root.pem``, ``seal.der`` (a v4 test seal held by the
    signer) and, given ``maker_root``, ``seal-maker-root.pem`` (the seal maker's anchor). The
    roots' keys are not written. Test and development only."""
    from asn1crypto import pem  # reason: keep `import ezhifu.cli.demo` (the CLI's help) cheap

    from ezhifu.pki.keys import dump_certificates, dump_private_key  # reason: as above

    directory.mkdir(parents=True, exist_ok=True)
    contents = {
        "signer.key.pem": dump_private_key(pki.leaf_key),
        "signer-chain.pem": dump_certificates(pki.chain),
        "root.pem": pem.armor("CERTIFICATE", pki.root_cert.dump()),
        "seal.der": seal_der,
    }
    if maker_root is not None:
        contents["seal-maker-root.pem"] = pem.armor("CERTIFICATE", maker_root.dump())
    paths: dict[str, Path] = {}
    for name, data in contents.items():
        paths[name] = directory / name
        atomic_write(paths[name], data, mode=0o600 if name.endswith(".key.pem") else 0o644)
    return paths


def _common_name(cert: Any) -> str:
    return str(cert.subject.native.get("common_name", cert.subject.human_friendly))
