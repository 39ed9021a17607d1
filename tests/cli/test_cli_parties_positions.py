"""Positions beyond the vocabulary, declared by a parties file (issue 15 Build 5), and the API
validating first like the command line (``sign_envelope`` / ``stamp_envelope``).

``sign`` and ``seal apply`` accept a position that the ``--parties FILE`` declares under
``[positions.VTCODE]`` for the VtCode of the vouchers; any other name outside the vocabulary is
still a usage error (exit 2) naming the vocabulary. The API does the same with
``positions=Parties.load(FILE).positions``. Real keys: the demo's throwaway test PKI and seal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import x509
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.crypto.base import Signer
from ezhifu.document.envelope import Envelope
from ezhifu.document.positions import PositionTable, check_position_name
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import SchemaValidationError, UnknownPosition
from ezhifu.pki.certs import load_certificates
from ezhifu.pki.keys import load_private_key
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.seal.apply import stamp_envelope
from ezhifu.sign.voucher import sign_envelope
from ezhifu.verify.parties import Parties

SIGN_AT = "cz_shqm"  # 审核签名: not a kind of the vocabulary
STAMP_AT = "cz_cwz"  # 财务章: neither


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "-o", str(out / "demo"), "--test-keys", str(out / "keys")])
    assert result.exit_code == 0, result.output
    return out / "keys"


def _parties(keys: Path, vt_code: str = "5201") -> Path:
    path = keys / f"parties-{vt_code}.toml"
    path.write_text(
        '[parties.finance]\ncerts = ["signer-chain.pem"]\n'
        f"[positions.{vt_code}]\n"
        f'{SIGN_AT} = {{ party = "finance", kind = "signature" }}\n'
        f'{STAMP_AT} = {{ party = "finance", kind = "seal" }}\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def _envelope(tmp_path: Path, name: str = "in.xml", **header: str) -> Path:
    path = tmp_path / name
    path.write_bytes(Envelope.build([sample_voucher("5201", details=2, **header)]).to_bytes())
    return path


def _sign(keys: Path, src: Path, out: Path, position: str, *extra: str) -> list[str]:
    return [
        "sign", str(src), "--key", str(keys / "signer.key.pem"), "--cert", str(keys / "signer-chain.pem"),
        "--position", position, "-o", str(out), *extra,
    ]  # fmt: skip


def _seal(keys: Path, src: Path, out: Path, position: str, *extra: str) -> list[str]:
    return [
        "seal", "apply", str(src), "--seal", str(keys / "seal.der"), "--key", str(keys / "signer.key.pem"),
        "--cert", str(keys / "signer-chain.pem"), "--position", position, "-o", str(out), *extra,
    ]  # fmt: skip


def test_declared_positions_sign_seal_and_verify(keys: Path, tmp_path: Path) -> None:
    parties = _parties(keys)
    runner = CliRunner()
    signed, sealed = tmp_path / "s.xml", tmp_path / "ss.xml"
    result = runner.invoke(cli, _sign(keys, _envelope(tmp_path), signed, SIGN_AT, "--parties", str(parties)))
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, _seal(keys, signed, sealed, STAMP_AT, "--parties", str(parties)))
    assert result.exit_code == 0, result.output
    body = Envelope.from_bytes(sealed.read_bytes()).bodies[0]
    assert [s.no for s in body.signatures] == [SIGN_AT] and [s.no for s in body.stamps] == [STAMP_AT]
    verified = runner.invoke(
        cli,
        [
            "verify", str(sealed), "--trust", str(keys / "root.pem"),
            "--seal-maker-trust", str(keys / "seal-maker-root.pem"), "--parties", str(parties),
        ],
    )  # fmt: skip
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("verb", ["sign", "seal"])
def test_undeclared_position_is_still_a_usage_error(keys: Path, tmp_path: Path, verb: str) -> None:
    parties = _parties(keys)
    make = _sign if verb == "sign" else _seal
    position = SIGN_AT if verb == "sign" else STAMP_AT
    out = tmp_path / "o.xml"
    for extra in ((), ("--parties", str(parties))):
        name = position if not extra else "cz_nope"
        result = CliRunner().invoke(cli, make(keys, _envelope(tmp_path), out, name, *extra))
        assert result.exit_code == 2, result.output
        assert "unknown position" in result.output and "未知的签章位置" in result.output
        assert "dwfz" in result.output and "--parties" in result.output  # the vocabulary, the way out
    assert not out.exists()


def test_declared_for_another_vtcode_only_is_refused(keys: Path, tmp_path: Path) -> None:
    """A position declared for 8202 does not make it a position of a 5201 voucher."""
    parties = _parties(keys, "8202")
    out = tmp_path / "o.xml"
    for args in (
        _sign(keys, _envelope(tmp_path), out, SIGN_AT, "--parties", str(parties)),
        _seal(keys, _envelope(tmp_path), out, STAMP_AT, "--parties", str(parties)),
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and "unknown position" in result.output, result.output
    assert not out.exists()


def test_a_table_cannot_declare_a_hostile_name() -> None:
    table = PositionTable.from_mapping({"5201": ["bad pos<>", "cz_shqm", "x" * 100]})
    assert check_position_name("cz_shqm", table.declared(["5201"])) == "cz_shqm"
    for name in ("bad pos<>", "x" * 100):
        with pytest.raises(UnknownPosition):
            check_position_name(name, table.declared(["5201"]))
    assert table.declared(["8202"]) == frozenset() and table.declared([]) == frozenset()


def _signer(keys: Path) -> tuple[Signer, list[x509.Certificate]]:
    chain = list(load_certificates((keys / "signer-chain.pem").read_bytes()))
    key = load_private_key((keys / "signer.key.pem").read_bytes())
    return SoftwareSigner(key, chain[0]), chain


def test_api_positions_and_validation(keys: Path) -> None:
    signer, chain = _signer(keys)
    table = Parties.load(_parties(keys)).positions
    envelope = Envelope.build([sample_voucher("5201", details=2)])
    with pytest.raises(UnknownPosition):
        sign_envelope(envelope, signer, "cz_nope", positions=table)
    assert [e.no for e in sign_envelope(envelope, signer, SIGN_AT, positions=table, chain=chain)] == [SIGN_AT]
    seal = (keys / "seal.der").read_bytes()
    with pytest.raises(UnknownPosition):
        stamp_envelope(envelope, seal, signer, "cz_nope", positions=table)
    assert [e.no for e in stamp_envelope(envelope, seal, signer, STAMP_AT, positions=table)] == [STAMP_AT]

    bad = Envelope.build([sample_voucher("5201", details=2, PayAmt="12,3145771.73")])
    with pytest.raises(SchemaValidationError) as refused:
        sign_envelope(bad, signer, "cz_dwfz")
    assert any("/Voucher/PayAmt" in issue.path for issue in refused.value.issues)
    with pytest.raises(SchemaValidationError):
        stamp_envelope(bad, seal, signer, "cz_dwgz")
    assert not bad.bodies[0].signatures and not bad.bodies[0].stamps  # refused before any change
    assert sign_envelope(bad, signer, "cz_dwfz", validate=False)
    assert stamp_envelope(bad, seal, signer, "cz_dwgz", validate=False)
