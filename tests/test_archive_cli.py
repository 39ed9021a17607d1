"""``ezhifu archive create / check / revalidate / renew``: outputs and exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asn1crypto import pem
from click.testing import CliRunner

from ezhifu.archive.reader import read_members
from ezhifu.cli.main import cli
from test_archive_support import flip_byte, make_parties, raw_zip, rezip, signed_pair, sm2_crl


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("archive-cli")
    parties = make_parties()
    envelope, receipt = signed_pair(parties)
    out = {"env": folder / "env.xml", "rec": folder / "rec.xml", "roots": folder / "roots.pem"}
    out["env"].write_bytes(envelope)
    out["rec"].write_bytes(receipt)
    out["roots"].write_bytes(
        pem.armor("CERTIFICATE", parties.finance.root_cert.dump())
        + pem.armor("CERTIFICATE", parties.bank.root_cert.dump())
    )
    for index, pki in enumerate((parties.finance, parties.bank), start=1):
        out[f"crl{index}"] = folder / f"crl{index}.der"
        out[f"crl{index}"].write_bytes(sm2_crl(pki))
    keys = parties.archive.write_pem(folder / "archive")
    out.update(key=keys["leaf.key.pem"], cert=keys["chain.pem"], archive_root=keys["root.pem"], dir=folder)
    return out


def _key(files: dict[str, Path]) -> list[str]:
    return ["--key", str(files["key"]), "--cert", str(files["cert"])]


def _create(files: dict[str, Path], out: Path, *extra: str) -> object:
    args = [
        "archive",
        "create",
        str(files["env"]),
        str(files["rec"]),
        "--trust",
        str(files["roots"]),
        "-o",
        str(out),
    ]
    return CliRunner().invoke(cli, [*args, *_key(files), *extra])


def test_create_check_revalidate_renew(files: dict[str, Path]) -> None:
    package = files["dir"] / "pkg.zip"
    registry = files["dir"] / "books.sqlite"
    crls = ["--crl", str(files["crl1"]), "--crl", str(files["crl2"])]
    result = _create(files, package, "--registry", str(registry), *crls, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["valid"] and summary["booked"] and len(summary["vouchers"]) == 1
    assert "evidence/crl/crl-02.der" in read_members(package.read_bytes())

    again = _create(files, files["dir"] / "again.zip", "--registry", str(registry))
    assert again.exit_code == 1 and "DuplicateBooking" in again.output
    assert not (files["dir"] / "again.zip").exists()

    trust = ["--archive-trust", str(files["archive_root"])]
    check = CliRunner().invoke(cli, ["archive", "check", str(package), *trust])
    assert check.exit_code == 0, check.output
    assert "all checks passed" in check.output and "fixity" in check.output

    as_json = CliRunner().invoke(cli, ["archive", "check", str(package), *trust, "--json"])
    data = json.loads(as_json.output)
    assert data["ok"] and set(data["properties"]) == {"authentic", "complete", "usable", "secure"}

    revalidated = CliRunner().invoke(cli, ["archive", "revalidate", str(package), *trust])
    assert revalidated.exit_code == 0, revalidated.output
    assert "valid as of the evidence time" in revalidated.output and "2 stored CRL(s)" in revalidated.output
    untrusted = CliRunner().invoke(cli, ["archive", "revalidate", str(package), "--json"])
    assert untrusted.exit_code == 1 and json.loads(untrusted.output)["valid"] is False

    renewed = files["dir"] / "pkg.r1.zip"
    result = CliRunner().invoke(cli, ["archive", "renew", str(package), "-o", str(renewed), *_key(files)])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli, ["archive", "check", str(renewed), *trust]).exit_code == 0


def test_check_of_a_tampered_package_exits_1_naming_the_item(files: dict[str, Path]) -> None:
    package = files["dir"] / "t.zip"
    assert _create(files, package).exit_code == 0
    members = read_members(package.read_bytes())
    tampered = files["dir"] / "tampered.zip"
    tampered.write_bytes(
        rezip(package.read_bytes(), {"metadata/dat95.xml": flip_byte(members["metadata/dat95.xml"], 500)})
    )
    result = CliRunner().invoke(cli, ["archive", "check", str(tampered)])
    assert result.exit_code == 1
    assert "fixity" in result.output and "metadata/dat95.xml" in result.output and "FAILED" in result.output


def test_a_hostile_zip_exits_1_with_the_error_named(files: dict[str, Path]) -> None:
    evil = files["dir"] / "evil.zip"
    evil.write_bytes(raw_zip([("../../etc/cron.d/x", b"boom")]))
    result = CliRunner().invoke(cli, ["archive", "check", str(evil)])
    assert result.exit_code == 1 and "ArchivePathRefused" in result.output
    assert result.output.count("\n") == 1  # one line, no traceback


def test_usage_errors_exit_2(files: dict[str, Path]) -> None:
    runner = CliRunner()
    no_key = runner.invoke(
        cli,
        [
            "archive",
            "create",
            str(files["env"]),
            "--trust",
            str(files["roots"]),
            "-o",
            str(files["dir"] / "x.zip"),
        ],
    )
    assert no_key.exit_code == 2 and "signing key" in no_key.output
    bad_time = runner.invoke(cli, ["archive", "revalidate", str(files["env"]), "--at", "yesterday"])
    assert bad_time.exit_code == 2
    missing = runner.invoke(cli, ["archive", "check", str(files["dir"] / "nope.zip")])
    assert missing.exit_code == 2


def test_a_voucher_without_receipt_is_refused_with_the_missing_elements(files: dict[str, Path]) -> None:
    args = [
        "archive",
        "create",
        str(files["env"]),
        "--trust",
        str(files["roots"]),
        "-o",
        str(files["dir"] / "n.zip"),
    ]
    result = CliRunner().invoke(cli, [*args, *_key(files)])
    assert result.exit_code == 1 and "MetadataError" in result.output and "XPayDate" in result.output


@pytest.mark.slow
@pytest.mark.interop
def test_create_with_a_pdf_rendition(files: dict[str, Path]) -> None:
    package = files["dir"] / "pdf.zip"
    result = _create(files, package, "--pdf")
    assert result.exit_code == 0, result.output
    assert read_members(package.read_bytes())["rendition/envelope.pdf"].startswith(b"%PDF-")


def test_create_records_the_reception_time_and_the_archivist(files: dict[str, Path]) -> None:
    package = files["dir"] / "named.zip"
    extra = [
        "--received-at",
        "2026-01-05T09:30:00+08:00",
        "--archivist",
        "某单位档案室",
        "--policy",
        "legacy",
    ]
    result = _create(files, package, *extra)
    assert result.exit_code == 0, result.output
    metadata = read_members(package.read_bytes())["metadata/dat95.xml"].decode("utf-8")
    assert "<ActionTime>2026-01-05T09:30:00+08:00</ActionTime>" in metadata
    assert "<AgentName>某单位档案室</AgentName>" in metadata
    record = json.loads(read_members(package.read_bytes())["evidence/verification.json"])["envelopes"][0]
    assert record["policy"]["name"] == "legacy" and "sha1" in record["policy"]["allowed_digests"]


def test_allow_invalid_archives_a_failed_verdict(files: dict[str, Path], tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(pem.armor("CERTIFICATE", make_parties().finance.root_cert.dump()))
    args = ["archive", "create", str(files["env"]), str(files["rec"]), "--trust", str(stranger), *_key(files)]
    refused = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "r.zip")])
    assert refused.exit_code == 1 and "verification failed" in refused.output
    kept = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "k.zip"), "--allow-invalid"])
    assert kept.exit_code == 0 and "verification FAILED" in kept.output
    check = CliRunner().invoke(cli, ["archive", "check", str(tmp_path / "k.zip")])
    assert check.exit_code == 1 and "archived-verdict" in check.output


def test_an_existing_package_is_never_overwritten(files: dict[str, Path]) -> None:
    package = files["dir"] / "kept.zip"
    assert _create(files, package).exit_code == 0
    before = package.read_bytes()
    again = _create(files, package)
    assert again.exit_code == 2 and "already exists" in again.output
    renew = CliRunner().invoke(cli, ["archive", "renew", str(package), "-o", str(package), *_key(files)])
    assert renew.exit_code == 2 and package.read_bytes() == before
