"""docs/service.md's Python walk-through runs against real services (ports substituted)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from service_support import Services, wait_for

from ezhifu.client.operations import OPERATIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def test_the_walk_through_runs(services: Services) -> None:
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    source = code.group(1).replace("127.0.0.1:8701", f"127.0.0.1:{services['finance'].port}")
    source = source.replace("127.0.0.1:8702", f"127.0.0.1:{services['pbc'].port}")
    # Deliveries run in the background: a step that needs the other side retries, as a caller
    # would; every step of the walk-through is safe to repeat until it succeeds.
    steps = source.split("\n\n")
    namespace: dict[str, object] = {}
    for step in steps:
        for _ in range(100):
            try:
                exec(step, namespace)
                break
            except Exception:
                time.sleep(0.1)
        else:
            exec(step, namespace)
    fin = namespace["fin"]
    no = namespace["no"]

    def twelve() -> bool:
        status = fin.batch_query_all_voucher_status("001", "420000", 2024, "5201", [no])  # type: ignore[attr-defined]
        return bool(status[no][0] == 12)

    wait_for(twelve, what="status 12 at finance")


def test_every_operation_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for op in OPERATIONS:
        assert f"`{op.name}`" in text, op.name
