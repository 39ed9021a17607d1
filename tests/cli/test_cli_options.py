"""The shared options of :mod:`ezhifu.cli.options` (issue 12, one declaration each): an option
means the same wherever it appears, a group of options reaches the verb as one value, and the
readers behind them (times, secrets, trust files, revocation) say which option was wrong."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.cli.options import Revocation, TrustFiles, gathered, parse_time, stacked
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import VerifyPolicy
from ezhifu.testing.pki import TestPKI, make_pki

#: The options :mod:`ezhifu.cli.options` declares once -> what a verb may make different (only that).
_SHARED: dict[str, set[str]] = {
    "--trust": {"required"},  # verify and archive create need it; view, seal show, revalidate not
    "--seal-maker-trust": set(),
    "--tsa-trust": set(),
    "--policy": {"name"},  # ``view`` keeps its parameter ``policy`` (the others: ``policy_name``)
    "--positions": set(),
    "--at": set(),
    "--crl": set(),  # verify/view: a revocation source; archive create: DER kept as evidence
    "--ocsp": set(),
    "--ocsp-url": set(),
    "--revocation-unavailable": set(),
    "--max-files": set(),
    "--max-run-bytes": set(),
    "--json": set(),
    "--tsa": set(),
    "--force": set(),
}


def _walk() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            found[f"{prefix}{name}"] = command
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(cli, "")
    return found


def _shape(option: click.Option) -> dict[str, Any]:
    return {
        "name": option.name,
        "type": option.type.to_info_dict(),
        "multiple": option.multiple,
        "is_flag": option.is_flag,
        "metavar": option.metavar,
        "required": option.required,
        "default": repr(option.default),
    }


def test_a_shared_option_is_the_same_option_in_every_verb() -> None:
    """Same parameter, type, multiplicity, metavar and default wherever a verb has it, except the
    differences :data:`_SHARED` names; and each is taken by more than one verb."""
    shapes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path, command in _walk().items():
        for param in command.params:
            if isinstance(param, click.Option) and param.opts[0] in _SHARED:
                shape = _shape(param)
                for key in _SHARED[param.opts[0]]:
                    shape.pop(key)
                shapes[param.opts[0]][repr(sorted(shape.items()))].append(path)
    assert set(shapes) == set(_SHARED)
    for opt, variants in shapes.items():
        assert len(variants) == 1, (opt, dict(variants))
        (verbs,) = variants.values()
        assert len(verbs) > 1, (opt, verbs)
    assert len(next(iter(shapes["--trust"].values()))) >= 5


def test_gathered_gives_the_verb_one_value_in_place_of_its_options() -> None:
    seen: list[Any] = []

    @click.command()
    @stacked(
        click.option("--a", "first", default="x"),
        click.option("--b", "second", type=int, default=0),
        gathered("pair", lambda one, two: (one, two), {"first": "one", "second": "two"}),
    )
    @click.option("--c", default="c")
    def command(pair: tuple[str, int], c: str) -> None:
        seen.append((pair, c))

    result = CliRunner().invoke(command, ["--b", "3", "--c", "z"])
    assert result.exit_code == 0, result.output
    assert seen == [(("x", 3), "z")]
    assert [p.name for p in command.params] == ["first", "second", "c"]  # listed as written


def test_trust_files_by_purpose(tmp_path: Path) -> None:
    pki = make_pki("sm2")
    maker = make_pki("sm2", subject_prefix="options test seal maker")
    files = pki.write_pem(tmp_path / "signers")
    maker_files = maker.write_pem(tmp_path / "maker")
    anchors = TrustFiles(signers=(files["root.pem"],), seal_makers=(maker_files["root.pem"],))
    assert anchors.files == (files["root.pem"], maker_files["root.pem"])
    store = anchors.load()
    assert [c.dump() for c in store.roots] == [pki.root_cert.dump()]
    assert [c.dump() for c in store.seal_makers] == [maker.root_cert.dump()]
    assert TrustFiles().files == ()


def test_revocation_applies_its_sources_to_the_policy(tmp_path: Path) -> None:
    policy = Revocation(use_ocsp=True, ocsp_url="http://ocsp.example", unavailable="soft-fail").applied(
        VerifyPolicy()
    )
    assert policy.check_ocsp and policy.ocsp_url == "http://ocsp.example"
    assert policy.revocation_unavailable == "soft-fail" and not policy.check_crl
    assert not Revocation().applied(VerifyPolicy()).check_ocsp
    with pytest.raises(SystemExit) as exit_info:  # a usage error, exit 2
        Revocation(ocsp_url="ftp://ocsp.example").applied(VerifyPolicy())
    assert exit_info.value.code == 2


def test_parse_time_names_the_option() -> None:
    assert parse_time(None) is None
    assert parse_time("2026-01-02T03:04:05+08:00").isoformat() == "2026-01-02T03:04:05+08:00"
    with pytest.raises(click.BadParameter) as bad:
        parse_time("yesterday", "--received-at")
    assert "not an ISO 8601 date/time: 'yesterday'" in bad.value.format_message()
    assert bad.value.param_hint == "--received-at"


def test_archive_create_names_received_at_for_a_bad_time(tmp_path: Path) -> None:
    """``--received-at`` was reported as ``--at`` (the option of another verb)."""
    given = {name: tmp_path / name for name in ("env.xml", "roots.pem", "k.pem", "c.pem")}
    for path in given.values():
        path.write_bytes(b"x")
    args = ["archive", "create", str(given["env.xml"]), "--trust", str(given["roots.pem"])]
    args += ["--key", str(given["k.pem"]), "--cert", str(given["c.pem"]), "-o", str(tmp_path / "p.zip")]
    result = CliRunner().invoke(cli, [*args, "--received-at", "yesterday"])
    assert result.exit_code == 2
    assert "--received-at" in result.output and "'--at'" not in result.output


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


def test_audit_key_under_16_bytes_is_refused_naming_the_option(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signing verbs read ``--audit-key-env`` as ``ezhifu audit`` reads ``--key-env``."""
    files = pki.write_pem(tmp_path / "pki")
    envelope = tmp_path / "in.xml"
    envelope.write_bytes(Envelope.build([sample_voucher("5201", seed=1)]).to_bytes())
    monkeypatch.setenv("SHORT_AUDIT_KEY", "fifteen bytes!!")
    args = ["sign", str(envelope), "--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"])]
    args += ["--position", "cz_dwfz", "-o", str(tmp_path / "out.xml")]
    result = CliRunner().invoke(
        cli, [*args, "--audit", str(tmp_path / "a.db"), "--audit-key-env", "SHORT_AUDIT_KEY"]
    )
    assert result.exit_code == 2, result.output
    assert "--audit-key-env SHORT_AUDIT_KEY" in result.output and "16 bytes" in result.output
    assert not (tmp_path / "out.xml").exists() and not (tmp_path / "a.db").exists()
    audit = CliRunner().invoke(cli, ["audit", "head", str(tmp_path / "a.db"), "--key-env", "SHORT_AUDIT_KEY"])
    assert audit.exit_code == 2 and "--key-env SHORT_AUDIT_KEY" in audit.output


def test_keystore_import_names_an_unset_key_password_variable(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTIONS_TEST_KS_PW", "options test password")
    monkeypatch.delenv("OPTIONS_TEST_UNSET", raising=False)
    config = tmp_path / "conf" / "store.toml"
    config.parent.mkdir()
    config.write_text(
        '[keystore]\ntype = "file"\npath = "../keys"\npassword_env = "OPTIONS_TEST_KS_PW"\nscrypt_n = 1024\n'
    )
    assert CliRunner().invoke(cli, ["keystore", "init", str(config)]).exit_code == 0
    files = pki.write_pem(tmp_path / "pki")
    args = ["keystore", "import", str(config), "--alias", "a", "--key", str(files["leaf.key.pem"])]
    result = CliRunner().invoke(cli, [*args, "--key-password-env", "OPTIONS_TEST_UNSET"])
    assert result.exit_code == 2
    assert "OPTIONS_TEST_UNSET (named by --key-password-env) is not set" in result.output
