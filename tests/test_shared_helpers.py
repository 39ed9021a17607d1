"""The small shared pieces that replaced repeated code (issue 12, duplicate count).

``results.record_dict`` (the JSON of the records whose JSON is their fields), ``_closing.Closing``
(one context-manager protocol), ``KeyStore`` look-ups through one ``_held``, and the CLI's one
``-o/--output`` option.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ezhifu._closing import Closing
from ezhifu.cli.output import output_option
from ezhifu.errors import KeyNotFound, KeyStoreError
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.results import record_dict
from ezhifu.testing import TestPKI, make_pki


@dataclass(frozen=True)
class _Leaf:
    name: str
    data: dict[str, Any] = field(default_factory=dict)


class _Described:
    def to_dict(self) -> dict[str, str]:
        return {"described": "yes"}


@dataclass(frozen=True)
class _Record:
    title: str
    leaves: tuple[_Leaf, ...]
    described: _Described
    plain: list[int]
    nothing: None = None


def test_record_dict_converts_nested_values_and_puts_computed_keys_first() -> None:
    data = {"k": [1]}
    record = _Record("t", (_Leaf("a", data), _Leaf("b")), _Described(), [1, 2])
    out = record_dict(record, ok=True)
    assert list(out) == ["ok", "title", "leaves", "described", "plain", "nothing"]
    assert out == {
        "ok": True,
        "title": "t",
        "leaves": [{"name": "a", "data": {"k": [1]}}, {"name": "b", "data": {}}],
        "described": {"described": "yes"},
        "plain": [1, 2],
        "nothing": None,
    }
    assert out["leaves"][0]["data"] is data  # values are not copied


class _Resource(Closing):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_closing_closes_on_the_way_out_even_on_an_exception() -> None:
    with _Resource() as resource:
        assert resource.closed == 0
    assert resource.closed == 1
    failing = _Resource()
    with pytest.raises(ValueError, match="boom"), failing:
        raise ValueError("boom")
    assert failing.closed == 1
    with pytest.raises(NotImplementedError):
        Closing().close()


def test_keystore_lookups_name_what_is_held(pki: TestPKI) -> None:
    store = MemoryKeyStore()
    store.add_key("unit-head", pki.leaf_key, pki.chain)
    store.add_seal("seal-1", b"\x30\x00")
    with pytest.raises(KeyNotFound, match=r"no key under alias 'other' \(have: unit-head\)"):
        store.entry("other")
    with pytest.raises(KeyNotFound, match=r"no seal with id 'seal-2' \(have: seal-1\)"):
        store.seal("seal-2")
    assert store.seal("seal-1") == b"\x30\x00"
    store.close()
    with pytest.raises(KeyStoreError):
        store.__enter__()  # a closed keystore still refuses to be entered


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


def test_output_option_is_required_and_names_the_file() -> None:
    @click.command()
    @output_option("Where to write.")
    def cmd(output: Any) -> None:
        click.echo(f"to {output}")

    runner = CliRunner()
    assert "to out.bin" in runner.invoke(cmd, ["-o", "out.bin"]).output
    missing = runner.invoke(cmd, [])
    assert missing.exit_code == 2 and "--output" in missing.output
    assert "Where to write." in runner.invoke(cmd, ["--help"]).output
