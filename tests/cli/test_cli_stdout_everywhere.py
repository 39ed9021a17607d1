"""``-o -`` means standard output for every verb that writes a file (issue 15 Build 6).

A walk over every command checks that each file output option (``-o/--output``, ``--image-out``)
says so in its help; the verbs that did not honour it (``archive create``, ``archive renew``,
``seal show --image-out``) are run with ``-`` in an empty folder: the bytes are on stdout, the
note on stderr, and no file named ``-`` appears.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from asn1crypto import pem
from click.testing import CliRunner

from ezhifu.cli import main as cli_main
from ezhifu.cli.main import cli
from test_archive_support import make_parties, signed_pair


def _commands() -> Iterator[tuple[str, click.Command]]:
    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, f"{path} {name}")

    for verb, (module, _short) in sorted(cli_main.VERBS.items()):
        yield from walk(importlib.import_module(module).command, verb)


def _file_outputs() -> list[tuple[str, click.Option]]:
    found = []
    for path, command in _commands():
        for param in command.params:
            if not isinstance(param, click.Option) or not isinstance(param.type, click.Path):
                continue
            names = set(param.opts)
            if names & {"-o", "--output", "--image-out"} and not param.type.dir_okay:
                found.append((path, param))
    return found


def test_every_file_output_option_takes_dash_for_stdout() -> None:
    outputs = _file_outputs()
    assert {p for p, _ in outputs} >= {
        "sign",
        "view",
        "build",
        "seal apply",
        "archive create",
        "archive renew",
    }
    missing = [f"{path} {param.opts[-1]}" for path, param in outputs if "'-'" not in (param.help or "")]
    assert not missing, missing


@pytest.fixture(scope="module")
def archive_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stdout")
    parties = make_parties()
    envelope, receipt = signed_pair(parties)
    (folder / "env.xml").write_bytes(envelope)
    (folder / "rec.xml").write_bytes(receipt)
    (folder / "roots.pem").write_bytes(
        pem.armor("CERTIFICATE", parties.finance.root_cert.dump())
        + pem.armor("CERTIFICATE", parties.bank.root_cert.dump())
    )
    keys = parties.archive.write_pem(folder / "archive")
    return {"dir": folder, "key": keys["leaf.key.pem"], "cert": keys["chain.pem"]}


def test_archive_create_and_renew_to_stdout(
    archive_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    d = archive_files["dir"]
    key = ["--key", str(archive_files["key"]), "--cert", str(archive_files["cert"])]
    args = ["archive", "create", str(d / "env.xml"), str(d / "rec.xml"), "--trust", str(d / "roots.pem")]
    result = CliRunner().invoke(cli, [*args, "-o", "-", *key])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"PK\x03\x04") and "wrote -" in result.stderr
    assert os.listdir(tmp_path) == []
    package = d / "p.zip"
    package.write_bytes(result.stdout_bytes)
    assert CliRunner().invoke(cli, ["archive", "check", str(package)]).exit_code == 0
    renewed = CliRunner().invoke(cli, ["archive", "renew", str(package), "-o", "-", *key])
    assert renewed.exit_code == 0, renewed.output
    assert renewed.stdout_bytes.startswith(b"PK\x03\x04") and renewed.stdout_bytes != package.read_bytes()
    assert "renewal" in renewed.stderr and os.listdir(tmp_path) == []


def test_seal_show_picture_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = tmp_path / "demo"
    assert (
        CliRunner().invoke(cli, ["demo", "-o", str(demo / "d"), "--test-keys", str(demo / "k")]).exit_code
        == 0
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli, ["seal", "show", str(demo / "k" / "seal.der"), "--image-out", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"IEND" in result.stdout_bytes[-12:]  # nothing but the picture on stdout
    assert "seal" in result.stderr and os.listdir(work) == []
