"""Streaming and parallel verification of large envelopes.

A province's daily batch can be one ``<MOF>`` envelope of 10,000 vouchers and 100 MB.
:func:`iter_bodies` reads it incrementally with lxml's pull parser and hands out one
:class:`~ezhifu.document.envelope.VoucherBody` at a time, freeing each element once read, so
memory stays bounded by the largest body, not the file. :func:`verify_stream` verifies the
bodies, optionally over a process pool (SM2 verification is CPU bound and holds the GIL).

The same safety rules as the in-memory parser apply (parsing.md): no DOCTYPE or entity
declaration anywhere (checked on the raw bytes as they stream in: in GBK and UTF-8 the bytes
``<!`` can only be markup), no network, libxml2's default size and depth limits
(``huge_tree=False``), duplicated single-valued children refused by
``VoucherBody.from_element``, and ``VoucherCount`` checked at the end.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from lxml import etree

from ezhifu._fileio import MAX_RUN_BYTES, MAX_RUN_FILES, RunBudget
from ezhifu.document.envelope import EnvelopeReader, VoucherBody
from ezhifu.document.grammar import MarkupScanner
from ezhifu.document.xmlparse import declared_encoding, new_pull_parser
from ezhifu.errors import (
    ConfigurationError,
    DecodingError,
    EnvelopeGrammarError,
    HostileInputError,
    InputLimitExceeded,
    InvalidInput,
)
from ezhifu.results import BodyResult
from ezhifu.verify.envelope import verify_body
from ezhifu.verify.steps import DiagnosisBudget

__all__ = ["MAX_STREAM_BYTES", "BatchSummary", "envelope_files", "iter_bodies", "summarize", "verify_stream"]

if TYPE_CHECKING:  # the pool (multiprocessing) is imported where a parallel run starts
    from ezhifu.verify.pool import BodyPool

_CHUNK = 1 << 16
_REFUSED = (b"<!DOCTYPE", b"<!ENTITY")
_KEEP = max(len(m) for m in _REFUSED) - 1


#: Largest envelope the streaming reader reads (docs/security.md "Limits"): 4 GiB, 40 times a
#: province's daily batch; the memory used does not grow with it.
MAX_STREAM_BYTES = 4 * 1024 * 1024 * 1024


def iter_bodies(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    chunk_size: int = _CHUNK,
    max_bytes: int = MAX_STREAM_BYTES,
) -> Iterator[VoucherBody]:
    """Yield the bodies of an envelope file one by one, in document order.

    The document is read with the one envelope reader
    (:class:`~ezhifu.document.envelope.EnvelopeReader`, :mod:`ezhifu.document.grammar`), so
    it is refused exactly where :meth:`Envelope.from_bytes` refuses it, with the same
    :class:`~ezhifu.errors.EnvelopeGrammarError` code, path and line. Raises
    :class:`~ezhifu.errors.InvalidInput` (or ``HostileInputError`` / ``DecodingError`` /
    ``InputLimitExceeded`` past ``max_bytes``) as soon as the problem is reached; bodies
    yielded before it were complete and well-formed.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield from _iter_bodies(handle, chunk_size, str(source), max_bytes)
    else:
        yield from _iter_bodies(source, chunk_size, getattr(source, "name", "envelope"), max_bytes)


