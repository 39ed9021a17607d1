"""The package manifest: canonical JSON listing every file with its SM3 and SHA-256, signed as CMS.

``manifest.json`` is *canonical* JSON (:func:`canonical_json`): UTF-8, keys sorted, no
insignificant whitespace, no floating-point numbers, Chinese kept as is (not ``\\u`` escaped), so
the same content always gives the same bytes and a digest over it means one thing.
``manifest.p7s`` is a detached CMS ``SignedData`` (RFC 5652; GB/T 35275 for SM2) over those
bytes, made by the archiving party's key with signed attributes, whose signing time is the
package's creation time (the time the evidence proves, issue 19 item 4).

The manifest's fields (docs/archive.md has the whole shape)::

    {"format": "ezhifu-archive/1", "package": "<uuid>", "created": "<GB/T 7408 time>",
     "vouchers": [{"AdmDivCode", "StYear", "VtCode", "VoucherNo", "Id"}],
     "files": {"content/envelope.xml": {"size": n, "sha256": hex, "sm3": hex}, ...}}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from asn1crypto import x509

from ezhifu.archive.gbt7408 import datetime_text, parse_datetime
from ezhifu.crypto.base import Signer
from ezhifu.crypto.sm3 import sm3
from ezhifu.errors import ArchiveFormatError, InvalidInput
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.sign.cms import sign_detached
from ezhifu.sign.cms_verify import CmsVerification, verify_detached

__all__ = [
    "DIGESTS",
    "FORMAT",
    "MANIFEST_NAME",
    "MAX_MANIFEST_BYTES",
    "MAX_RENEWALS",
    "RENEWAL_FORMAT",
    "RENEWAL_PREFIX",
    "SIGNATURE_NAME",
    "build_manifest",
    "build_renewal",
    "canonical_json",
    "file_entry",
    "parse_manifest",
    "renewal_names",
    "sign_manifest",
    "verify_manifest_signature",
]

FORMAT = "ezhifu-archive/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.p7s"
#: The digests of every file (SM3: national cryptography, DA/T 95 §10.6; SHA-256 for tools without SM3).
DIGESTS = ("sha256", "sm3")
#: Largest manifest read (bytes): about 2 000 files' entries.
MAX_MANIFEST_BYTES = 1 << 20
#: Deepest JSON nesting accepted in canonical form (the manifest itself needs 4).
MAX_DEPTH = 16

_REQUIRED = {"format": str, "package": str, "created": str, "vouchers": list, "files": dict}


def _check_value(value: Any, depth: int, path: str) -> None:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{path}: 嵌套过深 / nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        raise InvalidInput(f"{path}: 不允许浮点数 / floating-point numbers have no canonical form")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{path}: 键必须是字符串 / keys must be strings, not {type(key).__name__}")
            _check_value(item, depth + 1, f"{path}/{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_value(item, depth + 1, f"{path}[{index}]")
        return
    raise InvalidInput(f"{path}: 无法规范化 / {type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON value (strings, integers, booleans, null, lists, objects)."""
    _check_value(value, 0, "$")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def file_entry(data: bytes) -> dict[str, Any]:
    """``{"size", "sha256", "sm3"}`` of one file's bytes (lower-case hex)."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "sm3": sm3(data).hex()}


def build_manifest(
    files: Mapping[str, bytes],
    *,
    package_id: str,
    created: datetime,
    vouchers: Sequence[Mapping[str, str]],
) -> dict[str, Any]:
    """The manifest object of a package (write it with :func:`canonical_json`)."""
    return {
        "format": FORMAT,
        "package": package_id,
        "created": datetime_text(created),
        "vouchers": [dict(v) for v in vouchers],
        "files": {name: file_entry(data) for name, data in sorted(files.items())},
    }


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Read ``manifest.json``: bounded, the required fields typed, the format known.

    Raises :class:`ArchiveFormatError` naming what is wrong. Whether the bytes are in canonical
    form is a separate check (``canonical_json(parse_manifest(b)) == b``).
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ArchiveFormatError(
            f"{MANIFEST_NAME}: 清单过大 / {len(data)} bytes exceeds the limit of {MAX_MANIFEST_BYTES}"
        )
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_no_float)
        _check_value(value, 0, MANIFEST_NAME)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ArchiveFormatError(f"{MANIFEST_NAME}: 不是有效的 JSON / not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ArchiveFormatError(f"{MANIFEST_NAME}: 应为 JSON 对象 / must be a JSON object")
    for key, kind in _REQUIRED.items():
        if not isinstance(value.get(key), kind):
            raise ArchiveFormatError(
                f"{MANIFEST_NAME}: 缺少字段 / field {key!r} missing or not a {kind.__name__}"
            )
    if value["format"] != FORMAT:
        raise ArchiveFormatError(
            f"{MANIFEST_NAME}: 未知格式 / unknown format {value['format']!r} (expected {FORMAT})"
        )
    try:
        parse_datetime(value["created"], where=f"{MANIFEST_NAME}/created")
    except InvalidInput as exc:
        raise ArchiveFormatError(str(exc)) from exc
    for name, entry in value["files"].items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("size"), int)
            and all(isinstance(entry.get(d), str) for d in DIGESTS)
        ):
            raise ArchiveFormatError(
                f"{MANIFEST_NAME}: 文件条目无效 / entry of {name!r} needs size, sha256, sm3"
            )
    return value


def _no_float(text: str) -> Any:
    raise ValueError(f"floating-point number {text} is not allowed in a manifest")


def sign_manifest(
    manifest: bytes, signer: Signer, *, at: datetime, chain: Sequence[x509.Certificate] = ()
) -> bytes:
    """``manifest.p7s``: a detached CMS over ``manifest`` with signed attributes, signing time ``at``."""
    return sign_detached(manifest, signer, signed_attributes=True, signing_time=at, chain=chain)


def verify_manifest_signature(
    manifest: bytes,
    signature: bytes,
    *,
    trust: TrustStore | None,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
) -> CmsVerification:
    """Verify ``manifest.p7s`` over ``manifest.json``.

    With ``trust`` the archiving party's certificate must chain to it; without, only the
    cryptography is checked (``trusted`` is then ``False``). ``at`` is the time the certificate
    must be valid at (the package's creation time: the archive key may have expired since).
    """
    base = policy or VerifyPolicy()
    if trust is None:
        return verify_detached(
            signature, manifest, trust=TrustStore(), policy=base.replace(require_trusted=False), at=at
        )
    return verify_detached(signature, manifest, trust=trust, policy=base, at=at)


# --- renewal: a fresh signature over everything stored, before keys or algorithms expire -------

#: Renewals live here: ``preservation/renewal-01.json`` + ``.p7s``, ``-02`` …
RENEWAL_PREFIX = "preservation/renewal-"
RENEWAL_FORMAT = "ezhifu-archive-renewal/1"
#: Most renewals one package may carry.
MAX_RENEWALS = 99


def renewal_names(members: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """``(json, p7s)`` names of the renewals present, in order (``renewal-01`` first)."""
    numbers = sorted(
        n[len(RENEWAL_PREFIX) : -len(".json")]
        for n in members
        if n.startswith(RENEWAL_PREFIX) and n.endswith(".json")
    )
    return [(f"{RENEWAL_PREFIX}{n}.json", f"{RENEWAL_PREFIX}{n}.p7s") for n in numbers]


def build_renewal(members: Mapping[str, bytes], *, package_id: str, created: datetime) -> tuple[str, bytes]:
    """The next renewal's name and canonical bytes: it lists the digests of *every* member so
    far (the manifest, its signature and earlier renewals included). Nothing stored is changed."""
    count = len(renewal_names(members))
    if count >= MAX_RENEWALS:
        raise ArchiveFormatError(
            f"续签过多 / the package already carries {count} renewals (limit {MAX_RENEWALS})"
        )
    value = {
        "format": RENEWAL_FORMAT,
        "package": package_id,
        "created": datetime_text(created),
        "covers": {name: file_entry(data) for name, data in sorted(members.items())},
    }
    return f"{RENEWAL_PREFIX}{count + 1:02d}.json", canonical_json(value)
