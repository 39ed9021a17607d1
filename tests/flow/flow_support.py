"""Support for the flow tests: a three-party network (财政, 人民银行, 代理银行) on an SM2 test PKI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict

from asn1crypto import x509

from ezhifu.cli.demo import seal_picture_png
from ezhifu.crypto import PrivateKey
from ezhifu.document.envelope import VoucherBody
from ezhifu.flow.library import Party, VoucherLibrary
from ezhifu.flow.store import SQLiteStore
from ezhifu.flow.transport import InMemoryTransport, Transport
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.make import make_seal
from ezhifu.sign.voucher import sign_body
from ezhifu.testing.pki import TestPKI, make_pki

PARTIES = {
    "finance": ("011", "财政", "cz"),
    "pbc": ("001", "人民银行", "rh"),
    "bank": ("102", "代理银行", "yh"),
}
VT_CODES = ("5201", "2301", "3507", "2507", "5507", "8202")
_POSITION_NAMES = {f"{prefix}_qm": f"{name}签名" for _, name, prefix in PARTIES.values()} | {
    f"{prefix}_gz": f"{name}公章" for _, name, prefix in PARTIES.values()
}
POSITIONS = {vt: dict(_POSITION_NAMES) for vt in VT_CODES}
ADM, YEAR = "420000", "2024"


class Ids(TypedDict):
    """The identifiers every §6 operation takes (typed so that ``**IDS`` type-checks)."""

    adm_div_code: str
    st_year: str


IDS: Ids = {"adm_div_code": ADM, "st_year": YEAR}
Material = tuple[TestPKI, dict[str, tuple[x509.Certificate, PrivateKey]], dict[str, bytes]]


@dataclass
class Network:
    pki: TestPKI
    trust: TrustStore
    transport: Transport
    libs: dict[str, VoucherLibrary] = field(default_factory=dict)
    signers: dict[str, SoftwareSigner] = field(default_factory=dict)
    seals: dict[str, bytes] = field(default_factory=dict)
    certs: dict[str, x509.Certificate] = field(default_factory=dict)

    def __getitem__(self, party: str) -> VoucherLibrary:
        return self.libs[party]

    def pump(self, rounds: int = 6) -> None:
        """Let every library process its deliveries until the network is quiet."""
        for _ in range(rounds):
            if not any(lib.poll() for lib in self.libs.values()):
                return

    def sealer(self, party: str) -> Callable[[VoucherBody], None]:
        prefix = PARTIES[party][2]
        signer, seal = self.signers[party], self.seals[party]

        def seal_body(body: VoucherBody) -> None:
            sign_body(body, signer, f"{prefix}_qm")
            apply_seal(body, seal, signer, f"{prefix}_gz")

        return seal_body


def make_material() -> Material:
    pki = make_pki("sm2")
    maker_cert, maker_key = pki.issue_leaf("seal maker 制章机构")
    maker = SoftwareSigner(maker_key, maker_cert)
    now = datetime.now(UTC).replace(microsecond=0)
    leaves: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
    seals: dict[str, bytes] = {}
    picture = seal_picture_png()
    for i, (party, (_, name, _)) in enumerate(PARTIES.items()):
        cert, key = pki.issue_leaf(f"{name} {party}")
        leaves[party] = (cert, key)
        seals[party] = make_seal(
            maker,
            seal_id=f"{party}-seal-{i:02d}",
            name=f"{name}业务专用章",
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=365),
            holder_certs=[cert],
            picture=picture,
            width_mm=40,
            height_mm=40,
            version="v4",
        )
    return pki, leaves, seals


def build_network(
    material: Material,
    directory: Path | None = None,
    transport: Transport | None = None,
) -> Network:
    pki, leaves, seals = material
    net = Network(
        pki=pki,
        trust=TrustStore(roots=[pki.root_cert], seal_makers=[pki.root_cert]),
        transport=transport or InMemoryTransport(),
    )
    for party, (cert, key) in leaves.items():
        net.signers[party] = SoftwareSigner(key, cert)
        net.certs[party] = cert
        net.seals[party] = seals[party]
    for party, (org, name, _) in PARTIES.items():
        store = SQLiteStore(directory / f"{party}.db" if directory else ":memory:")
        net.libs[party] = VoucherLibrary(
            Party(party, org, name),
            store=store,
            transport=net.transport,
            trust=net.trust,
            link_signer=net.signers[party],
            peers={p: c for p, c in net.certs.items() if p != party},
            sealer=net.sealer(party),
            positions=POSITIONS,
            party_certs={p: [c] for p, c in net.certs.items()},
        )
    return net
