"""examples/three_parties.py runs on a fresh install and shows every step with its status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "three_parties.py"


def test_three_parties_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # each part of the story, with the status codes of spec.md §8.1
    assert " 13  发送单状态：本方未发送" in out
    assert "  1  发送单状态：对方接收成功" in out
    assert "  3  发送单状态：对方签收成功" in out
    assert " 12  发送单状态：已收到对方回单" in out
    assert "  9  回单状态：对方签收成功" in out
    assert "  5  发送单状态：对方已退回" in out and "收款人账号不存在" in out
    assert " -1  未找到对应凭证（本地：已作废）" in out
    assert "XCheckResult=0 (相符)" in out
    assert out.count("verified on arrival") >= 10
    assert "0 rejection(s)" in out
    assert list(tmp_path.iterdir()) == []  # everything it made lived in its own temporary folder
