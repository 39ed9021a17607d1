"""The TOML configuration of one party's ``ezhifu serve`` (see docs/service.md).

Read with :func:`load_service_config`: size-bounded, every key checked, every relative path
resolved against the file's directory, secrets only by reference (``password_env`` /
``password_file`` in ``[keystore]``, handled by :func:`ezhifu.keystore.base.load_config`).
Unknown keys, wrong types and out-of-range numbers raise
:class:`~ezhifu.errors.ConfigurationError` naming the key and the file.

Tables: ``[party]`` (id, org_type, name), ``[server]`` (host, port, limits, TLS),
``[store]`` (``kind = "sqlite"`` with ``path``, or ``"postgresql"`` with ``dsn``),
``[keystore]`` (the SafeBox's keystore, spec.md §7),
``[trust]`` (anchors by purpose: roots, seal_makers, tsas),
``[positions."VtCode".position]`` (the SafeBox position table, spec.md §5.1), ``[signing]``
(link key alias and the positions outgoing vouchers and receipts are signed at),
``[peers.ID]`` (url, cert, org_type, vt_codes it may send), ``[rights."certID"]``
(operations and vt_codes; everything else is EVS112), ``[routes]`` (VtCode → peer).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ezhifu.errors import ConfigurationError
from ezhifu.keystore.base import load_config

__all__ = [
    "MAX_CONFIG_BYTES",
    "PeerConfig",
    "Rights",
    "ServiceConfig",
    "load_service_config",
]

#: A service configuration larger than this is refused.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_PEERS = 64
MAX_RIGHTS = 1024

_TABLES = {
    "party",
    "server",
    "store",
    "keystore",
    "trust",
    "positions",
    "signing",
    "peers",
    "rights",
    "routes",
}
_SERVER_KEYS = {
    "host",
    "port",
    "max_request_bytes",
    "request_timeout",
    "flush_interval",
    "backoff_max",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "oplog",
}


@dataclass(frozen=True, slots=True)
class PeerConfig:
    party_id: str
    url: str
    cert: Path
    org_type: str
    #: VtCodes this peer may send us (empty: all)
    vt_codes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Rights:
    """What one certID may call: operation names and VtCodes (``"*"`` for all)."""

    operations: frozenset[str]
    vt_codes: frozenset[str]

    def allows(self, operation: str, vt_code: str) -> bool:
        return ("*" in self.operations or operation in self.operations) and (
            "*" in self.vt_codes or vt_code in self.vt_codes
        )


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    path: Path
    party_id: str
    org_type: str
    name: str
    host: str = "127.0.0.1"
    port: int = 8700
    max_request_bytes: int = 16 * 1024 * 1024
    request_timeout: float = 30.0
    flush_interval: float = 0.5
    backoff_max: float = 30.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    oplog: Path | None = None
    store_kind: str = "sqlite"
    store_path: Path | None = None
    store_dsn: str | None = None
    keystore: Mapping[str, Any] = field(default_factory=dict)
    trust_roots: tuple[Path, ...] = ()
    #: Seal makers' (制章者) anchors; none means every seal is refused (docs/security.md).
    trust_seal_makers: tuple[Path, ...] = ()
    #: Time-stamping authorities' anchors (RFC 3161).
    trust_tsas: tuple[Path, ...] = ()
    positions: Mapping[str, Any] = field(default_factory=dict)
    link_alias: str = ""
    sign_positions: tuple[str, ...] = ()
    peers: Mapping[str, PeerConfig] = field(default_factory=dict)
    rights: Mapping[str, Rights] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.base = file.resolve().parent

    def fail(self, where: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"{self.file}: {where}: {problem} / 配置错误")

    def table(self, data: Mapping[str, Any], name: str, allowed: set[str] | None = None) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{name}]", "must be a table")
        if allowed is not None:
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise self.fail(f"[{name}]", f"unknown key(s) {', '.join(unknown)}")
        return value

    def tables(
        self, data: Mapping[str, Any], name: str, allowed: set[str], limit: int, what: str
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(key, where, table)`` of each ``[name.key]`` table: at most ``limit``, only ``allowed`` keys."""
        tables = self.table(data, name)
        if len(tables) > limit:
            raise self.fail(f"[{name}]", f"at most {limit} {what}")
        for key, spec in tables.items():
            where = f"[{name}.{key}]"
            if not isinstance(spec, dict):
                raise self.fail(where, "must be a table")
            unknown = sorted(set(spec) - allowed)
            if unknown:
                raise self.fail(where, f"unknown key(s) {', '.join(unknown)}")
            yield key, where, spec

    def text(self, table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value or len(value) > 4096:
            raise self.fail(f"{where}.{key}", "must be a non-empty string (at most 4096 characters)")
        return value

    def number(
        self, table: Mapping[str, Any], key: str, where: str, default: float, low: float, high: float
    ) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self.fail(f"{where}.{key}", f"must be a number between {low} and {high}")
        return float(value)

    def path(self, value: object, where: str) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(where, "must be a path")
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.base / candidate

    def names(self, table: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
        value = table.get(key, [])
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v for v in value)
            or len(value) > 1000
        ):
            raise self.fail(f"{where}.{key}", "must be a list of at most 1000 strings")
        return frozenset(value)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        size = file.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigurationError(
                f"{file}: {size} bytes exceeds the {MAX_CONFIG_BYTES} bytes of a configuration"
            )
        return tomllib.loads(file.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot read the service configuration: {exc.strerror}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{file}: not valid UTF-8 TOML: {exc}") from exc


def _peers(r: _Reader, data: Mapping[str, Any]) -> dict[str, PeerConfig]:
    out = {}
    for party, where, spec in r.tables(
        data, "peers", {"url", "cert", "org_type", "vt_codes"}, MAX_PEERS, "peers"
    ):
        url = r.text(spec, "url", where)
        if not url.startswith(("http://", "https://")):
            raise r.fail(f"{where}.url", "must start with http:// or https://")
        out[party] = PeerConfig(
            party,
            url,
            r.path(spec.get("cert"), f"{where}.cert"),
            r.text(spec, "org_type", where),
            r.names(spec, "vt_codes", where),
        )
    return out


def _rights(r: _Reader, data: Mapping[str, Any]) -> dict[str, Rights]:
    out = {}
    for cert_id, where, spec in r.tables(data, "rights", {"operations", "vt_codes"}, MAX_RIGHTS, "certIDs"):
        out[cert_id] = Rights(r.names(spec, "operations", where), r.names(spec, "vt_codes", where))
    return out


def load_service_config(path: str | os.PathLike[str]) -> ServiceConfig:
    """Read and check a service configuration file."""
    file = Path(path)
    data = _read_toml(file)
    r = _Reader(file)
    unknown = sorted(set(data) - _TABLES)
    if unknown:
        raise r.fail("top level", f"unknown table(s) {', '.join(unknown)}")
    party = r.table(data, "party", {"id", "org_type", "name"})
    server = r.table(data, "server", _SERVER_KEYS)
    store = r.table(data, "store", {"kind", "path", "dsn"})
    trust = r.table(data, "trust", {"roots", "seal_makers", "tsas"})
    signing = r.table(data, "signing", {"link_alias", "positions"})
    routes = r.table(data, "routes")
    kind = store.get("kind", "sqlite")
    if kind not in ("sqlite", "postgresql"):
        raise r.fail("[store].kind", "must be 'sqlite' or 'postgresql'")
    optional = {
        k: r.path(server[k], f"[server].{k}")
        for k in ("tls_cert", "tls_key", "tls_client_ca", "oplog")
        if k in server
    }
    if ("tls_cert" in optional) != ("tls_key" in optional):
        raise r.fail("[server]", "tls_cert and tls_key go together")
    roots = trust.get("roots", [])
    if not isinstance(roots, list) or not roots:
        raise r.fail("[trust].roots", "must list at least one root certificate file")
    for key in ("seal_makers", "tsas"):
        if not isinstance(trust.get(key, []), list):
            raise r.fail(f"[trust].{key}", "must be a list of certificate files")
    peers = _peers(r, data)
    for vt_code, peer in routes.items():
        if not isinstance(peer, str) or peer not in peers:
            raise r.fail(f"[routes].{vt_code}", f"must name a configured peer, not {peer!r}")
    return ServiceConfig(
        path=file,
        party_id=r.text(party, "id", "[party]"),
        org_type=r.text(party, "org_type", "[party]"),
        name=str(party.get("name", "")),
        host=r.text(server, "host", "[server]", "127.0.0.1"),
        port=int(r.number(server, "port", "[server]", 8700, 0, 65535)),
        max_request_bytes=int(
            r.number(server, "max_request_bytes", "[server]", 16 * 2**20, 1024, 256 * 2**20)
        ),
        request_timeout=r.number(server, "request_timeout", "[server]", 30.0, 0.1, 3600),
        flush_interval=r.number(server, "flush_interval", "[server]", 0.5, 0.01, 3600),
        backoff_max=r.number(server, "backoff_max", "[server]", 30.0, 0.1, 3600),
        tls_cert=optional.get("tls_cert"),
        tls_key=optional.get("tls_key"),
        tls_client_ca=optional.get("tls_client_ca"),
        oplog=optional.get("oplog"),
        store_kind=kind,
        store_path=r.path(store.get("path"), "[store].path") if kind == "sqlite" else None,
        store_dsn=r.text(store, "dsn", "[store]") if kind == "postgresql" else None,
        keystore=load_config(file) if "keystore" in data else {},
        trust_roots=tuple(r.path(p, "[trust].roots") for p in roots),
        trust_seal_makers=tuple(r.path(p, "[trust].seal_makers") for p in trust.get("seal_makers", [])),
        trust_tsas=tuple(r.path(p, "[trust].tsas") for p in trust.get("tsas", [])),
        positions=r.table(data, "positions"),
        link_alias=r.text(signing, "link_alias", "[signing]"),
        sign_positions=tuple(sorted(r.names(signing, "positions", "[signing]"), key=str)),
        peers=peers,
        rights=_rights(r, data),
        routes=dict(routes),
    )
