"""A demo network of voucher libraries on a test PKI (drills, examples; never production).

:func:`demo_network` builds 财政 (``finance``), 代理银行 (``bank``) and 人民银行 (``pbc``): an SM2
test PKI (:func:`~ezhifu.testing.pki.make_pki`), one GB/T 38540 v4 seal per party, one SQLite
library per party (in ``directory``, or in memory) over an :class:`InMemoryTransport` whose link
can be cut (:meth:`DemoNetwork.set_link`). ``ezhifu contingency drill`` runs its drill on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ezhifu.document.envelope import VoucherBody
from ezhifu.flow.library import Party, Sealer, VoucherLibrary
from ezhifu.flow.store import SQLiteStore
from ezhifu.flow.transport import InMemoryTransport
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.apply import apply_seal
from ezhifu.sign.voucher import sign_body
from ezhifu.testing.pki import make_pki, make_test_seal

__all__ = ["DEMO_PARTIES", "DemoNetwork", "demo_network"]

#: party id -> (org type, name, position prefix); spec.md §1 org types, §5.1 position naming.
DEMO_PARTIES = {
    "finance": ("011", "财政", "cz"),
    "bank": ("102", "代理银行", "yh"),
    "pbc": ("001", "人民银行", "rh"),
}
_VT_CODES = ("5201", "8202", "2301", "3507", "2507", "5507")
#: A red ring as the demo seal picture (SVG).
_PICTURE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240">'
    b'<circle cx="120" cy="120" r="110" stroke="#d62027" stroke-width="8" fill="none"/></svg>'
)


@dataclass
class DemoNetwork:
    transport: InMemoryTransport
    libs: dict[str, VoucherLibrary] = field(default_factory=dict)

    def __getitem__(self, party: str) -> VoucherLibrary:
        return self.libs[party]

    def set_link(self, up: bool) -> None:
        self.transport.link_up = up

    def close(self) -> None:
        for lib in self.libs.values():
            lib.store.close()


def demo_network(directory: str | Path | None = None) -> DemoNetwork:
    """Three libraries on a fresh SM2 test PKI (see the module documentation)."""
    pki = make_pki("sm2")
    # The seal maker (制章者) has its own root: anchors by purpose (docs/security.md).
    maker_pki = make_pki("sm2")
    trust = TrustStore(roots=[pki.root_cert], seal_makers=[maker_pki.root_cert])
    maker_cert, maker_key = maker_pki.issue_leaf("演示制章机构 demo seal maker")
    maker = SoftwareSigner(maker_key, maker_cert)
    now = datetime.now(UTC).replace(microsecond=0)
    signers: dict[str, SoftwareSigner] = {}
    seals: dict[str, bytes] = {}
    for i, (party, (_, name, _)) in enumerate(DEMO_PARTIES.items()):
        cert, key = pki.issue_leaf(f"{name} {party}")
        signers[party] = SoftwareSigner(key, cert)
        seals[party] = make_test_seal(
            maker,
            seal_id=f"{party}-demo-{i:02d}",
            name=f"{name}业务专用章",
            holder=cert,
            picture=_PICTURE,
            now=now,
        )
    names = {f"{p}_qm": f"{n}签名" for _, n, p in DEMO_PARTIES.values()}
    names |= {f"{p}_gz": f"{n}业务专用章" for _, n, p in DEMO_PARTIES.values()}
    net = DemoNetwork(InMemoryTransport())
    for party, (org, name, prefix) in DEMO_PARTIES.items():
        net.libs[party] = VoucherLibrary(
            Party(party, org, name),
            store=SQLiteStore(Path(directory) / f"{party}.db" if directory else ":memory:"),
            transport=net.transport,
            trust=trust,
            link_signer=signers[party],
            peers={p: s.certificate for p, s in signers.items() if p != party and s.certificate},
            sealer=_sealer(signers[party], seals[party], prefix),
            positions={vt: dict(names) for vt in _VT_CODES},
            party_certs={p: [s.certificate] for p, s in signers.items() if s.certificate},
        )
    return net


def _sealer(signer: SoftwareSigner, seal: bytes, prefix: str) -> Sealer:
    def seal_body(body: VoucherBody) -> None:
        sign_body(body, signer, f"{prefix}_qm")
        apply_seal(body, seal, signer, f"{prefix}_gz")

    return seal_body
