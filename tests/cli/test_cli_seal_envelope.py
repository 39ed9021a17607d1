"""``seal show`` of an envelope (every seal in it) and ``seal apply --keystore --seal-alias``
(issue 15 item 7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.demo import seal_picture_png
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI, make_pki


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture
def store(tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("EZHIFU_TEST_SEAL_PW", "pw")
    config = tmp_path / "store.toml"
    config.write_text('type = "file"\npath = "keys"\npassword_env = "EZHIFU_TEST_SEAL_PW"\nscrypt_n = 1024\n')
    paths = pki.write_pem(tmp_path / "pki")
    now = datetime.now(UTC)
    seal = tmp_path / "seal.der"
    seal.write_bytes(
        make_seal(
            pki.signer(),
            seal_id="4201000000000001",
            name="测试章",
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=30),
            holder_certs=[pki.leaf_cert],
            picture=seal_picture_png(),
            width_mm=40,
            height_mm=40,
        )
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["keystore", "init", str(config)]).exit_code == 0
    key = ["--alias", "unit", "--key", str(paths["leaf.key.pem"]), "--cert", str(paths["leaf.pem"])]
    done = runner.invoke(cli, ["keystore", "import", str(config), *key])
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        cli, ["keystore", "import", str(config), "--seal-id", "4201000000000001", "--seal", str(seal)]
    )
    assert done.exit_code == 0, done.output
    env = tmp_path / "in.xml"
    env.write_bytes(Envelope.build([sample_voucher("5201", seed=f"se{i}") for i in range(2)]).to_bytes())
    return {**paths, "config": config, "envelope": env, "seal": seal}


def _apply(store: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "seal", "apply", str(store["envelope"]), "--keystore", str(store["config"]), "--alias", "unit",
        "--position", "cz_dwgz", "-o", str(out), *extra,
    ]  # fmt: skip


def test_seal_apply_with_a_seal_held_in_the_keystore_then_show_the_envelope(
    store: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "sealed.xml"
    result = CliRunner().invoke(cli, _apply(store, out, "--seal-alias", "4201000000000001"))
    assert result.exit_code == 0, result.output
    sealed = Envelope.from_bytes(out.read_bytes())
    assert [len(b.stamps) for b in sealed.bodies] == [1, 1]
    # The test seal's maker is the leaf under the same root: that root anchors signers and makers.
    anchors = ["--trust", str(store["root.pem"]), "--seal-maker-trust", str(store["root.pem"])]
    shown = CliRunner().invoke(cli, ["seal", "show", str(out), *anchors, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["kind"] == "envelope" and len(data["stamps"]) == 2
    assert {s["voucher_no"] for s in data["stamps"]} == {b.voucher_no for b in sealed.bodies}
    assert all(s["holds"] and s["position"] == "cz_dwgz" for s in data["stamps"])
    text = CliRunner().invoke(cli, ["seal", "show", str(out)])
    assert text.exit_code == 0 and "cz_dwgz" in text.output and "+08:00" in text.output


def test_unknown_seal_alias_is_exit_2(store: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "sealed.xml"
    result = CliRunner().invoke(cli, _apply(store, out, "--seal-alias", "nope"))
    assert result.exit_code == 2 and "nope" in result.output
    assert not out.exists()


def test_seal_and_seal_alias_exclude_each_other(store: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "sealed.xml"
    both = _apply(store, out, "--seal-alias", "4201000000000001", "--seal", str(store["seal"]))
    assert CliRunner().invoke(cli, both).exit_code == 2
    assert CliRunner().invoke(cli, _apply(store, out)).exit_code == 2
    assert not out.exists()


def test_seal_show_of_an_envelope_without_seals_is_exit_1(store: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["seal", "show", str(store["envelope"]), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["stamps"] == []


def test_seal_show_image_out_of_an_envelope_is_a_usage_error(store: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["seal", "show", str(store["envelope"]), "--image-out", str(tmp_path / "p.png")]
    )
    assert result.exit_code == 2 and not (tmp_path / "p.png").exists()


def test_seal_show_image_out_needs_force_to_replace(store: dict[str, Path], tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(b"old")
    result = CliRunner().invoke(cli, ["seal", "show", str(store["seal"]), "--image-out", str(picture)])
    assert result.exit_code == 2 and picture.read_bytes() == b"old"
    forced = CliRunner().invoke(
        cli, ["seal", "show", str(store["seal"]), "--image-out", str(picture), "--force"]
    )
    assert forced.exit_code in (0, 1) and picture.read_bytes().startswith(b"\x89PNG")
