"""The position table: which signature and stamp positions each voucher template has.

A voucher template (凭证模板) configures, per VtCode, the positions a voucher is signed or
stamped at, with their names (spec.md §5.1; ``queryStampPositionWithName`` answers them,
spec.md §6). ezhifu has ONE type for a position, :class:`StampPosition`, and ONE table,
:class:`PositionTable`, read from ONE file format (TOML, documented in docs/positions.md)::

    [positions."5201".cz_dwfz]
    kind = "signature"          # or "stamp"
    alias = "unit-head"         # the keystore alias allowed there (the safe box's key)
    name = "单位负责人签名"

    [positions."5201".cz_dwgz]
    kind = "stamp"
    alias = "unit-sealer"
    seal = "4201000000000001"   # the seal stamped there (stamps only)
    name = "单位公章"

    [positions."*".rh_ywzqz]    # "*": a position of every VtCode
    kind = "stamp"
    alias = "bank-sealer"
    seal = "4201000000000009"

Every key of a position is optional for a verifier, which needs only the names: an empty
table ``[positions."5201".cz_dwfz]`` configures the position. A signing safe box needs
``kind`` and ``alias`` (and ``seal`` for a stamp). The same table is what
:func:`ezhifu.verify.envelope.verify_envelope` takes as ``positions``: a
:class:`PositionTable` is a mapping VtCode → the set of its position names.

The older short form ``{VtCode: [position, ...]}`` (JSON or TOML, the command line's
``--positions``) is read into the same type, positions without kind or key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any, Final, Literal

from ezhifu._fileio import config_table, read_config
from ezhifu.errors import ConfigurationError, PositionNotInTable, UnknownPosition

__all__ = [
    "ANY_VT_CODE",
    "INFERRED_POSITION_KINDS",
    "MAX_POSITIONS",
    "OCX_SIGN_POSITION_NOT_CONFIGURED",
    "OCX_STAMP_POSITION_NOT_CONFIGURED",
    "POSITION_KINDS",
    "POSITION_PARTIES",
    "Kind",
    "PositionTable",
    "StampPosition",
    "check_position_name",
    "ocx_not_configured",
]

# --- the position vocabulary (spec.md §5.1) ----------------------------------------------------
# Position names are ``<party>_<kind>``. The kinds from S3 ``VOUCHERSAMP_*`` and the party ``rh``
# are confirmed; ``cz`` and the readings of names only observed in messages (``cz_dwgz``,
# ``cz_dwfz``, ``cz_jb``, ``rh_ywzqz``) are inferred. The bank's party prefix is unknown (§11).

#: Confirmed kinds (S3 ``VOUCHERSAMP_*``) and their Chinese names.
POSITION_KINDS: Final[dict[str, str]] = {
    "zqz": "转讫章",
    "gz": "公章",
    "fjz": "附件章",
    "ywzyz": "业务专用章",
    "sz": "私章",
    "qm": "签名",
    "jzysz": "记账员私章",
    "fhysz": "复核员私章",
    "jzyqm": "记账员签名",
    "fhyqm": "复核员签名",
}
#: Kinds read from names observed in messages (S4, S5, S8, S11), their readings inferred.
INFERRED_POSITION_KINDS: Final[dict[str, str]] = {
    "ywzqz": "业务转讫章",
    "dwgz": "单位公章",
    "dwsz": "单位私章",
    "dwfz": "单位负责人签名",
    "jb": "经办人签名",
}
#: Party prefixes with a known reading.
POSITION_PARTIES: Final[dict[str, str]] = {"cz": "财政", "rh": "人民银行"}
_POSITION_NAME = re.compile(r"([a-z]{2,8})_([a-z]{1,12})")


#: A position a parties file or position table may declare beyond the vocabulary: a name of ASCII
#: letters, digits and ``_`` starting with a letter, at most 64 characters (no blank, no markup).
_DECLARABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def check_position_name(position: str, declared: Iterable[str] = ()) -> str:
    """``position`` if it is ``<party>_<kind>`` with a kind of the vocabulary (:data:`POSITION_KINDS`,
    :data:`INFERRED_POSITION_KINDS`) or one of ``declared`` (the positions a parties file or
    position table declares, docs/parties.md), else :class:`~ezhifu.errors.UnknownPosition`.

    A declared name extends the vocabulary only if it is itself a plain name
    (``[A-Za-z][A-Za-z0-9_]{0,63}``): a table cannot make ``bad pos<>`` a position.
    """
    match = _POSITION_NAME.fullmatch(position)
    if match and (match.group(2) in POSITION_KINDS or match.group(2) in INFERRED_POSITION_KINDS):
        return position
    if _DECLARABLE_NAME.fullmatch(position) and position in set(declared):
        return position
    shown = position if len(position) <= 24 else position[:24] + "…"
    kinds = ", ".join([*POSITION_KINDS, *INFERRED_POSITION_KINDS])
    raise UnknownPosition(
        f"未知的签章位置 {shown!r}：应为 <单位>_<类型>，类型为 {kinds}，或在参与方文件 [positions.VtCode] "
        f"中声明 / unknown position {shown!r}: use <party>_<kind> (e.g. cz_dwfz, cz_dwgz, rh_ywzqz) with "
        f"kind one of {kinds}, or declare it under [positions.VTCODE] of a parties file (--parties) "
        "(docs/positions.md, spec.md §5.1)"
    )


#: OCX 121 / 122: "凭证模板签章 / 签名位置表未配置" (spec.md §7).
OCX_STAMP_POSITION_NOT_CONFIGURED: Final = 121
OCX_SIGN_POSITION_NOT_CONFIGURED: Final = 122
#: The table key whose positions apply to every VtCode.
ANY_VT_CODE: Final = "*"
#: Most positions one table may hold (every VtCode of spec.md §3 has fewer than ten).
MAX_POSITIONS: Final = 10_000

Kind = Literal["signature", "stamp"]
_KINDS: dict[str, Kind] = {"signature": "signature", "sign": "signature", "stamp": "stamp", "seal": "stamp"}
_KEYS = frozenset({"kind", "alias", "seal", "seal_id", "name", "party", "required", "on_receipt"})


@dataclass(frozen=True, slots=True)
class StampPosition:
    """One position of a voucher template.

    ``kind`` is ``"signature"`` (a ``<Signature>``) or ``"stamp"`` (a ``<SignStamp>``),
    ``None`` when the table only names the position; ``alias`` the keystore alias allowed
    there; ``seal_id`` the seal to stamp (stamps only); ``name`` the display name (e.g.
    ``单位负责人签名``). ``party`` names the party of the parties file whose certificates may
    sign or stamp there; ``required`` says every body of the VtCode must carry it and
    ``on_receipt`` that every receipt (``VoucherFlag`` 1) must (docs/parties.md).
    """

    position: str
    kind: Kind | None = None
    alias: str = ""
    seal_id: str | None = None
    name: str = ""
    party: str = ""
    required: bool = False
    on_receipt: bool = False


def ocx_not_configured(kind: Kind | None) -> int:
    """OCX 121 for a stamp position, 122 for a signature position (spec.md §7)."""
    return OCX_STAMP_POSITION_NOT_CONFIGURED if kind == "stamp" else OCX_SIGN_POSITION_NOT_CONFIGURED


def _position(vt_code: str, position: str, spec: object) -> StampPosition:
    """One position from its table (see the module docstring); refuses what it cannot mean."""
    where = f"position table {vt_code}/{position}"
    spec = config_table(spec, where, _KEYS, hint="kind, alias, seal, name")
    raw_kind = spec.get("kind")
    kind = None if raw_kind is None else _KINDS.get(str(raw_kind))
    if raw_kind is not None and kind is None:
        raise ConfigurationError(
            f"{where}: kind 必须是 signature 或 stamp / kind must be 'signature' or 'stamp'"
        )
    alias, name = spec.get("alias", ""), spec.get("name", "")
    seal = spec.get("seal", spec.get("seal_id"))
    if not isinstance(alias, str) or not isinstance(name, str):
        raise ConfigurationError(f"{where}: alias 与 name 必须是字符串 / alias and name must be strings")
    party, required, on_receipt = (
        spec.get("party", ""),
        spec.get("required", False),
        spec.get("on_receipt", False),
    )
    if not isinstance(party, str) or not isinstance(required, bool) or not isinstance(on_receipt, bool):
        raise ConfigurationError(
            f"{where}: party 须为字符串, required/on_receipt 须为布尔值 / "
            "party must be a string, required and on_receipt booleans"
        )
    if kind == "stamp" and alias and (not isinstance(seal, str) or not seal):
        raise ConfigurationError(f"{where}: 签章位置需要 seal / a stamp position needs 'seal' (the seal id)")
    if kind != "stamp" and seal is not None:
        raise ConfigurationError(f"{where}: 只有签章位置有 seal / a signature position takes no seal")
    if kind is None and alias:
        raise ConfigurationError(f"{where}: 配置了 alias 须写明 kind / an alias needs its 'kind'")
    sealed = seal if kind == "stamp" and isinstance(seal, str) else None
    return StampPosition(position, kind, alias, sealed, name, party, required, on_receipt)


class PositionTable(Mapping[str, frozenset[str]]):
    """The positions configured per VtCode (``"*"`` holds positions of every VtCode).

    As a mapping it is VtCode → the names of its positions (its own and the ``"*"`` ones),
    for every VtCode the table names: the form the verifier takes.
    """

    def __init__(self, positions: Mapping[str, Iterable[StampPosition]]) -> None:
        table: dict[str, dict[str, StampPosition]] = {}
        count = 0
        for vt_code, entries in positions.items():
            row: dict[str, StampPosition] = {}
            for entry in entries:
                if entry.position in row:
                    raise ConfigurationError(
                        f"position table: {vt_code}/{entry.position} 重复配置 / configured twice"
                    )
                row[entry.position] = entry
                count += 1
                if count > MAX_POSITIONS:
                    raise ConfigurationError(f"position table: 超过 / more than {MAX_POSITIONS} positions")
            table[str(vt_code)] = row
        self._table = table

    # --- reading ------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PositionTable:
        """From ``{vt_code: {position: {kind, alias, seal, name}}}`` (optionally under
        ``positions``), or the short form ``{vt_code: [position, ...]}``."""
        source = data.get("positions", data)
        if not isinstance(source, Mapping):
            raise ConfigurationError("position table: 'positions' 必须是表 / must be a table")
        out: dict[str, list[StampPosition]] = {}
        for vt_code, entries in source.items():
            if isinstance(entries, list) and all(isinstance(p, str) for p in entries):
                out[str(vt_code)] = [StampPosition(p) for p in entries]
            elif isinstance(entries, Mapping):
                out[str(vt_code)] = [_position(str(vt_code), str(p), spec) for p, spec in entries.items()]
            else:
                raise ConfigurationError(
                    f"position table: VtCode {vt_code!r} 须映射到位置表或位置名列表 / "
                    "must map positions to tables, or be a list of position names"
                )
        return cls(out)

    @classmethod
    def from_names(cls, names: Mapping[str, Mapping[str, str] | Iterable[str]]) -> PositionTable:
        """From ``{vt_code: {position: name}}`` (what ``queryStampPositionWithName`` answers)
        or ``{vt_code: [position, ...]}``: positions that carry only their names."""
        out: dict[str, list[StampPosition]] = {}
        for vt_code, entries in names.items():
            if isinstance(entries, Mapping):
                out[str(vt_code)] = [StampPosition(str(p), name=str(n)) for p, n in entries.items()]
            else:
                out[str(vt_code)] = [StampPosition(str(p)) for p in entries]
        return cls(out)

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> PositionTable:
        """Read a position table file (TOML; JSON when named ``*.json``) with
        :func:`ezhifu._fileio.read_config`, which refuses files others may write."""
        return cls.from_mapping(read_config(path, what="the position table"))

    load = from_toml

    # --- questions ----------------------------------------------------------------------------

    def vt_codes(self) -> list[str]:
        """Every key of the table, ``"*"`` included, sorted."""
        return sorted(self._table)

    def positions(self, vt_code: str) -> dict[str, StampPosition]:
        """The positions that apply to ``vt_code`` (its own and the ``"*"`` ones)."""
        out = dict(self._table.get(ANY_VT_CODE, {}))
        out.update(self._table.get(vt_code, {}))
        return out

    def declared(self, vt_codes: Iterable[str] | None = None) -> frozenset[str]:
        """The position names the table declares for every one of ``vt_codes`` (its own and the
        ``"*"`` ones); ``None``: for any VtCode (every name in the table). The names that
        :func:`check_position_name` accepts beyond the vocabulary."""
        if vt_codes is None:
            return frozenset(p for row in self._table.values() for p in row)
        sets = [frozenset(self.positions(vt)) for vt in vt_codes]
        return frozenset.intersection(*sets) if sets else frozenset()

    def names(self, vt_code: str) -> dict[str, str]:
        """Position → display name for ``vt_code`` (``queryStampPositionWithName``, spec.md §6)."""
        return {p: entry.name for p, entry in self.positions(vt_code).items()}

    def rule(self, vt_code: str, position: str, kind: Kind) -> StampPosition:
        """The position ``position`` of ``vt_code`` configured for ``kind``; refuses what the
        template lacks with :class:`~ezhifu.errors.PositionNotInTable` (OCX 121/122)."""
        code = ocx_not_configured(kind)
        entry = self.positions(vt_code).get(position)
        what = "signature" if kind == "signature" else "stamp"
        if entry is None:
            raise PositionNotInTable(
                f"VtCode {vt_code}: {what} position {position!r} is not in the position table", ocx_code=code
            )
        if entry.kind != kind:
            configured = f"a {entry.kind}" if entry.kind else "no kind"
            raise PositionNotInTable(
                f"VtCode {vt_code}: position {position!r} is configured for {configured}, not a {what}",
                ocx_code=code,
            )
        return entry

    def as_positions(self) -> dict[str, frozenset[str]]:
        """VtCode → position names, as a plain dict (the table itself is that mapping too)."""
        return dict(self.items())

    # --- Mapping[str, frozenset[str]] ---------------------------------------------------------

    def __getitem__(self, vt_code: str) -> frozenset[str]:
        if vt_code == ANY_VT_CODE or vt_code not in self._table:
            raise KeyError(vt_code)
        return frozenset(self.positions(vt_code))

    def __iter__(self) -> Iterator[str]:
        return (vt for vt in self._table if vt != ANY_VT_CODE)

    def __len__(self) -> int:
        return sum(1 for vt in self._table if vt != ANY_VT_CODE)

    def __repr__(self) -> str:
        return f"PositionTable({ {vt: sorted(p) for vt, p in self._table.items()} })"