def _iter_bodies(handle: IO[bytes], chunk_size: int, name: str, max_bytes: int) -> Iterator[VoucherBody]:
    parser = new_pull_parser()  # "end" events; comments are refused by the byte scan below
    reader = EnvelopeReader()
    scanner: MarkupScanner | None = None
    tail = b""
    offset = 0

    def drain() -> Iterator[VoucherBody]:
        for _event, node in parser.read_events():
            if not isinstance(node, etree._Element):  # only "end" events were asked for
                continue
            if not reader.bodies and node.getparent() is None:
                docinfo: Any = node.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
                if docinfo.doctype or docinfo.internalDTD is not None:
                    raise HostileInputError(f"{name}: a DOCTYPE declaration is not allowed")
            body = reader.end(node)
            if body is not None:
                # Free what was read: the element and every earlier sibling.
                parent = node.getparent()
                # Keep the tail: it is checked when the next sibling or <MOF> ends (lxml-stubs
                # 0.5.1 lack keep_tail, which lxml has had since 4.4).
                node.clear(keep_tail=True)  # type: ignore[call-arg]
                while parent is not None and node.getprevious() is not None:
                    del parent[0]
                yield body

    while True:
        chunk = handle.read(chunk_size)
        if not chunk:
            break
        if offset == 0:
            # Refuses UTF-16/32 (with or without a byte-order mark), EBCDIC and undeclared
            # encodings before libxml2 guesses one: the byte scans below are only sound for
            # ASCII-compatible encodings (security review XML-2).
            scanner = MarkupScanner(declared_encoding(chunk)[1])
        if offset + len(chunk) > max_bytes:
            raise InputLimitExceeded(
                f"{name}: 信封过大 / more than the limit of {max_bytes} bytes",
                limit="max_stream_bytes",
                value=offset,
            )
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise HostileInputError(f"{name}: NUL octet at byte offset {offset + nul} is not allowed")
        window = tail + chunk
        for marker in _REFUSED:
            at = window.find(marker)
            if at >= 0:
                raise HostileInputError(
                    f"{name}: {marker.decode()} at byte offset {offset - len(tail) + at} is not allowed"
                )
        tail = window[-_KEEP:]
        assert scanner is not None
        scanner.feed(chunk)
        try:
            parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(name, exc, offset) from exc
        offset += len(chunk)
        try:
            yield from drain()
        except EnvelopeGrammarError as exc:
            raise _markup_first(exc, scanner, handle, chunk_size, max_bytes - offset) from exc
    try:
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(name, exc, offset) from exc
    yield from drain()
    reader.finish()


def _markup_first(
    error: EnvelopeGrammarError, scanner: MarkupScanner, handle: IO[bytes], chunk_size: int, budget: int
) -> EnvelopeGrammarError:
    """The problem to report when a grammar problem is met before the end: a comment,
    processing instruction or CDATA section anywhere in the rest of the bytes wins, as in the
    in-memory reader, which scans the whole document before parsing it (grammar.scan_markup).
    Without this the reported code would depend on where the chunks happen to end. Bounded:
    at most ``budget`` more bytes (what remains of the envelope's byte limit) are scanned."""
    while budget > 0:
        chunk = handle.read(min(chunk_size, budget))
        if not chunk:
            break
        budget -= len(chunk)
        try:
            scanner.feed(chunk)
        except EnvelopeGrammarError as markup:
            return markup
    return error


