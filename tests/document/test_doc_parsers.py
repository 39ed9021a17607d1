"""The one hardened parser factory (document/xmlparse.py): new_parser() and new_pull_parser()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from ezhifu.document.xmlparse import new_parser, new_pull_parser

SRC = Path(__file__).resolve().parents[2] / "src" / "ezhifu"
NETWORK_DTD = b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>'
ENTITY = b'<!DOCTYPE a [<!ENTITY x "expanded">]><a>&x;</a>'


def test_pull_parser_fetches_nothing_and_expands_nothing() -> None:
    parser = new_pull_parser()
    parser.feed(ENTITY)
    root = parser.close()
    assert root.text is None  # the entity is not expanded
    parser = new_pull_parser()
    with pytest.raises(etree.XMLSyntaxError):
        parser.feed(NETWORK_DTD)
        parser.close()


def test_pull_parser_drops_comments_reports_end_events() -> None:
    parser = new_pull_parser()
    parser.feed(b"<MOF><!-- c --><VoucherCount>1</VoucherCount></MOF>")
    events = [(event, node.tag) for event, node in parser.read_events()]
    assert events == [("end", "VoucherCount"), ("end", "MOF")]


def test_parsers_are_fresh_per_call() -> None:
    assert new_parser() is not new_parser()
    assert new_pull_parser() is not new_pull_parser()


def test_stream_reader_uses_the_factory() -> None:
    """verify/stream.py builds no parser of its own: it calls new_pull_parser()."""
    text = (SRC / "verify" / "stream.py").read_text(encoding="utf-8")
    assert re.search(r"etree\.XML(Pull)?Parser\s*\(", text) is None
    assert "new_pull_parser()" in text
