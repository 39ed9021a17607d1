"""document/positions.py: one StampPosition type, one PositionTable, one file format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ezhifu.document.positions import MAX_POSITIONS, PositionTable, StampPosition
from ezhifu.errors import ConfigFileRefused, ConfigurationError, PositionNotInTable
from ezhifu.flow.safebox import PositionRule
from ezhifu.flow.safebox import PositionTable as SafeBoxTable

TOML = """
[positions."5201".cz_dwfz]
kind = "signature"
alias = "unit-head"
name = "单位负责人签名"

[positions."5201".cz_dwgz]
kind = "stamp"
alias = "unit-sealer"
seal = "S1"
name = "单位公章"

[positions."8202".yh_zfqz]

[positions."*".rh_ywzqz]
kind = "seal"
alias = "bank"
seal = "S9"
"""


def _file(tmp_path: Path, text: str, name: str = "positions.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_one_type_under_every_name() -> None:
    assert PositionRule is StampPosition
    assert SafeBoxTable is PositionTable


def test_toml_table(tmp_path: Path) -> None:
    table = PositionTable.from_toml(_file(tmp_path, TOML))
    assert table.vt_codes() == ["*", "5201", "8202"]
    assert dict(table) == {
        "5201": frozenset({"cz_dwfz", "cz_dwgz", "rh_ywzqz"}),
        "8202": frozenset({"yh_zfqz", "rh_ywzqz"}),
    }
    assert table.as_positions() == dict(table)
    assert table.rule("5201", "cz_dwgz", "stamp") == StampPosition(
        "cz_dwgz", "stamp", "unit-sealer", "S1", "单位公章"
    )
    assert table.rule("9999", "rh_ywzqz", "stamp").seal_id == "S9"  # "*" applies to every VtCode
    assert table.names("5201")["cz_dwfz"] == "单位负责人签名"
    assert table.positions("8202")["yh_zfqz"] == StampPosition("yh_zfqz")
    assert "9999" not in table and "*" not in table
    with pytest.raises(KeyError):
        _ = table["*"]


def test_named_only_position_cannot_sign(tmp_path: Path) -> None:
    table = PositionTable.from_toml(_file(tmp_path, TOML))
    with pytest.raises(PositionNotInTable, match="no kind") as info:
        table.rule("8202", "yh_zfqz", "signature")
    assert info.value.ocx_code == 122
    with pytest.raises(PositionNotInTable) as info:
        table.rule("5201", "cz_dwfz", "stamp")
    assert info.value.ocx_code == 121


def test_short_form_json_and_toml(tmp_path: Path) -> None:
    js = PositionTable.from_toml(_file(tmp_path, '{"5201": ["cz_dwfz"]}', "p.json"))
    toml = PositionTable.from_toml(_file(tmp_path, '"5201" = ["cz_dwfz"]\n'))
    assert dict(js) == dict(toml) == {"5201": frozenset({"cz_dwfz"})}


def test_from_names_is_what_query_stamp_position_with_name_answers() -> None:
    table = PositionTable.from_names({"5201": {"cz_dwfz": "单位负责人签名"}, "8202": ["yh_zfqz"]})
    assert table.names("5201") == {"cz_dwfz": "单位负责人签名"}
    assert table.names("8202") == {"yh_zfqz": ""}


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"kind": "stamp", "alias": "b", "sael": "x"}, "sael"),
        ({"kind": "stamp", "alias": "b"}, "needs 'seal'"),
        ({"kind": "signature", "alias": "b", "seal": "S"}, "takes no seal"),
        ({"kind": "scribble"}, "kind"),
        ({"alias": "b"}, "needs its 'kind'"),
        ({"kind": "signature", "alias": 7}, "must be strings"),
        ("cz_dwfz", "must be a table"),
    ],
)
def test_bad_positions_are_named(spec: object, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        PositionTable.from_mapping({"5201": {"p": spec}})
    assert "5201/p" in str(info.value)


@pytest.mark.parametrize("data", [{"positions": [1]}, {"5201": "cz_dwfz"}, {"5201": [1, 2]}, {"5201": 3}])
def test_bad_tables(data: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        PositionTable.from_mapping(data)


def test_duplicates_and_limit() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        PositionTable({"5201": [StampPosition("a"), StampPosition("a")]})
    with pytest.raises(ConfigurationError, match=str(MAX_POSITIONS)):
        PositionTable({"5201": [StampPosition(f"p{i}") for i in range(MAX_POSITIONS + 1)]})


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_table_others_may_write_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, TOML)
    path.chmod(0o666)
    with pytest.raises(ConfigFileRefused, match="position table"):
        PositionTable.from_toml(path)


_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@given(
    st.dictionaries(st.sampled_from(["5201", "8202", "2301", "*"]), st.sets(_NAMES, max_size=5), max_size=4)
)
def test_mapping_view_merges_the_wildcard(data: dict[str, set[str]]) -> None:
    table = PositionTable.from_names(data)
    wildcard = data.get("*", set())
    assert dict(table) == {vt: frozenset(names | wildcard) for vt, names in data.items() if vt != "*"}
    assert len(table) == len([vt for vt in data if vt != "*"])
