"""The field data as data: document/data/fields.toml, read once by document/fields.py."""

from __future__ import annotations

import tomllib
from importlib import resources

from ezhifu.document import fields


def _data() -> dict:
    return tomllib.loads(resources.files("ezhifu.document").joinpath("data/fields.toml").read_text("utf-8"))


def test_every_type_of_the_file_is_modelled_once() -> None:
    vt_codes = [t["vt_code"] for t in _data()["types"]]
    assert len(vt_codes) == len(set(vt_codes))
    assert set(vt_codes) == set(fields.known_vt_codes())


def test_every_element_has_a_label_and_a_type() -> None:
    allowed = {"code", "name", "text", "amount", "date", "int", "guid"}
    for version in fields.SCHEMA_VERSIONS:
        for spec in fields.specs(version).values():
            for f in (*spec.header, *spec.detail):
                assert f.label and f.type in allowed, (spec.vt_code, f.name)
                assert f.limit() > 0


def test_version_only_elements_and_their_source() -> None:
    """8202's 2019-edition elements (S13) exist in schema version 2024 only."""
    old, new = fields.spec_for("8202", "2014"), fields.spec_for("8202", "2024")
    assert old is not None and new is not None
    assert new.header_field("PayCode") is not None and old.header_field("PayCode") is None
    assert new.header_field("PayCode").source == "S13"  # type: ignore[union-attr]
    assert new.detail_field("TrackingID") is not None and old.detail_field("TrackingID") is None
    assert fields.spec_for("5214", "2014") is None


def test_module_holds_no_field_lists() -> None:
    """The module is code; the lists are in the data file (issue 12: modules under 600 lines)."""
    source = resources.files("ezhifu.document").joinpath("fields.py").read_text("utf-8")
    assert len(source.splitlines()) <= 600
    assert 'Process5201.java"' not in source and "PayeeAcctBankName PayeeAcctBankNo" not in source


def test_reading_an_envelope_loads_no_schema_machinery() -> None:
    """The document rules and the field data cost the reader nothing heavy: importing the
    envelope model loads neither xmlschema, the XSD generator nor importlib.resources."""
    import subprocess
    import sys

    code = "import sys, ezhifu.document.envelope as e; print(sorted(m for m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for heavy in ("'xmlschema'", "'ezhifu.document.xsdgen'", "'ezhifu.document.validation'", "'zipfile'"):
        assert heavy not in loaded, heavy


def test_specs_are_built_on_first_use_and_agree_with_the_type_names() -> None:
    """Importing the document layer builds no spec (start-up, docs/performance.md "The command
    line"); a spec built later is the one :func:`fields.specs` lists, named as the file names it."""
    import json
    import subprocess
    import sys

    code = (
        "import json, ezhifu.document.envelope, ezhifu.document.models\n"
        "from ezhifu.document import fields\n"
        "print(json.dumps(fields._type_specs.cache_info().currsize))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == 0
    for vt_code in fields.known_vt_codes():
        specs = [s for v in fields.SCHEMA_VERSIONS if (s := fields.spec_for(vt_code, v)) is not None]
        assert specs and all(s is fields.specs(s.version)[vt_code] for s in specs)
        assert {(s.name, s.source) for s in specs} == {fields.type_name(vt_code)}
    assert fields.spec_for("9999") is None
