"""The envelope XSD's issues for the detailed validation pass (:mod:`ezhifu.document.validation`),
with xmlschema's messages, asked only about the bodies libxml2 refused.

xmlschema costs about 0.6 ms per ``VoucherBody`` (issue 14: 1,200 bodies with an issue each took
4.1 s to validate). libxml2 validates the same generated XSD in C and names the path of every
error; when every error lies inside a body, xmlschema reads a copy of the envelope holding just
those bodies (and every other child of ``<MOF>``), each copied element mapped back to the
original for its path and line. An error outside every body makes it read the whole envelope.
``tests/document/test_doc_many_issues.py`` checks the report equals the full pass.
"""

from __future__ import annotations

import re
from copy import deepcopy

from lxml import etree

from ezhifu.document.issues import MAX_XSD_ERRORS, Collector
from ezhifu.document.levels import attribute_of, attribute_reason, element_children
from ezhifu.document.levels import element_path as _path
from ezhifu.document.levels import element_text as _text
from ezhifu.document.xmlparse import source_line
from ezhifu.document.xsdgen import xmlschema_for

__all__ = ["envelope_xsd_issues", "flagged_bodies", "pruned_envelope"]


_BODY_PATH = re.compile(r"/MOF/VoucherBody(?:\[([0-9]+)\])?(?:/|$)")


def flagged_bodies(log: etree._ListErrorLog) -> set[int] | None:
    """The 1-based indexes of the bodies libxml2's errors lie in, or ``None`` when one lies
    outside every body (then xmlschema reads the whole envelope)."""
    flagged: set[int] = set()
    for entry in log:
        found = _BODY_PATH.match(entry.path or "")
        if found is None:
            return None
        flagged.add(int(found.group(1) or 1))
    return flagged or None


def pruned_envelope(
    root: etree._Element, flagged: set[int]
) -> tuple[etree._Element, dict[etree._Element, etree._Element]]:
    """A copy of the envelope with only the ``flagged`` bodies (and every other child), and the
    map from each copied element to the original one (for paths and lines)."""
    copy = etree.Element(str(root.tag), {str(k): str(v) for k, v in root.attrib.items()})
    originals: dict[etree._Element, etree._Element] = {copy: root}
    index = 0
    for child in element_children(root):
        if child.tag == "VoucherBody":
            index += 1
            if index not in flagged:
                continue
        copied = deepcopy(child)
        copy.append(copied)
        originals.update(zip(copied.iter(), child.iter(), strict=True))
    return copy, originals


def envelope_xsd_issues(root: etree._Element, version: str, out: Collector, *, only: set[int] | None) -> bool:
    """The envelope XSD's issues (xmlschema); an attribute issue names ``@Attribute`` and its
    rule. Returns whether there was none.

    xmlschema costs about 0.6 ms per body: with ``only`` (the bodies libxml2 refused, same XSD)
    it reads a copy holding just those bodies, each element mapped back to the original."""
    # why: xmlschema (110-150 ms) loads only for a document libxml2 refused, never on the fast path
    import xmlschema

    checked, originals = pruned_envelope(root, only) if only is not None else (root, {})
    ok = True
    for taken, error in enumerate(xmlschema_for(version, "envelope").iter_errors(etree.ElementTree(checked))):
        ok = False
        if taken >= MAX_XSD_ERRORS:  # xmlschema's cost is per error object: stop (counted once)
            out.more, out.truncated = out.more + 1, True
            break
        elem = error.elem if only is None else originals.get(error.elem) if error.elem is not None else None
        if only is not None and elem is None:
            elem = root  # (not expected: every copied element is mapped)
        path = _path(elem, root, "") if elem is not None else (error.path or "/MOF")
        line = source_line(elem) if elem is not None else None
        children_error = isinstance(error, xmlschema.XMLSchemaChildrenValidationError)
        if not children_error and elem is not None and elem.tag == "Voucher":
            continue  # the Base64 text is checked later, with the offset of the bad character
        code = "envelope-structure" if children_error else "envelope-value"
        reason = str(error.reason)
        attribute = None if children_error or elem is None else attribute_of(reason)
        if attribute is not None and elem is not None:
            name, problem = attribute
            path, reason = f"{path}/@{name}", attribute_reason(name, problem)
            value = elem.get(name)
        else:
            value = None if children_error or elem is None else _text(elem)
        out.add(path, line, reason, value, code)
    return ok
