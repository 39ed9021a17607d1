"""Offline exchange packages (网络故障时导出、携带、导入) and their signed acknowledgements.

When the link between two 凭证库 is down for long, the local rules have the vouchers to send
exported from the sending library and carried to the counterparty (reference §2.2, E1).
:func:`export_offline` takes the messages waiting in the sender's outbox for one peer, exactly as
they would have gone over the wire (each with the sender's link signature), and writes a zip::

    manifest.json    format, package id, sender, recipient, time, and per message: file name,
                     message id, kind, size, SHA-256 and SM3 (GB/T 32905) digests, vouchers
    manifest.sig     the sender's link signature over manifest.json (SM2 or RSA)
    messages/0001.msg …

:func:`import_offline` at the receiver refuses the whole package
(:class:`~ezhifu.errors.OfflinePackageTampered`) unless the manifest signature verifies with
the sender's registered certificate and every file matches its digests with no file added or
missing; then each message goes through the receiving library exactly as if it had arrived by
the transport (link signature, verification, validation, de-duplication by message id), so a
package imported twice, or a message that also came over the network, is reported as duplicate
and changes nothing. The receiver answers with an :class:`Acknowledgement` signed with its link
key, to be carried back and checked by :func:`read_acknowledgement`.

Limits: :data:`MAX_PACKAGE_MESSAGES` messages, :data:`MAX_PACKAGE_BYTES` bytes unpacked in total,
each message at most :data:`~ezhifu.flow.transport.MAX_MESSAGE_BYTES`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from ezhifu.crypto.sm3 import sm3
from ezhifu.document.envelope import Envelope
from ezhifu.errors import (
    EzhifuError,
    InvalidInput,
    InvalidSignature,
    OfflinePackageError,
    OfflinePackageTampered,
)
from ezhifu.flow.library import VoucherLibrary
from ezhifu.flow.store import utc_now
from ezhifu.flow.transport import MAX_MESSAGE_BYTES, Message
from ezhifu.pki.signer import verify_signature

__all__ = [
    "ACK_FORMAT",
    "MAX_PACKAGE_BYTES",
    "MAX_PACKAGE_MESSAGES",
    "PACKAGE_FORMAT",
    "Acknowledgement",
    "ExportResult",
    "ImportResult",
    "export_offline",
    "import_offline",
    "read_acknowledgement",
    "verify_package",
]

PACKAGE_FORMAT = "ezhifu-offline-package-1"
ACK_FORMAT = "ezhifu-offline-ack-1"
#: A package with more messages is refused (export and import).
MAX_PACKAGE_MESSAGES = 10_000
#: A package whose files unpack to more than this many bytes in total is refused.
MAX_PACKAGE_BYTES = 1 << 30
_MANIFEST, _SIGNATURE = "manifest.json", "manifest.sig"


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class ExportResult:
    package: bytes
    package_id: str
    message_ids: tuple[str, ...]
    sha256: str


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    package_id: str
    package_sha256: str
    sender: str
    receiver: str
    time: str
    items: tuple[tuple[str, str, str], ...]  # (message id, accepted|duplicate|rejected, detail)

    def counts(self) -> dict[str, int]:
        out = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for _, outcome, _ in self.items:
            out[outcome] += 1
        return out


@dataclass(frozen=True, slots=True)
class ImportResult:
    acknowledgement: Acknowledgement
    ack_bytes: bytes

    @property
    def accepted(self) -> list[str]:
        return [m for m, o, _ in self.acknowledgement.items if o == "accepted"]

    @property
    def duplicates(self) -> list[str]:
        return [m for m, o, _ in self.acknowledgement.items if o == "duplicate"]

    @property
    def rejected(self) -> list[str]:
        return [m for m, o, _ in self.acknowledgement.items if o == "rejected"]


def _vouchers_of(message: Message) -> list[str]:
    if message.kind != "envelope":
        return []
    try:
        return [f"{b.vt_code}/{b.voucher_no}" for b in Envelope.from_bytes(message.payload).bodies]
    except EzhifuError:
        return []


def export_offline(library: VoucherLibrary, recipient: str, *, remove: bool = True) -> ExportResult:
    """Package the outbox messages for ``recipient``; with ``remove`` they leave the outbox.

    Deferred sends (keystore down) are not exported: they are not signed yet.
    """
    items = [i for i in library.pending_outbox() if i.kind == "message" and i.recipient == recipient]
    if not items:
        raise OfflinePackageError(f"没有待发送给 {recipient} 的报文 / nothing queued for {recipient}")
    if len(items) > MAX_PACKAGE_MESSAGES:
        raise OfflinePackageError(
            f"超过 {MAX_PACKAGE_MESSAGES} 条报文 / more than {MAX_PACKAGE_MESSAGES} messages"
        )
    package_id = uuid.uuid4().hex
    entries: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    for n, item in enumerate(items, 1):
        message = Message.from_bytes(item.data)
        data = message.with_signature(library.link_signer.sign(message.signed_bytes())).to_bytes()
        name = f"messages/{n:04d}.msg"
        files.append((name, data))
        entries.append(
            {
                "name": name,
                "message_id": message.message_id,
                "kind": message.kind,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "sm3": sm3(data).hex(),
                "vouchers": _vouchers_of(message),
            }
        )
    manifest = _canonical(
        {
            "format": PACKAGE_FORMAT,
            "package_id": package_id,
            "sender": library.party.party_id,
            "recipient": recipient,
            "created": utc_now(),
            "items": entries,
        }
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_MANIFEST, manifest)
        zf.writestr(_SIGNATURE, library.link_signer.sign(manifest))
        for name, data in files:
            zf.writestr(name, data)
    if remove:
        for item in items:
            library.store.outbox_remove(item.item_id)
    package = buffer.getvalue()
    return ExportResult(
        package, package_id, tuple(e["message_id"] for e in entries), hashlib.sha256(package).hexdigest()
    )


def _read_zip(data: bytes) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise OfflinePackageError(f"不是离线交换包 / not an offline package (zip): {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_PACKAGE_MESSAGES + 2:
            raise OfflinePackageError(f"包内文件过多 / more than {MAX_PACKAGE_MESSAGES + 2} files")
        total = 0
        out: dict[str, bytes] = {}
        for info in infos:
            if info.file_size > MAX_MESSAGE_BYTES or info.filename in out:
                raise OfflinePackageTampered(f"{info.filename}: 过大或重复 / too large or given twice")
            total += info.file_size
            if total > MAX_PACKAGE_BYTES:
                raise OfflinePackageError(
                    f"包解压后超过 {MAX_PACKAGE_BYTES} 字节 / unpacks to too many bytes"
                )
            try:
                content = zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:  # CRC error: damaged or altered
                raise OfflinePackageTampered(f"{info.filename}: 文件损坏 / damaged: {exc}") from exc
            if len(content) != info.file_size:
                raise OfflinePackageTampered(f"{info.filename}: 长度不符 / size does not match")
            out[info.filename] = content
    return out


def verify_package(package: bytes, sender_cert: Any) -> dict[str, Any]:
    """The manifest of ``package`` after checking its signature with ``sender_cert`` and every
    file against its digests (no file added or missing); raises when tampered."""
    return _verified(_read_zip(package), sender_cert)


def _manifest_of(files: dict[str, bytes]) -> dict[str, Any]:
    if _MANIFEST not in files or _SIGNATURE not in files:
        raise OfflinePackageTampered("缺少清单或签名 / manifest or its signature missing")
    try:
        manifest = json.loads(files[_MANIFEST])
        if (
            not isinstance(manifest.get("items"), list)
            or not manifest.get("sender")
            or not manifest.get("recipient")
        ):
            raise ValueError("sender, recipient or items missing")
    except (ValueError, AttributeError) as exc:
        raise OfflinePackageTampered(f"清单无法读取 / manifest unreadable: {exc}") from exc
    if manifest.get("format") != PACKAGE_FORMAT:
        raise OfflinePackageError(f"未知的包格式 / unknown package format {manifest.get('format')!r}")
    return dict(manifest)


def _verified(files: dict[str, bytes], cert: Any) -> dict[str, Any]:
    manifest = _manifest_of(files)
    try:
        verify_signature(cert, files[_MANIFEST], files[_SIGNATURE])
    except (InvalidSignature, InvalidInput) as exc:
        raise OfflinePackageTampered(
            f"清单签名验证失败 / manifest signature of {manifest['sender']} does not verify: {exc}"
        ) from exc
    items = manifest["items"]
    names = {e.get("name") for e in items if isinstance(e, dict)}
    if names != set(files) - {_MANIFEST, _SIGNATURE} or len(names) != len(items):
        raise OfflinePackageTampered(
            "包内文件与清单不符 / files do not match the manifest (added or missing)"
        )
    for entry in items:
        data = files[entry["name"]]
        if hashlib.sha256(data).hexdigest() != entry.get("sha256") or sm3(data).hex() != entry.get("sm3"):
            raise OfflinePackageTampered(f"{entry['name']}: 摘要不符 / digest does not match (altered)")
    return manifest


def _checked_manifest(library: VoucherLibrary, files: dict[str, bytes]) -> dict[str, Any]:
    manifest = _manifest_of(files)
    sender, recipient = manifest["sender"], manifest["recipient"]
    if recipient != library.party.party_id:
        raise OfflinePackageError(
            f"包发给 {recipient}, 不是 {library.party.party_id} / addressed to {recipient}"
        )
    cert = library.peers.get(sender)
    if cert is None:
        raise OfflinePackageError(f"发送方 {sender!r} 未登记 / sender {sender!r} is not a registered peer")
    return _verified(files, cert)


def import_offline(library: VoucherLibrary, package: bytes) -> ImportResult:
    """Verify ``package`` and process its messages in ``library``; returns the signed acknowledgement."""
    files = _read_zip(package)
    manifest = _checked_manifest(library, files)
    results: list[tuple[str, str, str]] = []
    for entry in manifest["items"]:
        outcome = library.receive_bytes(files[entry["name"]])
        kind = "duplicate" if outcome.duplicate else "accepted" if outcome.accepted else "rejected"
        results.append((str(entry["message_id"]), kind, outcome.detail[:300]))
    ack = Acknowledgement(
        str(manifest["package_id"]),
        hashlib.sha256(package).hexdigest(),
        str(manifest["sender"]),
        library.party.party_id,
        utc_now(),
        tuple(results),
    )
    body = _canonical(_ack_fields(ack))
    signature = library.link_signer.sign(body)
    data = _canonical({"ack": json.loads(body), "signature": base64.b64encode(signature).decode("ascii")})
    return ImportResult(ack, data)


def _ack_fields(ack: Acknowledgement) -> dict[str, Any]:
    return {
        "format": ACK_FORMAT,
        "package_id": ack.package_id,
        "package_sha256": ack.package_sha256,
        "sender": ack.sender,
        "receiver": ack.receiver,
        "time": ack.time,
        "items": [{"message_id": m, "outcome": o, "detail": d} for m, o, d in ack.items],
    }


def read_acknowledgement(library: VoucherLibrary, data: bytes) -> Acknowledgement:
    """Check an acknowledgement carried back to the sender (``library``); raises when forged."""
    try:
        outer = json.loads(data)
        fields, signature = outer["ack"], base64.b64decode(outer["signature"], validate=True)
        ack = Acknowledgement(
            fields["package_id"],
            fields["package_sha256"],
            fields["sender"],
            fields["receiver"],
            fields["time"],
            tuple((i["message_id"], i["outcome"], i["detail"]) for i in fields["items"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise OfflinePackageError(f"回执无法读取 / acknowledgement unreadable: {exc}") from exc
    if ack.sender != library.party.party_id:
        raise OfflinePackageError(
            f"回执不是给 {library.party.party_id} 的 / not for {library.party.party_id}"
        )
    cert = library.peers.get(ack.receiver)
    if cert is None:
        raise OfflinePackageError(
            f"回执方 {ack.receiver!r} 未登记 / {ack.receiver!r} is not a registered peer"
        )
    try:
        verify_signature(cert, _canonical(_ack_fields(ack)), signature)
    except (InvalidSignature, InvalidInput) as exc:
        raise OfflinePackageTampered(
            f"回执签名验证失败 / acknowledgement signature does not verify: {exc}"
        ) from exc
    return ack
