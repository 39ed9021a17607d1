"""Every ``spec.md §x[.y]`` citation resolves to a section of docs/spec.md (issue 12, item 7).

docs/spec.md is the project's summary of the interface facts it relies on, numbered §0 … §11
like the developers' reference. Docstrings, comments, CLI help strings and the documentation
cite it as "spec.md §5.3" (also "spec.md §5.3–§5.4", "spec.md §5.6, §6, §8", "spec.md 2.1"). The
tests here read every such citation in the repository and fail naming ``file:line`` of one that
names no heading of docs/spec.md; they also fail when a section of docs/spec.md names no source
(an id of its §0 table) or no certainty mark ([C], [V], [I]).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec.md"

#: Where citations are looked for: the package, the documentation and the rest of the code.
SCAN_ROOTS = ("src", "docs", "tests", "examples", "benchmarks", "fuzz", "scripts", "README.md")
_SKIP_DIRS = {"__pycache__", ".venv", ".git", "node_modules"}
_MAX_SCAN_BYTES = 2_000_000  # data fixtures beyond this hold no citations

_NUM = r"\d+(?:\.\d+)*"
#: The file name, alone or as the target of a Markdown link (``[spec.md](spec.md)``).
_CITE_HEAD = re.compile(r"(?<![\w-])spec\.md(?:\]\([^)\s]*\))?")
#: The first section: "§5.3" (may follow a line break or a comment's ``#``) or "5.3" on the same line.
_FIRST = re.compile(rf"[\s#]*§{{1,2}}[ \t]*(?P<num>{_NUM})|[ \t]+(?P<bare>{_NUM})(?![\w.])")
#: Further sections: ", §6", " and §8.3", "–§5.4", or a range "-5.5".
_NEXT = re.compile(
    rf"[ \t]*(?:,|;|/|&|\band\b|\bor\b|\bto\b|–|—|-)[\s#]*§{{1,2}}[ \t]*(?P<num>{_NUM})"
    rf"|[ \t]*[–—-][ \t]*(?P<range>{_NUM})(?![\w.])"
)
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t]*$")
_SECTION_NUMBER = re.compile(rf"^(?P<num>{_NUM})\.?(?:[ \t]|$)")
_SOURCE_ID = re.compile(r"(?<![\w-])S(?P<id>\d+)(?!\w)")
_SOURCE_ROW = re.compile(r"^\|[ \t]*S(?P<id>\d+)[ \t]*\|", re.MULTILINE)
_MARK = re.compile(r"\[(?:C|V|I)\b")
_BARE_SECTION = re.compile(rf"§{{1,2}}[ \t]*(?P<num>{_NUM})")
_API_NAME = re.compile(r"`(?P<name>ezhifu(?:\.[A-Za-z_]\w*)+)(?:\(\))?`")


@dataclass(frozen=True)
class Section:
    """One numbered heading of docs/spec.md and the text up to the next heading."""

    number: str
    line: int
    title: str
    body: str


@dataclass(frozen=True)
class Citation:
    """One section named by a ``spec.md`` citation, at ``path:line``."""

    path: str
    line: int
    section: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: spec.md §{self.section}"


def parse_sections(text: str) -> list[Section]:
    """The numbered headings of a spec.md text (headings inside fenced code are not headings)."""
    found: list[tuple[str, int, str, list[str]]] = []
    fenced = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(raw)
        if heading is None:
            if found:
                found[-1][3].append(raw)
            continue
        title = heading["title"].removeprefix("§").strip()
        numbered = _SECTION_NUMBER.match(title)
        # A heading without a number (the page title) ends the previous section's text too.
        found.append((numbered["num"] if numbered else "", number, title, []))
    return [Section(num, line, title, "\n".join(body)) for num, line, title, body in found if num]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def extract_citations(text: str, path: str = "<text>") -> Iterator[Citation]:
    """Every section named after ``spec.md`` in ``text``, with the line of its number."""
    for head in _CITE_HEAD.finditer(text):
        first = _FIRST.match(text, head.end())
        if first is None:
            continue  # "spec.md" named without a section
        group = "num" if first["num"] is not None else "bare"
        yield Citation(path, _line_of(text, first.start(group)), first[group])
        position = first.end()
        while (more := _NEXT.match(text, position)) is not None:
            group = "num" if more["num"] is not None else "range"
            yield Citation(path, _line_of(text, more.start(group)), more[group])
            position = more.end()


def iter_scanned_files(root: Path = ROOT) -> Iterator[Path]:
    """The text files under :data:`SCAN_ROOTS` (symbolic links to directories are not followed)."""
    for name in SCAN_ROOTS:
        start = root / name
        if start.is_file():
            yield start
            continue
        for directory, subdirs, files in os.walk(start):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS and not d.startswith("."))
            for file in sorted(files):
                path = Path(directory, file)
                if not path.is_symlink() and path.stat().st_size <= _MAX_SCAN_BYTES:
                    yield path


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # binary or GBK fixtures: no citation is written in those


def unresolved_citations(paths: Iterable[Path], sections: set[str], root: Path = ROOT) -> list[Citation]:
    """The citations in ``paths`` whose section is not in ``sections``."""
    bad: list[Citation] = []
    for path in paths:
        text = _read_text(path)
        if text is None or "spec.md" not in text:
            continue
        shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        bad.extend(c for c in extract_citations(text, shown) if c.section not in sections)
    return bad


def defined_sources(sections: list[Section]) -> set[str]:
    """The source ids (``S1`` …) of the table in §0."""
    zero = next((s for s in sections if s.number == "0"), None)
    return set() if zero is None else {f"S{m['id']}" for m in _SOURCE_ROW.finditer(zero.body)}


def sections_without_source(sections: list[Section]) -> list[str]:
    """Sections whose own text cites no source of §0, or carries no certainty mark."""
    sources = defined_sources(sections)
    missing: list[str] = []
    for section in sections:
        cited = {f"S{m['id']}" for m in _SOURCE_ID.finditer(section.body)}
        if not cited & sources:
            missing.append(f"§{section.number} {section.title!r} (line {section.line}): no source S1…")
        if _MARK.search(section.body) is None:
            missing.append(f"§{section.number} {section.title!r} (line {section.line}): no [C]/[V]/[I] mark")
    return missing


def _spec() -> tuple[str, list[Section]]:
    text = SPEC.read_text(encoding="utf-8")
    return text, parse_sections(text)


# --- the repository ----------------------------------------------------------------------------


def test_every_citation_resolves_to_a_section() -> None:
    _, sections = _spec()
    numbers = {s.number for s in sections}
    bad = unresolved_citations(iter_scanned_files(), numbers)
    assert not bad, "citations naming no heading of docs/spec.md:\n" + "\n".join(map(str, bad))


def test_citations_are_found_in_code_help_and_docs() -> None:
    """The scan sees the citations it is meant to check (a scan that finds none proves nothing)."""
    found = {c.path for p in iter_scanned_files() for c in extract_citations(_read_text(p) or "", p.name)}
    cli_help = (ROOT / "src/ezhifu/cli/verify_cmd.py").read_text(encoding="utf-8")
    assert any(c.section == "5.3" for c in extract_citations(cli_help)), "CLI help cites spec.md §5.3"
    assert {"envelope.py", "status.py", "flow.md"} <= found


def test_every_section_names_a_source_and_a_mark() -> None:
    _, sections = _spec()
    missing = sections_without_source(sections)
    assert not missing, "docs/spec.md sections without a source:\n" + "\n".join(missing)


def test_every_source_id_is_in_the_table() -> None:
    text, sections = _spec()
    table = defined_sources(sections)
    assert table == {f"S{n}" for n in range(1, 17)}
    used = {f"S{m['id']}" for m in _SOURCE_ID.finditer(text)}
    assert used <= table, f"sources used but not listed in §0: {sorted(used - table)}"


def test_numbering_follows_the_reference() -> None:
    """§0 … §11 in order, each subsection under its parent, no number twice."""
    _, sections = _spec()
    numbers = [s.number for s in sections]
    assert len(numbers) == len(set(numbers)), "a section number appears twice"
    assert [n for n in numbers if "." not in n] == [str(i) for i in range(12)]
    for number in numbers:
        parent = number.rpartition(".")[0]
        assert not parent or parent in numbers, f"§{number} has no parent §{parent}"
    # the subsections code cites (see the developers' reference)
    cited = {"2.1", "2.2", "4.1", "4.8", "4.9", "5.1", "5.3", "5.4", "5.5", "5.6", "8.1", "8.3"}
    assert cited <= set(numbers)


def test_cross_references_inside_spec_resolve() -> None:
    text, sections = _spec()
    numbers = {s.number for s in sections}
    bad = [
        f"docs/spec.md:{_line_of(text, m.start())}: §{m['num']}"
        for m in _BARE_SECTION.finditer(text)
        if m["num"] not in numbers
    ]
    assert not bad, "\n".join(bad)


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def test_api_names_in_spec_exist() -> None:
    """The "In ezhifu" notes name real objects, so the page cannot drift from the code."""
    text, _ = _spec()
    names = sorted({m["name"] for m in _API_NAME.finditer(text)})
    assert len(names) >= 10
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name}: {exc}")
    assert not missing, "\n".join(missing)


def test_index_links_the_spec() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "(spec.md)" in index


# --- the checker itself ------------------------------------------------------------------------

_SAMPLE_SPEC = """# title

