"""The position table: one file says which key signs and which seal stamps where (docs/positions.md).

Run: python examples/position_table.py   (writes positions.toml in the current directory)
"""

from __future__ import annotations

import os
from pathlib import Path

from ezhifu.document.positions import PositionTable
from ezhifu.errors import ConfigFileRefused, PositionNotInTable

TABLE = """\
[positions."5201".cz_dwfz]
kind = "signature"
alias = "unit-head"
name = "单位负责人签名"

[positions."5201".cz_dwgz]
kind = "stamp"
alias = "unit-sealer"
seal = "4201000000000001"
name = "单位公章"

[positions."8202".cz_dwfz]

[positions."*".rh_ywzqz]
kind = "stamp"
alias = "bank-sealer"
seal = "4201000000000009"
"""


def main() -> None:
    path = Path("positions.toml")
    path.write_text(TABLE, encoding="utf-8")
    path.chmod(0o600)
    table = PositionTable.from_toml(path)
    print("stamp at 5201/cz_dwgz: seal", table.rule("5201", "cz_dwgz", "stamp").seal_id)
    print("names of 5201:", table.names("5201"))
    print("positions per VtCode:", {vt: sorted(names) for vt, names in table.items()})
    try:
        table.rule("5201", "cz_dwgz", "signature")
    except PositionNotInTable as exc:
        print(f"signature at a stamp position refused: OCX {exc.ocx_code}")
    if os.name == "posix":
        path.chmod(0o666)
        try:
            PositionTable.from_toml(path)
        except ConfigFileRefused as exc:
            print("writable by others: refused:", str(exc).split(": ", 1)[1][:60])
        path.chmod(0o600)


if __name__ == "__main__":
    main()
