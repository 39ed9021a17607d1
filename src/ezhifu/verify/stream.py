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

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from lxml import etree

from ezhifu.document.envelope import VoucherBody
from ezhifu.document.rules import voucher_count_matches
from ezhifu.document.xmlparse import declared_encoding, element_text, new_pull_parser
from ezhifu.errors import DecodingError, HostileInputError, InvalidInput
from ezhifu.results import BodyResult
from ezhifu.verify.envelope import verify_body

__all__ = ["BatchSummary", "envelope_files", "iter_bodies", "summarize", "verify_stream"]

_CHUNK = 1 << 16
_REFUSED = (b"<!DOCTYPE", b"<!ENTITY")
_KEEP = max(len(m) for m in _REFUSED) - 1


def iter_bodies(
    source: str | os.PathLike[str] | IO[bytes], *, chunk_size: int = _CHUNK
) -> Iterator[VoucherBody]:
    """Yield the bodies of an envelope file one by one, in document order.

    Raises :class:`~ezhifu.errors.InvalidInput` (or ``HostileInputError`` /
    ``DecodingError``) naming the line or byte offset, as soon as the problem is reached;
    bodies yielded before it were complete and well-formed.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield from _iter_bodies(handle, chunk_size, str(source))
    else:
        yield from _iter_bodies(source, chunk_size, getattr(source, "name", "envelope"))


def _iter_bodies(handle: IO[bytes], chunk_size: int, name: str) -> Iterator[VoucherBody]:
    parser = new_pull_parser()
    tail = b""
    offset = 0
    index = 0
    declared: str | None = None
    root_checked = False

    def drain() -> Iterator[VoucherBody]:
        nonlocal index, declared, root_checked
        for _event, node in parser.read_events():
            if not isinstance(node, etree._Element):  # only "end" events were asked for
                continue
            element = node
            tag = element.tag
            if not root_checked:
                docinfo: Any = element.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
                if docinfo.doctype or docinfo.internalDTD is not None:
                    raise HostileInputError(f"{name}: a DOCTYPE declaration is not allowed")
                root = element.getroottree().getroot()
                if root.tag != "MOF":
                    raise InvalidInput(f"{name}: root element is <{root.tag}>, expected <MOF>")
                root_checked = True
            parent = element.getparent()
            if tag == "VoucherBody" and parent is not None and parent.getparent() is None:
                index += 1
                body = VoucherBody.from_element(element, index=index)
                # Free what was read: the element and every earlier sibling.
                element.clear()
                while element.getprevious() is not None:
                    del parent[0]
                yield body
            elif tag == "VoucherCount" and parent is not None and parent.getparent() is None:
                if declared is not None:
                    raise InvalidInput(f"{name}: second <VoucherCount> at line {element.sourceline}")
                declared = element_text(element, where="/MOF/VoucherCount")

    while True:
        chunk = handle.read(chunk_size)
        if not chunk:
            break
        if offset == 0:
            # Refuses UTF-16/32 (with or without a byte-order mark), EBCDIC and undeclared
            # encodings before libxml2 guesses one: the byte scan below is only sound for
            # ASCII-compatible encodings (security review XML-2).
            declared_encoding(chunk)
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
        try:
            parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(name, exc, offset) from exc
        offset += len(chunk)
        yield from drain()
    try:
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(name, exc, offset) from exc
    yield from drain()
    if index == 0:
        raise InvalidInput(f"{name}: no VoucherBody")
    if declared is None:
        raise InvalidInput(f"{name}: no <VoucherCount> element")
    if not voucher_count_matches(declared, index):
        raise InvalidInput(
            f"{name}: VoucherCount declares {declared!r} but the envelope holds {index} VoucherBody"
        )


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

_WORKER: dict[str, Any] = {}


def _worker_init(options: Mapping[str, Any]) -> None:
    _WORKER.clear()
    _WORKER.update(options)


def _verify_chunk(bodies: list[VoucherBody]) -> list[BodyResult]:
    return [verify_body(body, **_WORKER) for body in bodies]


def verify_stream(
    source: str | os.PathLike[str] | IO[bytes] | Iterable[VoucherBody],
    *,
    trust: Any,
    policy: Any = None,
    positions: Mapping[str, Iterable[str]] | None = None,
    at: datetime | None = None,
    workers: int = 1,
    chunk: int = 32,
    parties: Any = None,
) -> Iterator[BodyResult]:
    """Verify every body of an envelope file as it streams in, results in document order.

    ``workers > 1`` spreads chunks of ``chunk`` bodies over a process pool; at most
    ``2 * workers`` chunks are in flight, so memory stays bounded. The options are those of
    :func:`ezhifu.verify.envelope.verify_body` (``parties``: a
    :class:`ezhifu.verify.parties.Parties`).
    """
    options: dict[str, Any] = {
        "trust": trust,
        "policy": policy,
        "positions": positions,
        "at": at,
        "parties": parties,
    }
    bodies: Iterable[VoucherBody]
    if isinstance(source, str | os.PathLike):
        bodies = iter_bodies(source)
    elif hasattr(source, "read"):
        bodies = iter_bodies(cast(IO[bytes], source))
    else:
        bodies = source
    if workers <= 1:
        for body in bodies:
            yield verify_body(body, **options)
        return
    pending: deque[Future[list[BodyResult]]] = deque()
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, initargs=(options,)) as pool:
        batch: list[VoucherBody] = []
        for body in bodies:
            batch.append(body)
            if len(batch) >= chunk:
                pending.append(pool.submit(_verify_chunk, batch))
                batch = []
                while len(pending) >= 2 * workers:
                    yield from pending.popleft().result()
        if batch:
            pending.append(pool.submit(_verify_chunk, batch))
        while pending:
            yield from pending.popleft().result()


def summarize(results: Iterable[BodyResult]) -> BatchSummary:
    """Consume results and count them (timing from the first to the last result)."""
    start = time.perf_counter()
    total = valid = 0
    for result in results:
        total += 1
        valid += result.valid
    return BatchSummary(total=total, valid=valid, elapsed_s=time.perf_counter() - start)


def envelope_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Expand directories into the ``*.xml`` files below them (sorted)."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(path.rglob("*.xml"))
        else:
            yield path
