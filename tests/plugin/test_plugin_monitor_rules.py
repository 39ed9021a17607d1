"""The ``monitor_rules`` fixture as a partner suite uses it (pytester's inner pytest)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SOURCE = """
from datetime import date
from decimal import Decimal

from ezhifu.document.models import Voucher


def payment(amount, mode="现金"):
    header = {"AdmDivCode": "420000", "StYear": "2026", "VouDate": date(2026, 3, 2),
              "VoucherNo": f"N{amount}", "SetModeName": mode, "PayAmt": Decimal(amount),
              "PaySummaryName": "办公用品"}
    return Voucher.build("8202", header, [{"PayAmt": Decimal(amount)}])


def test_fires(monitor_rules):
    alert = monitor_rules.assert_fires("CASH_SINGLE", payment("60000.00"))
    assert alert.evidence.field("PayAmt") == "60000.00"


def test_quiet(monitor_rules):
    monitor_rules.assert_quiet("CASH_SINGLE", payment("100.00"))


def test_wrong_expectation_fails(monitor_rules):
    monitor_rules.assert_fires("CASH_SINGLE", payment("100.00"))
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_partner=SOURCE)
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist", *args
    )


def test_monitor_rules_fixture_with_the_example_pack(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*rule CASH_SINGLE did not fire on the last voucher*"])


def test_monitor_rules_fixture_with_a_pack_option(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from ezhifu.monitor.rules import example_pack_path

    pack = tmp_path / "strict.toml"
    pack.write_text(
        example_pack_path().read_text("utf-8").replace('limit = "50000.00" }', 'limit = "50.00" }', 1),
        "utf-8",
    )
    result = _run(pytester, "--ezhifu-monitor-rules", str(pack))
    result.assert_outcomes(passed=2, failed=1)  # now 100.00 in cash fires: test_quiet fails, the last passes
    result.stdout.fnmatch_lines(["*test_quiet*"])