def _syntax_error(name: str, exc: etree.XMLSyntaxError, offset: int) -> InvalidInput:
    message = str(exc.msg or exc)
    lowered = message.lower()
    if "encoding" in lowered or ("bytes" in lowered and "invalid" in lowered):
        return DecodingError(f"{name}: {message} (near byte offset {offset})", offset=offset)
    if any(s in lowered for s in ("huge", "too long", "depth", "amplification", "limit")):
        return HostileInputError(f"{name}: {message} at line {exc.lineno}")
    return InvalidInput(f"{name}: not well-formed XML at line {exc.lineno}, column {exc.offset}: {message}")


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Totals of a batch run."""

    total: int
    valid: int
    elapsed_s: float

    @property
    def invalid(self) -> int:
        return self.total - self.valid

    @property
    def per_second(self) -> float:
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0


# --- parallel verification ------------------------------------------------------------


def verify_stream(
    source: str | os.PathLike[str] | IO[bytes] | Iterable[VoucherBody],
    *,
    trust: Any,
    policy: Any = None,
    positions: Mapping[str, Iterable[str]] | None = None,
    at: datetime | None = None,
    workers: int = 1,
    chunk: int = 32,
    pool: BodyPool | None = None,
    start_method: str | None = None,
    parties: Any = None,
) -> Iterator[BodyResult]:
    """Verify every body of an envelope file as it streams in, results in document order.

    ``workers > 1`` spreads chunks of ``chunk`` bodies over a process pool
    (:class:`~ezhifu.verify.pool.VerifyPool`, any ``start_method``); at most ``2 * workers``
    chunks are in flight, so memory stays bounded. A ``pool`` opened by the caller is used
    instead (one pool for a whole run of many files, or a Dask
    :class:`~ezhifu.verify.cluster.ClusterPool`; its own trust, policy, positions and time
    apply). The options are those of :func:`ezhifu.verify.envelope.verify_body` (``parties``: a
    :class:`ezhifu.verify.parties.Parties` read from a file, shipped to workers as its bytes;
    a caller's ``pool`` must have been opened with the same parties file).
    Diagnoses of failed signatures draw on one :class:`~ezhifu.verify.steps.DiagnosisBudget`
    for the run (one per worker process), so an envelope of failing bodies costs a constant more
    than a valid one.
    """
    options: dict[str, Any] = {"trust": trust, "policy": policy, "positions": positions, "at": at}
    if parties is not None:
        shipped = getattr(parties, "source", None)
        if pool is not None and pool.config.parties != shipped:
            raise ConfigurationError(
                "进程池的参与方文件与此不同 / the pool was opened without this parties file "
                "(open it with parties=...)"
            )
        options["parties"] = parties
    if workers <= 1:  # one diagnosis budget for the envelope, as verify_envelope has
        options["budget"] = DiagnosisBudget()
    bodies: Iterable[VoucherBody]
    if isinstance(source, str | os.PathLike):
        bodies = iter_bodies(source)
    elif hasattr(source, "read"):
        bodies = iter_bodies(cast(IO[bytes], source))
    else:
        bodies = source
    if pool is not None:
        yield from pool.verify_bodies(bodies, chunk=chunk)
        return
    if workers <= 1:
        for body in bodies:
            yield verify_body(body, **options)
        return
    # why: multiprocessing and the process pool load only for a parallel run
    from ezhifu.verify.pool import VerifyPool

    with VerifyPool(workers, start_method=start_method, **options) as own:
        yield from own.verify_bodies(bodies, chunk=chunk)


def summarize(results: Iterable[BodyResult]) -> BatchSummary:
    """Consume results and count them (timing from the first to the last result)."""
    start = time.perf_counter()
    total = valid = 0
    for result in results:
        total += 1
        valid += result.valid
    return BatchSummary(total=total, valid=valid, elapsed_s=time.perf_counter() - start)


def envelope_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    max_files: int = MAX_RUN_FILES,
    max_bytes: int = MAX_RUN_BYTES,
) -> Iterator[Path]:
    """Expand directories into the ``*.xml`` files below them (sorted), within the per-run
    limits (docs/security.md "Limits"): more than ``max_files`` files or ``max_bytes`` bytes in
    all raises :class:`~ezhifu.errors.RunLimitExceeded` (``limit="max_run_files"`` /
    ``"max_run_bytes"``) when it is reached; a special file counts :data:`MAX_STREAM_BYTES`.
    A directory is listed only up to the limit."""
    budget = RunBudget(max_files, max_bytes)
    for p in paths:
        path = Path(p)
        if path.is_dir():
            listed = (f for f in path.rglob("*.xml") if f.is_file())
            found = sorted(itertools.islice(listed, budget.max_files - budget.files + 1))
            if len(found) > budget.max_files - budget.files:
                budget.count_file(len(found))
            for file in found:
                budget.take(file, unknown_size=MAX_STREAM_BYTES)
                yield file
        else:
            budget.take(path, unknown_size=MAX_STREAM_BYTES)
            yield path
