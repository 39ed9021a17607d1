"""One process pool per run, under every multiprocessing start method (docs/performance.md).

SM2 verification is CPU bound and holds the GIL, so batches are verified in worker processes.
Under the ``spawn`` and ``forkserver`` start methods (the default on macOS, Windows and, from
Python 3.14, Linux) everything a worker receives is pickled and unpickled in a fresh
interpreter, where asn1crypto 1.5.1 objects fail with ``TypeError``. So a worker receives
only bytes and plain data:

* :class:`WorkerConfig`: the trust store as DER bytes (roots, intermediates, pinned), the
  :class:`~ezhifu.pki.policy.VerifyPolicy` (frozen plain data, CRLs as DER bytes), the
  position table as ``{VtCode: (position, ...)}``, the validation time and the parties file
  as its bytes and those of its certificate files (:class:`~ezhifu.verify.parties.PartiesSource`).
  It is sent once
  per worker (the pool's initializer), and each worker rebuilds its
  :class:`~ezhifu.pki.trust.TrustStore` with the one certificate loader
  (:func:`ezhifu.pki.certs.shared_certificate`).
* chunks of :class:`~ezhifu.document.envelope.VoucherBody` (strings only; the parsed-model
  cache is dropped before sending), and back :class:`~ezhifu.results.BodyResult` (plain data).

:class:`VerifyPool` is opened once for a whole run (``ezhifu verify DIR --jobs N`` verifies every
file through the same pool) and keeps at most ``2 * workers`` chunks in flight, results in input
order. Nothing is cached across inputs in the workers beyond the trust configuration, which is
the same for every input of the run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ezhifu._closing import Closing
from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import ConfigurationError
from ezhifu.pki.certs import shared_certificate
from ezhifu.pki.policy import VerifyPolicy
from ezhifu.pki.trust import TrustStore
from ezhifu.results import BodyResult
from ezhifu.verify.envelope import verify_body
from ezhifu.verify.parties import Parties, PartiesSource
from ezhifu.verify.steps import DiagnosisBudget

__all__ = [
    "MAX_CHUNK",
    "MAX_WORKERS",
    "START_METHODS",
    "BodyPool",
    "VerifyPool",
    "WorkerConfig",
    "plain_body",
]

#: Upper bound on worker processes of one pool (a typo like ``--jobs 10000`` is refused).
MAX_WORKERS = 256
#: Upper bound on the bodies of one chunk sent to a worker.
MAX_CHUNK = 4096
#: The start methods a pool accepts (``None``: the interpreter's default).
START_METHODS = frozenset({"fork", "spawn", "forkserver"})


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What every worker needs, as bytes and plain data only (picklable under any start method)."""

    roots: tuple[bytes, ...] = ()
    intermediates: tuple[bytes, ...] = ()
    pinned: tuple[bytes, ...] = ()
    seal_makers: tuple[bytes, ...] = ()
    tsas: tuple[bytes, ...] = ()
    policy: VerifyPolicy | None = None
    positions: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    at: datetime | None = None
    parties: PartiesSource | None = None

    @classmethod
    def of(
        cls,
        *,
        trust: TrustStore,
        policy: VerifyPolicy | None = None,
        positions: Mapping[str, Iterable[str]] | None = None,
        at: datetime | None = None,
        parties: Parties | None = None,
    ) -> WorkerConfig:
        """The plain form of the options of :func:`ezhifu.verify.envelope.verify_body`
        (``parties`` must come from :meth:`~ezhifu.verify.parties.Parties.load`, which keeps
        the bytes it was read from)."""
        if not isinstance(trust, TrustStore):
            raise ConfigurationError(f"VerifyPool: trust must be a TrustStore, not {type(trust).__name__}")
        source = None
        if parties is not None:
            if not isinstance(parties, Parties) or parties.source is None:
                raise ConfigurationError(
                    "VerifyPool: 参与方须由文件读取 / parties must be read with Parties.load "
                    "(workers receive the file's bytes)"
                )
            source = parties.source
        table = None
        if positions is not None:
            table = tuple(sorted((str(vt), tuple(sorted(names))) for vt, names in positions.items()))
        return cls(
            roots=tuple(c.dump() for c in trust.roots),
            intermediates=tuple(c.dump() for c in trust.intermediates),
            pinned=tuple(c.dump() for c in trust.pinned),
            seal_makers=tuple(c.dump() for c in trust.seal_makers),
            tsas=tuple(c.dump() for c in trust.tsas),
            policy=policy,
            positions=table,
            at=at,
            parties=source,
        )

    def options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~ezhifu.verify.envelope.verify_body`, rebuilt."""
        trust = TrustStore(
            [shared_certificate(d) for d in self.roots],
            [shared_certificate(d) for d in self.intermediates],
            [shared_certificate(d) for d in self.pinned],
            seal_makers=[shared_certificate(d) for d in self.seal_makers],
            tsas=[shared_certificate(d) for d in self.tsas],
        )
        positions = None if self.positions is None else {vt: frozenset(p) for vt, p in self.positions}
        parties = None if self.parties is None else self.parties.parse()
        return {
            "trust": trust,
            "policy": self.policy,
            "positions": positions,
            "at": self.at,
            "parties": parties,
        }


class BodyPool(Protocol):
    """What :func:`ezhifu.verify.stream.verify_stream` needs of a pool: :class:`VerifyPool`
    (local processes) or :class:`ezhifu.verify.cluster.ClusterPool` (Dask); ``config`` is what
    its workers verify with."""

    config: WorkerConfig

    def verify_bodies(self, bodies: Iterable[VoucherBody], *, chunk: int = 32) -> Iterator[BodyResult]: ...


_WORKER: dict[str, Any] = {}


def _worker_init(config: WorkerConfig) -> None:
    _WORKER.clear()
    _WORKER.update(config.options())
    # One diagnosis budget per worker for the whole run: the extra work of an envelope of
    # failing bodies is at most workers x MAX_DIAGNOSIS_VERIFICATIONS (issue 14 item 2).
    _WORKER["budget"] = DiagnosisBudget()


def _verify_chunk(bodies: list[VoucherBody]) -> list[BodyResult]:
    return [verify_body(body, **_WORKER) for body in bodies]


def plain_body(body: VoucherBody) -> VoucherBody:
    """A copy without the parsed-model cache (``init=False``), so only strings travel."""
    return dataclasses.replace(body)


class VerifyPool(Closing):
    """A process pool verifying chunks of bodies, opened once per run; use as a context manager.

    ``start_method`` is one of :data:`START_METHODS` or ``None`` for the interpreter's default.
    """

    def __init__(
        self,
        workers: int,
        *,
        trust: TrustStore,
        policy: VerifyPolicy | None = None,
        positions: Mapping[str, Iterable[str]] | None = None,
        at: datetime | None = None,
        start_method: str | None = None,
        parties: Parties | None = None,
    ) -> None:
        if not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
            raise ConfigurationError(f"VerifyPool: workers must be 1..{MAX_WORKERS}, not {workers!r}")
        if start_method is not None and start_method not in START_METHODS:
            raise ConfigurationError(
                f"VerifyPool: start method {start_method!r} is not one of {', '.join(sorted(START_METHODS))}"
            )
        self.workers = workers
        self.config = WorkerConfig.of(trust=trust, policy=policy, positions=positions, at=at, parties=parties)
        context = multiprocessing.get_context(start_method)
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(self.config,)
        )

    def close(self) -> None:
        """Stop the workers (pending chunks are cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def verify_bodies(self, bodies: Iterable[VoucherBody], *, chunk: int = 32) -> Iterator[BodyResult]:
        """Verify ``bodies`` in chunks of ``chunk`` over the pool; results in input order,
        at most ``2 * workers`` chunks in flight so memory stays bounded."""
        if not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK:
            raise ConfigurationError(f"VerifyPool: chunk must be 1..{MAX_CHUNK}, not {chunk!r}")
        pending: deque[Future[list[BodyResult]]] = deque()
        try:
            batch: list[VoucherBody] = []
            for body in bodies:
                batch.append(plain_body(body))
                if len(batch) >= chunk:
                    pending.append(self._executor.submit(_verify_chunk, batch))
                    batch = []
                    while len(pending) >= 2 * self.workers:
                        yield from pending.popleft().result()
            if batch:
                pending.append(self._executor.submit(_verify_chunk, batch))
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:  # a reading error or an abandoned iterator: drop the rest
                future.cancel()
