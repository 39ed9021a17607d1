"""The hardened parser skips its attribute and markup searches only where the text proves them
empty (issue 17): at the limits and just past them, every refusal still happens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.document.xmlparse import DEFAULT_MAX_ATTRIBUTE_CHARS, DEFAULT_MAX_ATTRIBUTES, parse_xml
from ezhifu.errors import HostileInputError, InputLimitExceeded

DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _doc(attributes: int, *, decl: bool = True, value: str = "1") -> bytes:
    attrs = " ".join(f'a{i}="{value}"' for i in range(attributes))
    return ((DECL if decl else "") + f"<Voucher><F {attrs}>x</F></Voucher>").encode()


@pytest.mark.parametrize("decl", [True, False])
def test_attribute_count_at_and_past_the_limit(decl: bool) -> None:
    parse_xml(_doc(DEFAULT_MAX_ATTRIBUTES, decl=decl))
    with pytest.raises(InputLimitExceeded, match="attributes"):
        parse_xml(_doc(DEFAULT_MAX_ATTRIBUTES + 1, decl=decl))


def test_attribute_length_at_and_past_the_limit() -> None:
    parse_xml(_doc(1, value="v" * DEFAULT_MAX_ATTRIBUTE_CHARS))
    with pytest.raises(InputLimitExceeded, match="characters long"):
        parse_xml(_doc(1, value="v" * (DEFAULT_MAX_ATTRIBUTE_CHARS + 1)))


@pytest.mark.parametrize(
    "body",
    [
        "<Voucher><F>1<!-- c -->2</F></Voucher>",
        "<Voucher><F><!-- c --></F></Voucher>",
        "<Voucher><F>1<?pi x?>2</F></Voucher>",
        "<Voucher><F><?pi?></F></Voucher>",
    ],
)
@pytest.mark.parametrize("decl", [True, False])
def test_markup_inside_a_value_is_refused_with_or_without_declaration(body: str, decl: bool) -> None:
    with pytest.raises(HostileInputError, match="inside the value"):
        parse_xml(((DECL if decl else "") + body).encode())


def test_markup_outside_values_is_still_accepted() -> None:
    root = parse_xml((DECL + "<?pi top?><Voucher><!-- between --><F>1</F><?pi between?></Voucher>").encode())
    assert root.findtext("F") == "1"


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, DEFAULT_MAX_ATTRIBUTES + 3),
    extra_equals=st.integers(0, 5),
    where=st.sampled_from(["none", "leaf-comment", "leaf-pi", "between-comment", "between-pi"]),
)
def test_refusals_follow_the_document_not_the_shortcut(count: int, extra_equals: int, where: str) -> None:
    """Whatever the number of "=" (attributes and "=" in text) and wherever markup sits, the
    parser refuses exactly the documents with too many attributes or markup inside a value."""
    attrs = " ".join(f'a{i}="1"' for i in range(count))
    leaf = {"leaf-comment": "1<!--c-->2", "leaf-pi": "1<?p?>2"}.get(where, "=" * extra_equals)
    between = {"between-comment": "<!--c-->", "between-pi": "<?p?>"}.get(where, "")
    data = (DECL + f"<Voucher>{between}<F {attrs}>{leaf}</F></Voucher>").encode()
    if count > DEFAULT_MAX_ATTRIBUTES:
        with pytest.raises(InputLimitExceeded):
            parse_xml(data)
    elif where.startswith("leaf"):
        with pytest.raises(HostileInputError):
            parse_xml(data)
    else:
        parse_xml(data)


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5])
def test_element_count_at_and_past_the_limit(limit: int) -> None:
    data = (DECL + "<a><b/><b>1</b></a>").encode()  # 3 elements, 5 "<" with the declaration
    if limit < 3:
        with pytest.raises(InputLimitExceeded, match="elements"):
            parse_xml(data, max_elements=limit)
    else:
        assert len(parse_xml(data, max_elements=limit)) == 2
