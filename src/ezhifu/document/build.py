"""From one's own data to a voucher: :func:`build_voucher` and :func:`load_voucher_data`.

The data names header fields by their element name (``AgencyName``, ``PayAmt`` …, see
docs/fields.md) and gives the details as ``DetailList``, a list of rows keyed the same way.
It can be a Python mapping, or a file in one of three formats:

* JSON: ``{"VouDate": "20240315", …, "DetailList": [{"PayAmt": "1200.50", …}]}``; numbers are
  read as decimals (never binary floats);
* TOML: header keys at the top, ``[[DetailList]]`` tables for the rows;
* CSV (UTF-8): ``element,value`` lines for the header, then a line ``DetailList`` and a table
  whose first line names the detail elements, one detail per line.

What the builder adds so a newcomer writes only what matters: ``VtCode`` (the ``vt_code``
argument); ``StYear`` from ``VouDate``; a 32-hex ``Id`` when absent (header and each detail);
in the details ``VoucherBillId`` / ``VoucherBillNo`` (the header's ``Id`` / ``VoucherNo``) and
``VoucherDetailNo`` (the row number) when the type has them; the header amount of the type's
sum rule (``PayAmt``) as the sum of the details when absent. Amounts are written with two
decimals (``1200.5`` → ``1200.50``): the builder writes the ``strict`` level, and the result is
validated at that level (:class:`~ezhifu.errors.SchemaValidationError` lists every problem).

Bounds: at most :data:`MAX_DATA_BYTES` of input, :data:`~ezhifu.document.fields.MAX_DETAILS`
rows and :data:`MAX_COLUMNS` fields per header or row; every value at most its field's length
(the validator checks). Errors are :class:`~ezhifu.errors.VoucherDataError` naming the field
and the row.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from ezhifu.document import fields as _fields
from ezhifu.document.fields import DEFAULT_SCHEMA_VERSION, MAX_DETAILS, VoucherSpec
from ezhifu.document.models import FieldValue, Voucher, format_amount, parse_amount
from ezhifu.document.validation import validate
from ezhifu.errors import InvalidInput, VoucherDataError

__all__ = [
    "DATA_FORMATS",
    "MAX_COLUMNS",
    "MAX_DATA_BYTES",
    "DataFormat",
    "build_voucher",
    "load_voucher_data",
    "parse_voucher_data",
]

#: Largest data file read (bytes): a voucher of 499 details of ~50 fields fits easily.
MAX_DATA_BYTES = 4 * 1024 * 1024
#: Most fields in the header or in one detail row (the widest type has under 100).
MAX_COLUMNS = 200

DataFormat = Literal["json", "toml", "csv"]
DATA_FORMATS: tuple[DataFormat, ...] = ("json", "toml", "csv")

_DETAILS = "DetailList"


def _fail(
    message_zh: str, message_en: str, *, field: str | None = None, row: int | None = None
) -> VoucherDataError:
    where = "header" if row is None else f"DetailList row {row}"
    zh_where = "表头" if row is None else f"明细第 {row} 行"
    name = f" {field}" if field else ""
    return VoucherDataError(
        f"{zh_where}{name}：{message_zh} / {where}{name}: {message_en}", field=field, row=row
    )


def _at_most(
    n: int, most: int, zh: str, en: str, *, field: str | None = None, row: int | None = None
) -> None:
    """Refuse ``n`` entries over the limit ``most``; ``zh`` / ``en`` are the message templates
    (``{n}``, ``{most}``), formatted only when refusing."""
    if n > most:
        raise _fail(zh.format(n=n, most=most), en.format(n=n, most=most), field=field, row=row)


def _scalar(value: Any, name: str, row: int | None) -> FieldValue:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _fail("不接受布尔值", "a bool is not a field value", field=name, row=row)
    if isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, float):  # TOML/JSON are read with Decimal; a caller's float is refused
        raise _fail(
            "浮点数会丢失分位，请写成字符串",
            "a float loses cents: give a string or Decimal",
            field=name,
            row=row,
        )
    raise _fail(
        f"不支持的值类型 {type(value).__name__}",
        f"unsupported value type {type(value).__name__}",
        field=name,
        row=row,
    )


def _row(data: Mapping[str, Any], row: int | None) -> dict[str, FieldValue]:
    if not isinstance(data, Mapping):
        raise _fail("应为 元素名→值 的表", "must be a table of element name -> value", row=row)
    _at_most(
        len(data), MAX_COLUMNS, "字段数 {n} 超过上限 {most}", "{n} fields exceed the limit of {most}", row=row
    )
    out: dict[str, FieldValue] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise _fail("元素名应为字符串", "element names must be strings", row=row)
        if key == _DETAILS and row is None:
            continue
        out[key] = _scalar(value, key, row)
    return out


def _amounts(values: dict[str, FieldValue], spec_fields: Iterable[_fields.FieldDef], row: int | None) -> None:
    """Amounts written with two decimals; partner forms (``0``, ``2.5``) are accepted as input."""
    for f in spec_fields:
        value = values.get(f.name)
        if f.type != "amount" or value is None or value == "" or not isinstance(value, str | int | Decimal):
            continue
        try:
            if isinstance(value, str):
                value = parse_amount(value, where=f.name, level="partner")
            values[f.name] = format_amount(value, where=f.name)
        except InvalidInput:
            raise _fail(
                f"{value!r} 不是金额（最多 15 位整数、2 位小数）",
                f"{value!r} is not an amount (at most 15 integer digits and two decimals)",
                field=f.name,
                row=row,
            ) from None


def _check_names(values: Mapping[str, FieldValue], spec: VoucherSpec, row: int | None) -> None:
    known = {f.name for f in (spec.header if row is None else spec.detail)}
    for name in values:
        if name not in known:
            raise _fail(
                f"VtCode {spec.vt_code} 没有这个元素（见 docs/fields.md）",
                f"VtCode {spec.vt_code} has no such element (see docs/fields.md)",
                field=name,
                row=row,
            )


def _fill(header: dict[str, FieldValue], rows: list[dict[str, FieldValue]], spec: VoucherSpec) -> None:
    names = {f.name for f in spec.header}
    header["VtCode"] = spec.vt_code
    if "Id" in names and not header.get("Id"):
        header["Id"] = uuid.uuid4().hex.upper()
    vou_date = str(header.get("VouDate") or "")
    if "StYear" in names and not header.get("StYear") and len(vou_date) == 8:
        header["StYear"] = vou_date[:4]
    detail_names = {f.name for f in spec.detail}
    for index, row in enumerate(rows, 1):
        defaults: dict[str, FieldValue] = {
            "Id": uuid.uuid4().hex.upper(),
            "VoucherBillId": header.get("Id", ""),
            "VoucherBillNo": header.get("VoucherNo", ""),
            "VoucherDetailNo": str(index),
        }
        for name, value in defaults.items():
            if name in detail_names and not row.get(name):
                row[name] = value
    rule = spec.sum_rule
    if rule is not None and rows and not header.get(rule.header):
        total = sum((Decimal(str(r.get(rule.detail) or "0")) for r in rows), Decimal("0"))
        header[rule.header] = format_amount(total)


def build_voucher(
    vt_code: str,
    data: Mapping[str, Any],
    *,
    schema_version: str = DEFAULT_SCHEMA_VERSION,
    check: bool = True,
) -> Voucher:
    """A voucher of ``vt_code`` from ``data`` (header fields by element name, ``DetailList``
    a list of rows), every element of the type in its order (module docstring for what is
    filled in). With ``check`` (default) the voucher is validated at the ``strict`` level and
    :class:`~ezhifu.errors.SchemaValidationError` lists every problem; data that cannot make
    a voucher raises :class:`~ezhifu.errors.VoucherDataError` naming the field and row.
    """
    spec = _fields.spec_for(vt_code, schema_version)
    if spec is None:
        known = ", ".join(_fields.known_vt_codes(schema_version))
        raise VoucherDataError(
            f"VtCode {vt_code!r} 未在 {schema_version} 版中定义（可用：{known}）/ VtCode {vt_code!r} is "
            f"not modelled in schema version {schema_version} (known: {known})",
            field="VtCode",
        )
    if not isinstance(data, Mapping):
        raise _fail("数据应为 元素名→值 的表", "data must be a table of element name -> value")
    header = _row(data, None)
    given_vt = header.get("VtCode")
    if given_vt not in (None, "", vt_code):
        raise _fail(
            f"与 --type {vt_code} 不符", f"{given_vt!r} differs from the type {vt_code}", field="VtCode"
        )
    raw_rows = data.get(_DETAILS, [])
    if not isinstance(raw_rows, list):
        raise _fail("DetailList 应为行的列表", "DetailList must be a list of rows", field=_DETAILS)
    _at_most(
        len(raw_rows),
        MAX_DETAILS,
        "明细 {n} 行，超过上限 {most}（S1 规则）",
        "{n} details exceed the limit of {most} (S1 rule)",
        field=_DETAILS,
    )
    if raw_rows and not spec.has_details:
        raise _fail(f"VtCode {vt_code} 没有明细", f"VtCode {vt_code} has no details", field=_DETAILS)
    rows = [_row(r, i) for i, r in enumerate(raw_rows, 1)]
    _check_names(header, spec, None)
    for i, row in enumerate(rows, 1):
        _check_names(row, spec, i)
    _amounts(header, spec.header, None)
    for i, row in enumerate(rows, 1):
        _amounts(row, spec.detail, i)
    _fill(header, rows, spec)
    try:
        voucher = Voucher.build(vt_code, header, rows, schema_version=schema_version)
    except VoucherDataError:
        raise
    except InvalidInput as exc:
        raise VoucherDataError(f"数据无法构成凭证 / cannot build the voucher: {exc}") from exc
    if check:
        validate(voucher, schema_version, level="strict")
    return voucher


# --- files ------------------------------------------------------------------------------------


def _csv(text: str) -> dict[str, Any]:
    header: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    columns: list[str] | None = None
    in_details = False
    for number, cells in enumerate(csv.reader(io.StringIO(text)), 1):
        if not any(cell.strip() for cell in cells):
            continue
        if not in_details:
            if cells[0].strip() == _DETAILS:
                in_details = True
                continue
            if len(cells) != 2:
                raise VoucherDataError(
                    f"CSV 第 {number} 行：表头部分每行应为 元素名,值 / CSV line {number}: a header line "
                    f"is 'element,value' ({len(cells)} cells)",
                    field=cells[0] or None,
                )
            header[cells[0].strip()] = cells[1]
        elif columns is None:
            columns = [c.strip() for c in cells]
            _at_most(
                len(columns), MAX_COLUMNS, "列数超过上限 {most}", "more than {most} columns", field=_DETAILS
            )
        else:
            if len(cells) != len(columns):
                raise _fail(
                    f"有 {len(cells)} 个值，列名有 {len(columns)} 个（CSV 第 {number} 行）",
                    f"{len(cells)} values for {len(columns)} columns (CSV line {number})",
                    row=len(rows) + 1,
                )
            if len(rows) >= MAX_DETAILS:
                raise _fail(f"明细超过上限 {MAX_DETAILS}", f"more than {MAX_DETAILS} details", field=_DETAILS)
            rows.append(dict(zip(columns, cells, strict=True)))
    if rows:
        header[_DETAILS] = rows
    return header


def parse_voucher_data(data: bytes, data_format: DataFormat, *, source: str = "data") -> dict[str, Any]:
    """The mapping :func:`build_voucher` takes, from UTF-8 JSON, TOML or CSV bytes."""
    if len(data) > MAX_DATA_BYTES:
        raise VoucherDataError(
            f"{source}：{len(data)} 字节，超过上限 {MAX_DATA_BYTES} / {source}: {len(data)} bytes exceed "
            f"the limit of {MAX_DATA_BYTES}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VoucherDataError(
            f"{source}：第 {exc.start} 字节起不是 UTF-8 / {source}: not UTF-8 at byte {exc.start}"
        ) from None
    try:
        if data_format == "json":
            parsed: Any = json.loads(text, parse_float=Decimal)
        elif data_format == "toml":
            parsed = tomllib.loads(text, parse_float=Decimal)
        elif data_format == "csv":
            parsed = _csv(text)
        else:
            raise VoucherDataError(
                f"未知格式 {data_format!r}（可用：json、toml、csv）/ unknown format {data_format!r} "
                "(use json, toml or csv)"
            )
    except RecursionError:
        # the data is tables of scalars (depth 3); a deeper document is refused, not a crash
        raise VoucherDataError(
            f"{source}：嵌套过深 / {source}: nested too deeply for voucher data (tables of values)"
        ) from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, csv.Error) as exc:
        raise VoucherDataError(
            f"{source}：不是有效的 {data_format} / {source}: not valid {data_format}: {exc}"
        ) from None
    if not isinstance(parsed, dict):
        raise VoucherDataError(
            f"{source}：顶层应为表 / {source}: the top level must be a table of element name -> value"
        )
    return parsed


def load_voucher_data(path: str | Path, data_format: DataFormat | None = None) -> dict[str, Any]:
    """Read a data file (format from ``data_format`` or the suffix ``.json``/``.toml``/``.csv``)."""
    file = Path(path)
    fmt = data_format or file.suffix.lower().lstrip(".")
    if fmt not in DATA_FORMATS:
        raise VoucherDataError(
            f"{file}：无法从扩展名判断格式（.json、.toml、.csv）/ {file}: cannot tell the format from "
            "the suffix (use .json, .toml or .csv)"
        )
    size = file.stat().st_size
    if size > MAX_DATA_BYTES:
        raise VoucherDataError(
            f"{file}：{size} 字节，超过上限 {MAX_DATA_BYTES} / {file}: {size} bytes exceed the limit "
            f"of {MAX_DATA_BYTES}"
        )
    with file.open("rb") as handle:
        raw = handle.read(MAX_DATA_BYTES + 1)
    return parse_voucher_data(raw, fmt, source=str(file))
