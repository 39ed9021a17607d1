"""The parties file: who may sign or stamp at which position (docs/parties.md).

A parties file (TOML, read with :func:`ezhifu._fileio.read_config`) names the parties and binds
every position of a voucher template (spec.md §5.1) to one of them::

    [parties.finance]                 # 财政
    certs = ["finance-signer.pem"]    # pinned certificates, and/or
    anchors = ["finance-ca.pem"]      # any certificate issued under these
    [positions.5201]
    cz_dwfz  = { party = "finance", kind = "signature", required = true }
    rh_ywzqz = { party = "pbc", kind = "seal", on_receipt = true }

Its ``[positions]`` table IS the position table (:class:`ezhifu.document.positions.PositionTable`,
one format): a position table file without ``[parties]`` still reads as before. Certificate
paths are relative to the parties file. :func:`bind_body` is the ``party`` step of the spine
(spec.md §5.1): it refuses an item by a certificate not of the position's party, the wrong kind
at a position, one signature counted at two positions, a body missing a ``required`` position
and a receipt (``VoucherFlag`` 1) missing an ``on_receipt`` position.

For worker processes and Dask tasks a loaded :class:`Parties` keeps its
:class:`PartiesSource`: the bytes of the parties file and of every certificate file it names,
plain data that pickles under any start method. A worker rebuilds the same :class:`Parties`
from those bytes with the same code (:meth:`PartiesSource.parse`), so its verdicts are those of
a single-process run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ezhifu._fileio import config_table, parse_config, read_config_bytes
from ezhifu.document.positions import PositionTable
from ezhifu.errors import ConfigurationError, EzhifuError
from ezhifu.pki.certs import cert_info, certificate_label, load_certificates
from ezhifu.results import BodyResult, ItemResult, SignerInfo, StepLog

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.document.envelope import VoucherBody

__all__ = ["MAX_PARTIES", "MAX_PARTY_FILES", "Parties", "PartiesSource", "Party", "bind_body"]

#: Most parties one file may name.
MAX_PARTIES: Final = 1_000
#: Most certificate files one party may list (``certs`` and ``anchors`` together).
MAX_PARTY_FILES: Final = 100
_PARTY_KEYS = frozenset({"certs", "anchors", "name"})
#: The item kind of a position kind.
_ITEM_KIND = {"signature": "signature", "stamp": "seal"}


@dataclass(frozen=True, slots=True)
class Party:
    """One party: its pinned certificates and the anchors its certificates are issued under."""

    name: str
    certs: tuple[SignerInfo, ...] = ()
    anchors: tuple[SignerInfo, ...] = ()
    anchor_labels: tuple[str, ...] = ()

    def owns(self, item: ItemResult) -> bool:
        """Whether ``item``'s signer is a pinned certificate of this party or chains to one of
        its anchors (the chain's anchor, or the signer's issuer, is one of them)."""
        signer = item.signer
        if signer is None:
            return False
        if any(signer.issuer == c.issuer and signer.serial_hex == c.serial_hex for c in self.certs):
            return True
        if any(label in item.anchors for label in self.anchor_labels):
            return True
        return any(signer.issuer == a.subject for a in self.anchors)


#: Reads a certificate file named in a parties file (the name as written there).
_Reader = Callable[[str], bytes]


def _cert_files(file: Path, party: str, key: str, value: object, read: _Reader) -> list[x509.Certificate]:
    where = f"{file}: parties.{party}.{key}"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{where}: 必须是文件名列表 / must be a list of file names")
    certs: list[x509.Certificate] = []
    for index, name in enumerate(value):
        try:
            certs.extend(load_certificates(read(name), what=f"{where}[{index}] {name}"))
        except OSError as exc:
            raise ConfigurationError(
                f"{where}[{index}]: 无法读取 / cannot read {name}: {exc.strerror}"
            ) from exc
        except EzhifuError as exc:
            raise ConfigurationError(f"{where}[{index}]: {exc}") from exc
    return certs


def _party(file: Path, name: str, spec: object, read: _Reader) -> Party:
    where = f"{file}: parties.{name}"
    spec = config_table(spec, where, _PARTY_KEYS, hint="certs, anchors")
    certs_spec, anchors_spec = spec.get("certs", []), spec.get("anchors", [])
    if isinstance(certs_spec, list) and isinstance(anchors_spec, list):
        if len(certs_spec) + len(anchors_spec) > MAX_PARTY_FILES:
            raise ConfigurationError(f"{where}: 超过 / more than {MAX_PARTY_FILES} certificate files")
        if not certs_spec and not anchors_spec:
            raise ConfigurationError(f"{where}: 需要 certs 或 anchors / needs 'certs' or 'anchors'")
    certs = _cert_files(file, name, "certs", certs_spec, read)
    anchors = _cert_files(file, name, "anchors", anchors_spec, read)
    return Party(
        name,
        tuple(cert_info(c) for c in certs),
        tuple(cert_info(a) for a in anchors),
        tuple(certificate_label(a) for a in anchors),
    )


@dataclass(frozen=True, slots=True)
class PartiesSource:
    """A parties file as plain data: its name (for messages), its bytes and the bytes of every
    certificate file it names (``(name as written, bytes)``). Picklable under every
    multiprocessing start method and hashable (one worker cache entry per configuration)."""

    file: str
    data: bytes
    files: tuple[tuple[str, bytes], ...] = ()

    def parse(self) -> Parties:
        """The :class:`Parties` of these bytes, built by the code :meth:`Parties.load` uses."""
        files = dict(self.files)

        def read(name: str) -> bytes:
            if name not in files:
                raise ConfigurationError(f"{self.file}: 缺少证书文件 / certificate file {name!r} not shipped")
            return files[name]

        return _parse(Path(self.file), self.data, read, self)


@dataclass(frozen=True, slots=True)
class Parties:
    """The parties and the position table of one parties file (``source``: its bytes, for
    worker processes; ``None`` for a :class:`Parties` built in code)."""

    parties: Mapping[str, Party]
    positions: PositionTable
    source: PartiesSource | None = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Parties:
        """Read a parties file; errors (:class:`~ezhifu.errors.ConfigurationError`) name the
        file and the key (a TOML syntax error its line)."""
        file = Path(path)
        raw = read_config_bytes(file, what="the parties file")
        read: dict[str, bytes] = {}

        def reader(name: str) -> bytes:
            read[name] = (file.parent / name).read_bytes()
            return read[name]

        parties = _parse(file, raw, reader, None)
        return dataclasses.replace(parties, source=PartiesSource(str(file), raw, tuple(read.items())))


def _parse(file: Path, raw: bytes, read: _Reader, source: PartiesSource | None) -> Parties:
    data = parse_config(raw, file, what="the parties file")
    table_data = data.get("parties", {})
    if not isinstance(table_data, Mapping):
        raise ConfigurationError(f"{file}: parties 必须是表 / 'parties' must be a table")
    if len(table_data) > MAX_PARTIES:
        raise ConfigurationError(f"{file}: 超过 / more than {MAX_PARTIES} parties")
    parties = {str(n): _party(file, str(n), spec, read) for n, spec in table_data.items()}
    try:
        table = PositionTable.from_mapping({"positions": data.get("positions", {})})
    except ConfigurationError as exc:
        raise ConfigurationError(f"{file}: {exc}") from exc
    for vt_code in table.vt_codes():
        for position, entry in table.positions(vt_code).items():
            if entry.party not in parties:
                raise ConfigurationError(
                    f"{file}: positions.{vt_code}.{position}: 未知的 party / unknown party "
                    f"{entry.party!r} (parties: {', '.join(sorted(parties)) or 'none'})"
                )
            if entry.kind is None:
                raise ConfigurationError(
                    f"{file}: positions.{vt_code}.{position}: 需要 kind / needs kind (signature or seal)"
                )
    return Parties(parties, table, source)


def _bound(item: ItemResult, log: StepLog) -> ItemResult:
    if not log.failures:
        return dataclasses.replace(item, steps=(*item.steps, *log.steps))
    return dataclasses.replace(
        item, valid=False, reason=item.reason or log.reason, steps=(*item.steps, *log.steps)
    )


def _bind_item(
    item: ItemResult, vt_code: str, parties: Parties, seen: dict[str, str], value: str
) -> ItemResult:
    log = StepLog()
    entry = parties.positions.positions(vt_code).get(item.position)
    earlier = seen.get(value)
    if earlier is not None and earlier != item.position:
        log.fail("party", f"the same {item.kind} is already counted at position {earlier!r}")
    seen.setdefault(value, item.position)
    if entry is None:
        log.fail("party", f"position {item.position!r} is not bound to a party for VtCode {vt_code!r}")
        return _bound(item, log)
    if _ITEM_KIND.get(entry.kind or "") != item.kind:
        log.fail(
            "party",
            f"position {item.position!r} takes a {_ITEM_KIND.get(entry.kind or '')}, not a {item.kind}",
        )
    elif not parties.parties[entry.party].owns(item):
        who = item.signer.subject if item.signer else "an unknown signer"
        log.fail(
            "party", f"{who} is not of party {entry.party!r}, which position {item.position!r} belongs to"
        )
    if not log.failures:
        log.ok("party", f"by party {entry.party!r}", party=entry.party)
    return _bound(item, log)


def bind_body(result: BodyResult, body: VoucherBody, vt_code: str, parties: Parties) -> BodyResult:
    """The ``party`` step for every item of ``result`` and the body's required positions.

    ``vt_code`` is the signed inner voucher's VtCode (never the envelope attribute).
    """
    values = [e.value for e in body.signatures] + [e.value for e in body.stamps]
    seen: dict[str, str] = {}
    items = tuple(
        _bind_item(item, vt_code, parties, seen, "".join(value.split()))
        for item, value in zip(result.items, values, strict=True)
    )
    present = {i.position for i in items if i.valid}
    receipt = body.voucher_flag.strip() == "1"
    problems: list[str] = []
    for position, entry in sorted(parties.positions.positions(vt_code).items()):
        if position in present:
            continue
        if entry.required:
            kind = _ITEM_KIND[entry.kind or "signature"]
            problems.append(f"required position {position!r} ({entry.party}) has no valid {kind}")
        elif entry.on_receipt and receipt:
            problems.append(f"receipt (VoucherFlag 1) lacks position {position!r} ({entry.party})")
    return dataclasses.replace(result, items=items, problems=(*result.problems, *problems))
