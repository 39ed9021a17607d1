"""A ready-to-run three-party service setup (``ezhifu demo --service DIR``). TEST ONLY.

:func:`write_service_setup` writes, for 财政 (``finance``), 人民银行 (``pbc``) and an agent bank
(``bank``): an SM2 test PKI (``root.pem``; never for production), one encrypted file keystore
per party holding its signing key and a v4 test seal (password in a 0600 file beside it),
each party's certificate, and ``finance.toml`` / ``pbc.toml`` / ``bank.toml`` with ports on
127.0.0.1, the position table, rights for certID ``001`` and the peers. Start each with
``ezhifu serve DIR/finance.toml`` (and pbc, bank).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import pem

from ezhifu._fileio import atomic_write
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.testing.pki import make_pki, make_test_seal

__all__ = ["PARTIES", "SERVICE_VT_CODES", "ServiceParty", "write_service_setup"]

#: The VtCodes the demo position tables and rights cover.
SERVICE_VT_CODES = ("5201", "5207", "5209", "2301", "2302", "8202", "5106", "5108", "3507", "2507", "5507")


@dataclass(frozen=True, slots=True)
class ServiceParty:
    party_id: str
    org_type: str
    name: str
    prefix: str
    port_offset: int


PARTIES = (
    ServiceParty("finance", "011", "财政", "cz", 0),
    ServiceParty("pbc", "001", "人民银行", "rh", 1),
    ServiceParty("bank", "102", "代理银行", "yh", 2),
)


def _seal_id(party: ServiceParty) -> str:
    return f"{party.party_id}-seal-{party.port_offset:02d}"


def _positions(me: ServiceParty) -> str:
    lines = []
    for vt in SERVICE_VT_CODES:
        for party in PARTIES:
            alias = party.party_id if party is me else ""
            lines += [
                f'[positions."{vt}".{party.prefix}_qm]',
                f'kind = "signature"\nalias = "{alias}"\nname = "{party.name}签名"',
                f'[positions."{vt}".{party.prefix}_gz]',
                f'kind = "stamp"\nalias = "{alias}"\nseal = "{_seal_id(party)}"',
                f'name = "{party.name}业务专用章"',
            ]
    return "\n".join(lines)


def _config(me: ServiceParty, base_port: int, store: str) -> str:
    peers = []
    for party in PARTIES:
        if party is me:
            continue
        peers.append(
            f'[peers.{party.party_id}]\nurl = "http://127.0.0.1:{base_port + party.port_offset}"\n'
            f'cert = "{party.party_id}.pem"\norg_type = "{party.org_type}"'
        )
    routes = {
        "finance": {"5201": "pbc", "5207": "pbc", "5106": "bank"},
        "bank": {"2301": "pbc", "2302": "pbc"},
    }
    route_lines = "\n".join(f'"{vt}" = "{peer}"' for vt, peer in routes.get(me.party_id, {}).items())
    return f"""# ezhifu serve configuration of {me.name} ({me.party_id}): TEST SETUP, test keys only.
[party]
id = "{me.party_id}"
org_type = "{me.org_type}"
name = "{me.name}"

[server]
host = "127.0.0.1"
port = {base_port + me.port_offset}
max_request_bytes = 16777216
request_timeout = 60
flush_interval = 0.2
backoff_max = 2
oplog = "{me.party_id}-operations.jsonl"

[store]
{store}

[keystore]
type = "file"
path = "{me.party_id}-keystore"
password_file = "{me.party_id}-keystore.password"

[trust]
roots = ["root.pem"]
seal_makers = ["seal-maker-root.pem"]

[signing]
link_alias = "{me.party_id}"
positions = ["{me.prefix}_qm", "{me.prefix}_gz"]

[rights."001"]
operations = ["*"]
vt_codes = ["*"]

[routes]
{route_lines}

{chr(10).join(peers)}

{_positions(me)}
"""


def write_service_setup(
    directory: str | Path,
    *,
    picture: bytes,
    base_port: int = 8701,
    postgres_dsn: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write the setup into ``directory``; returns ``{party id: config path}``.

    ``picture`` is the seals' picture (PNG; ``ezhifu.cli.demo.seal_picture_png()`` makes one).
    ``postgres_dsn`` maps a party to a PostgreSQL DSN for its store (default: SQLite files).
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    pki = make_pki("sm2")
    atomic_write(folder / "root.pem", pem.armor("CERTIFICATE", pki.root_cert.dump()), mode=0o644)
    # The seal maker (制章者) under its own root: anchors by purpose (docs/security.md).
    maker_pki = make_pki("sm2")
    maker_root = pem.armor("CERTIFICATE", maker_pki.root_cert.dump())
    atomic_write(folder / "seal-maker-root.pem", maker_root, mode=0o644)
    maker_cert, maker_key = maker_pki.issue_leaf("ezhifu 测试制章机构 (test only)")
    maker = SoftwareSigner(maker_key, maker_cert)
    now = datetime.now(UTC).replace(microsecond=0)
    paths: dict[str, Path] = {}
    for party in PARTIES:
        cert, key = pki.issue_leaf(f"{party.name} {party.party_id} (test only)")
        atomic_write(folder / f"{party.party_id}.pem", pem.armor("CERTIFICATE", cert.dump()), mode=0o644)
        password = secrets.token_urlsafe(18)
        atomic_write(folder / f"{party.party_id}-keystore.password", password.encode() + b"\n", mode=0o600)
        store = EncryptedFileKeyStore.init(folder / f"{party.party_id}-keystore", password, scrypt_n=2**12)
        store.import_key(party.party_id, key, [cert, pki.root_cert])
        seal = make_test_seal(
            maker,
            seal_id=_seal_id(party),
            name=f"{party.name}业务专用章（测试）",
            holder=cert,
            picture=picture,
            now=now,
        )
        store.add_seal(_seal_id(party), seal)
        store.close()
        dsn = (postgres_dsn or {}).get(party.party_id)
        store_table = (
            f'kind = "postgresql"\ndsn = "{dsn}"' if dsn else f'kind = "sqlite"\npath = "{party.party_id}.db"'
        )
        config = folder / f"{party.party_id}.toml"
        atomic_write(config, _config(party, base_port, store_table).encode("utf-8"), mode=0o644)
        paths[party.party_id] = config
    return paths
