"""ezhifu.crypto.oids: THE OID registry, and the crypto/pki import direction (issue 12 item 1)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from asn1crypto import algos, cms, keys

from ezhifu.crypto import oids
from ezhifu.crypto.base import SignatureAlgorithm, signature_algorithm_for

SRC = Path(__file__).resolve().parents[2] / "src" / "ezhifu"
_OID_LITERAL = re.compile(r"""["'](?:1\.2\.156|1\.2\.840|2\.16\.840|1\.3\.14|1\.3\.6\.1)\.[0-9.]+["']""")


def test_every_entry_is_unique_and_sourced() -> None:
    assert len(oids.BY_NAME) == len(oids.REGISTRY)
    assert len(oids.BY_DOTTED) == len(oids.REGISTRY)
    for entry in oids.REGISTRY:
        assert re.fullmatch(r"[0-2](\.\d+)+", entry.dotted), entry
        assert entry.source and entry.means, entry
        if entry.kind in ("digest", "prf"):
            assert entry.digest, entry
        if entry.kind == "signature":
            assert entry.key in ("sm2", "rsa", "ec"), entry


def test_signature_algorithms_come_from_the_registry() -> None:
    for algorithm in SignatureAlgorithm:
        entry = oids.BY_DOTTED[algorithm.signature_oid]
        assert entry.kind == "signature"
        assert (entry.key, entry.digest) == (algorithm.key_kind, algorithm.digest_name)
        assert oids.BY_DOTTED[algorithm.digest_oid].digest == algorithm.digest_name
        identifier = algos.SignedDigestAlgorithm({"algorithm": algorithm.signature_oid})
        assert signature_algorithm_for(identifier) is algorithm
    assert oids.SIGNATURE_DIGESTS[oids.dotted("sm3-with-rsa")] == "sm3"
    assert oids.SIGNATURE_KINDS[oids.OID_SM2_SIGN] == ("sm2", None)
    assert oids.name_of("1.2.3.4") == "1.2.3.4" and oids.name_of(oids.OID_SM3) == "sm3"
    with pytest.raises(KeyError):
        oids.dotted("no-such-name")


def test_gm_oids_are_registered_in_asn1crypto() -> None:
    oids.register()
    oids.register()  # idempotent
    assert keys.NamedCurve._map[oids.OID_SM2] == oids.SM2_CURVE_NAME
    assert algos.SignedDigestAlgorithmId._map[oids.OID_SM2_WITH_SM3] == "sm3_sm2"
    for dotted, name in oids.CONTENT_TYPE_NAMES.items():
        assert cms.ContentType._map[dotted] == name


def test_no_oid_literal_outside_the_registry() -> None:
    """Every OID in src/ is written once, in crypto/oids.py."""
    offenders = [
        f"{path.relative_to(SRC)}:{lineno}"
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "oids.py"
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _OID_LITERAL.search(line)
    ]
    assert offenders == []


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("ezhifu")}


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("crypto", ("ezhifu.errors", "ezhifu.crypto")),
        ("pki", ("ezhifu.errors", "ezhifu.results", "ezhifu._lazy", "ezhifu.crypto", "ezhifu.pki")),
    ],
)
def test_layer_imports_only_downwards(package: str, allowed: tuple[str, ...]) -> None:
    """crypto imports nothing from pki or above; pki nothing above results/crypto."""
    bad = {
        f"{path.relative_to(SRC)} -> {name}"
        for path in sorted((SRC / package).rglob("*.py"))
        for name in _imports(path)
        if not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
    }
    assert bad == set()


def test_sm2_providers_do_not_import_their_package() -> None:
    """The sm2 package <-> providers cycle is gone: providers import sm2.curve only."""
    for name in ("python.py", "openssl.py", "curve.py"):
        imported = _imports(SRC / "crypto" / "sm2" / name)
        assert "ezhifu.crypto.sm2" not in imported, name
        assert not any(i.startswith("ezhifu.crypto.sm2.keys") for i in imported), name
