"""Rule files that must be refused, with their line and reason; the expression language's limits."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.errors import (
    ForbiddenExpression,
    RuleFileError,
    RuleLimitExceeded,
    RuleSchemaError,
    RuleSyntaxError,
    UnknownRuleField,
)
from ezhifu.monitor import RuleSet
from ezhifu.monitor.expr import MAX_DEPTH, Aggregate, BoolOp, Compare, parse
from ezhifu.monitor.rules import MAX_RULES

HEAD = '[pack]\nid = "t"\nversion = "1"\n\n'


def rule(when: str, *, extra: str = "", applies: str = '["8202"]') -> str:
    """One rule; its ``when`` is line 8 of the rule (line 12 of a file starting with HEAD)."""
    quoted = '"' + when.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return (
        '[[rule]]\nid = "R1"\nversion = 1\nlevel = 2\naction = "PROMPT"\nsource = "test"\n'
        f'applies_to = {applies}\n{extra}when = {quoted}\nmessage = "m"\n'
    )


def refused(text: str, kind: type[RuleFileError]) -> RuleFileError:
    with pytest.raises(kind) as info:
        RuleSet.from_text(text, origin="pack.toml")
    return info.value


def test_a_good_rule_loads() -> None:
    pack = RuleSet.from_text(HEAD + rule("PayAmt > 10"))
    assert pack.rules[0].line == 5
    assert pack.rules[0].scope == "detail"


def test_toml_syntax_error_names_the_line() -> None:
    text = HEAD + '[[rule]]\nid = "R1"\nversion = = 1\n'
    err = refused(text, RuleSyntaxError)
    assert err.line == 7
    assert "pack.toml:7" in str(err)


def test_unknown_field_names_the_line_and_field() -> None:
    text = HEAD + rule("PayAmt > 10") + "\n" + rule("PayAmount > 10").replace('"R1"', '"R2"')
    err = refused(text, UnknownRuleField)
    assert err.line == 22  # the `when` of the second rule
    assert "PayAmount" in str(err) and "R2" in str(err)
    assert err.reason == "unknown field PayAmount"


def test_header_only_names_are_checked_against_the_header() -> None:
    refused(HEAD + rule("voucher.TrackingID == 'x'"), UnknownRuleField)  # TrackingID is a detail field
    refused(HEAD + rule("TrackingID == 'x'", extra='scope = "voucher"\n'), UnknownRuleField)
    RuleSet.from_text(HEAD + rule("TrackingID == 'x'"))  # detail scope: fine


@pytest.mark.parametrize(
    "when",
    [
        "__import__('os').system('id')",
        "PayAmt.__class__",
        "eval('1')",
        "open('/etc/passwd')",
        "PayAmt; 1",
        "(lambda: 1)()",
        "PayAmt[0]",
        "os.system('x')",
        "getattr(PayAmt, 'x')",
        "PayAmt if 1 else 2",
    ],
)
def test_code_execution_attempts_are_refused(when: str) -> None:
    err = refused(HEAD + rule(when), RuleFileError)
    assert isinstance(err, (ForbiddenExpression, RuleSyntaxError))
    assert err.line == 12
    assert "pack.toml:12" in str(err)


def test_schema_errors_name_the_key_line() -> None:
    err = refused(
        HEAD + rule("PayAmt > 1").replace('action = "PROMPT"', 'action = "FREEZE"'), RuleSchemaError
    )
    assert err.line == 9
    assert "action" in err.reason
    err = refused(HEAD + rule("PayAmt > 1", extra="params = { limit = 1.5 }\n"), RuleSchemaError)
    assert err.line == 12  # floats are refused: amounts are strings or integers
    err = refused(HEAD + rule("PayAmt > 1", extra='colour = "red"\n'), RuleSchemaError)
    assert "colour" in err.reason
    refused(rule("PayAmt > 1"), RuleSchemaError)  # no [pack]


def test_other_refusals() -> None:
    refused(HEAD + rule("PayAmt > param.limit"), UnknownRuleField)  # undefined parameter
    refused(HEAD + rule("count_over(by=[PayeeAcctNo], days=400) > 1"), RuleLimitExceeded)
    refused(
        HEAD + rule("count_over(by=[PayeeAcctNo], days=param.d) > 1", extra="params = { d = 0 }\n"),
        RuleLimitExceeded,
    )
    refused(HEAD + rule("count_over(by=[PayeeAcctNo]) > 1"), RuleSyntaxError)  # no window
    refused(HEAD + rule("PayeeAcctName matches '('"), RuleSyntaxError)  # bad regex
    refused(HEAD + rule("PayeeAcctName matches PayeeAcctNo"), ForbiddenExpression)  # pattern not constant
    refused(HEAD + rule("PayAmt > 1", applies='["9999"]'), UnknownRuleField)
    refused(HEAD + rule("PayAmt > 1") + rule("PayAmt > 2"), RuleSchemaError)  # duplicate id
    many = HEAD + "".join(rule("PayAmt > 1").replace('"R1"', f'"R{i}"') for i in range(MAX_RULES + 1))
    refused(many, RuleLimitExceeded)
    refused(HEAD + rule("(" * (MAX_DEPTH + 2) + "1" + ")" * (MAX_DEPTH + 2)), RuleLimitExceeded)


def test_parser_builds_the_expected_tree() -> None:
    node = parse("PayAmt >= 10 and PayeeAcctNo not in ['1', '2'] or not present(XPayAmt)")
    assert isinstance(node, BoolOp) and node.op == "or"
    first = node.operands[0]
    assert isinstance(first, BoolOp) and isinstance(first.operands[1], Compare)
    assert first.operands[1].op == "not in"
    agg = parse("sum_over(PayAmt, by=[AgencyCode], period='month', vt=['5106'])")
    assert isinstance(agg, Aggregate) and agg.vt == ("5106",) and agg.period == "month"
    lit = parse("-1.50")
    assert lit is not None
    assert Decimal("1.50") == parse("1.50").value  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parser_never_fails_other_than_with_a_rule_error(text: str) -> None:
    with contextlib.suppress(RuleFileError):
        parse(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="()[],=<>!+-* 'a1._", max_size=60))
def test_parser_on_operator_soup(text: str) -> None:
    with contextlib.suppress(RuleFileError):
        parse(text)
