"""One source of truth: the committed XSDs and docs/fields.md equal what the field data
generates; the field data keeps the producers' spellings and its provenance marks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from doc_support import REPO

from ezhifu.document.fields import SCHEMA_VERSIONS, known_vt_codes, spec_for, specs
from ezhifu.document.xsdgen import generated_files, main, write_all


def test_committed_generated_files_are_up_to_date() -> None:
    stale = write_all(REPO, check=True)
    assert stale == [], f"regenerate with `python -m ezhifu.document.xsdgen`: {stale}"


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*")) == sorted(
        generated_files()
    )


def test_schemas_ship_inside_the_package() -> None:
    base = resources.files("ezhifu.schemas")
    assert base.joinpath("README.md").is_file()
    for version in SCHEMA_VERSIONS:
        assert base.joinpath(version, "envelope.xsd").is_file()
        for vt in specs(version):
            assert base.joinpath(version, f"voucher_{vt}.xsd").is_file()


def test_versions_and_types() -> None:
    expected_2014 = [
        "5201",
        "8202",
        "2301",
        "2302",
        "5106",
        "5108",
        "5207",
        "5209",
        "3208",
        "3507",
        "2507",
        "5507",
        "3502",
    ]
    assert set(known_vt_codes("2014")) == set(expected_2014)
    assert set(known_vt_codes("2024")) == set(known_vt_codes("2014")) | {"5214"}
    assert spec_for("5214", "2014") is None


@pytest.mark.parametrize(
    ("vt", "part", "name"),
    [
        ("8202", "header", "TaxayerID"),
        ("5214", "header", "TaxayerID"),
        ("3507", "header", "ClearAccNanme"),
        ("5207", "detail", "XpayAmt"),
    ],
)
def test_producer_spellings_are_kept(vt: str, part: str, name: str) -> None:
    spec = spec_for(vt)
    assert spec is not None
    names = [f.name for f in (spec.header if part == "header" else spec.detail)]
    assert name in names


def test_field_data_marks() -> None:
    s8202 = spec_for("8202")
    assert s8202 is not None
    hold1 = s8202.header_field("Hold1")
    assert hold1 is not None and hold1.required and hold1.required_source == "S13" and hold1.hold
    x = s8202.header_field("XPayAmt")
    assert x is not None and x.x_field and not x.required and x.type == "amount"
    assert s8202.header_field("PayCode") is not None and s8202.header_field("PayCode").source == "S13"  # type: ignore[union-attr]
    assert spec_for("8202", "2014").header_field("PayCode") is None  # type: ignore[union-attr]
    for version in SCHEMA_VERSIONS:
        for spec in specs(version).values():
            for f in (*spec.header, *spec.detail):
                assert f.label and f.source in {"S1", "S8", "S13", "I"}
                assert not f.negative or f.type == "amount"
            names = [f.name for f in spec.header]
            assert len(names) == len(set(names)), spec.vt_code
            assert "VtCode" in names and "VoucherNo" in names


def test_docs_table_has_every_type() -> None:
    text = generated_files()["docs/fields.md"]
    for vt in known_vt_codes():
        assert f"## {vt} " in text
    assert "| `TaxayerID` | 纳税人识别号 |" in text


def test_one_run_after_an_edit_of_the_field_data_generates_from_the_new_data(tmp_path: Path) -> None:
    """An edit of ``fields.toml`` reaches ``fields.json`` *and* the files generated from the data
    (here docs/fields.md) in one run of the generator (its second pass in a fresh interpreter)."""
    package = Path(__file__).resolve().parents[2] / "src" / "ezhifu"
    copy = tmp_path / "src" / "ezhifu"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    toml = copy / "document" / "data" / "fields.toml"
    text = toml.read_text("utf-8")
    assert text.count('"支付金额"') == 1
    toml.write_text(text.replace('"支付金额"', '"支付金额（改）"'), "utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    run = subprocess.run(
        [sys.executable, "-m", "ezhifu.document.xsdgen", "--root", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote: src/ezhifu/document/data/fields.json" in run.stdout
    assert "支付金额（改）" in (copy / "document" / "data" / "fields.json").read_text("utf-8")
    assert "| `PayAmt` | 支付金额（改） |" in (tmp_path / "docs" / "fields.md").read_text("utf-8")
