"""Resident identity numbers masked in CLI text, JSON and the HTML view unless --show-identifiers
(issue 15 item 3); one masking function, applied where results are rendered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.report.identifiers import is_resident_id, mask_identifiers
from ezhifu.testing.pki import TestPKI, make_pki

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _with_check(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


RID = _with_check("42060219900101123")
MASKED = "4206**********" + RID[-4:]


def test_mask_keeps_prefix_and_last_four() -> None:
    assert is_resident_id(RID)
    assert mask_identifiers(f"title={RID},serialNumber={RID}") == f"title={MASKED},serialNumber={MASKED}"
    assert mask_identifiers(RID[:-1] + "X" if RID[-1] != "X" else RID[:-1] + "0") == (
        RID[:-1] + "X" if RID[-1] != "X" else RID[:-1] + "0"
    )  # a wrong check character: not an identity number, left alone


def test_lowercase_x_check_character_is_masked() -> None:
    rid = next(
        _with_check(f"1101051980{m:02d}01{n:03d}")
        for m in range(1, 13)
        for n in range(1000)
        if _with_check(f"1101051980{m:02d}01{n:03d}").endswith("X")
    )
    assert mask_identifiers(f"id {rid.lower()} end") == f"id {rid[:4]}{'*' * 10}{rid[-4:].lower()} end"


@given(st.text(alphabet="0123456789", min_size=19, max_size=40))
def test_longer_digit_runs_are_not_masked(digits: str) -> None:
    assert mask_identifiers(digits) == digits


@given(st.text(max_size=200))
def test_masking_never_changes_text_without_identifiers(text: str) -> None:
    masked = mask_identifiers(text)
    assert len(masked) == len(text)
    assert "*" not in masked or "*" in text or any(is_resident_id(text[i : i + 18]) for i in range(len(text)))


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("rsa2048", subject_prefix=f"张三 {RID}")


@pytest.fixture(scope="module")
def signed(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("ids")
    paths = pki.write_pem(tmp / "pki")
    env = tmp / "in.xml"
    env.write_bytes(Envelope.build([sample_voucher("5201", seed="ids")]).to_bytes())
    out = tmp / "signed.xml"
    key = ["--key", str(paths["leaf.key.pem"]), "--cert", str(paths["leaf.pem"])]
    result = CliRunner().invoke(cli, ["sign", str(env), *key, "--position", "cz_dwfz", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return {**paths, "signed": out, "tmp": tmp}


def test_verify_text_and_json_mask_the_subject(signed: dict[str, Path]) -> None:
    args = ["verify", str(signed["signed"]), "--trust", str(signed["root.pem"])]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert MASKED in text.output and RID not in text.output
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert RID not in as_json.stdout
    data = json.loads(as_json.stdout)
    assert MASKED in data["bodies"][0]["items"][0]["signer"]["subject"]
    full = CliRunner().invoke(cli, ["--show-identifiers", *args, "--json"])
    assert RID in full.stdout


def test_view_html_masks_the_subject(signed: dict[str, Path]) -> None:
    out = signed["tmp"] / "v.html"
    args = ["view", str(signed["signed"]), "--trust", str(signed["root.pem"]), "-o", str(out), "--force"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert MASKED in page and RID not in page
    assert CliRunner().invoke(cli, ["--show-identifiers", *args]).exit_code == 0
    assert RID in out.read_text(encoding="utf-8")


def test_seal_show_masks_the_holder(signed: dict[str, Path], pki: TestPKI) -> None:
    from datetime import UTC, datetime, timedelta

    from ezhifu.cli.demo import seal_picture_png
    from ezhifu.seal.make import make_seal

    now = datetime.now(UTC)
    der = make_seal(
        pki.signer(),
        seal_id="S-ID",
        name="测试章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[pki.leaf_cert],
        picture=seal_picture_png(),
        width_mm=40,
        height_mm=40,
    )
    seal = signed["tmp"] / "s.seal"
    seal.write_bytes(der)
    text = CliRunner().invoke(cli, ["seal", "show", str(seal)])
    assert RID not in text.output and MASKED in text.output
    as_json = CliRunner().invoke(cli, ["seal", "show", str(seal), "--json"])
    assert RID not in as_json.output