## 0. Sources
[C] the table
| S1 | a repository |
| S2 | a page |

## 1. Parties
[C] Three parties (S1).

### 1.1 Sub
[I] Something (S2).

```text
## 9. not a heading
```

## 2. Envelope
Nothing cited here.
"""


def test_parse_sections_skips_code_and_keeps_bodies() -> None:
    sections = parse_sections(_SAMPLE_SPEC)
    assert [s.number for s in sections] == ["0", "1", "1.1", "2"]
    assert "## 9. not a heading" in sections[2].body
    assert defined_sources(sections) == {"S1", "S2"}


def test_section_without_source_is_reported() -> None:
    missing = sections_without_source(parse_sections(_SAMPLE_SPEC))
    assert len(missing) == 2
    assert all(m.startswith("§2 '2. Envelope'") for m in missing)


def test_bogus_citation_is_reported_with_file_and_line(tmp_path: Path) -> None:
    bogus = "spec.md " + "§99.9"  # assembled, so that this file holds no bogus citation itself
    module = tmp_path / "module.py"
    module.write_text(f'"""Line one.\n\nThe rule (spec.md §5.3, {bogus}).\n"""\n', encoding="utf-8")
    bad = unresolved_citations([module], {"5.3"}, root=tmp_path)
    assert [str(c) for c in bad] == [f"module.py:3: {bogus}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(spec.md §5.3)", ["5.3"]),
        ("spec.md §8.1.", ["8.1"]),
        ("spec.md §5.3–§5.4: No", ["5.3", "5.4"]),
        ("(spec.md §5.6, §6, §8)", ["5.6", "6", "8"]),
        ("spec.md §5.6 and §8.3;", ["5.6", "8.3"]),
        ("spec.md §5.6 step 3", ["5.6"]),
        ("spec.md §1, S15", ["1"]),
        ("spec.md 2.1 (S1, S7)", ["2.1"]),
        ("(spec.md\n§5.3). A", ["5.3"]),
        ("# comment spec.md\n    # §4.1 quirk", ["4.1"]),
        ("[spec.md](spec.md) §5.4", ["5.4"]),
        ("reference spec.md §5.4-5.5", ["5.4", "5.5"]),
        ("spec.md\n2. a list item", []),
        ("the spec.md file", []),
        ("seal_spec.md §3", []),
        ("seal_sm2.md §5.4", []),
    ],
)
def test_citation_forms(text: str, expected: list[str]) -> None:
    assert [c.section for c in extract_citations(text)] == expected


_numbers = st.lists(st.integers(0, 40), min_size=1, max_size=3).map(lambda xs: ".".join(map(str, xs)))
_separators = st.sampled_from([", ", " and ", ", ", "–", " or ", "/"])


@given(
    first=_numbers,
    rest=st.lists(st.tuples(_separators, _numbers), max_size=4),
    prefix=st.sampled_from(["", "(", "see ", "# "]),
    suffix=st.sampled_from(["", ")", ".", ": text", " step 3", "\n"]),
)
def test_every_listed_section_is_extracted(
    first: str, rest: list[tuple[str, str]], prefix: str, suffix: str
) -> None:
    text = prefix + "spec.md §" + first + "".join(sep + "§" + num for sep, num in rest) + suffix
    assert [c.section for c in extract_citations(text)] == [first, *(num for _, num in rest)]
