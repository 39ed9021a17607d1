"""Verification as Dask tasks on a ``distributed`` cluster (docs/performance.md).

A province re-verifying its archive (millions of vouchers) spreads the work over many hosts
with an existing engine, Dask ``distributed``, not a home-made scheduler. :class:`ClusterPool`
connects to a scheduler (``ezhifu verify DIR --scheduler tcp://host:8786``) or uses a
``distributed.Client`` it is given, and:

* ships the trust configuration once per worker: the plain :class:`~ezhifu.verify.pool.WorkerConfig`
  (DER bytes and plain data, never asn1crypto objects) is scattered with ``broadcast=True``
  and every task refers to it; each worker process rebuilds its trust store once per
  configuration (:func:`_options`, a bounded cache keyed by the configuration's value, so
  nothing derived from one input can reach another);
* runs one task per envelope file (its bytes travel with the task: workers need no shared
  file system) through :func:`ezhifu.verify.envelope.verify_envelope`, exactly the local
  in-memory path, and chunks of bodies of a large (streamed) envelope through
  :func:`ezhifu.verify.envelope.verify_body`, as the local process pool does;
* streams results back in input order with at most :attr:`ClusterPool.window` tasks in flight.

``distributed`` is the optional extra ``dask`` (``pip install 'ezhifu[dask]'``).
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ezhifu._closing import Closing
from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import ConfigurationError
from ezhifu.pki.policy import VerifyPolicy
from ezhifu.pki.trust import TrustStore
from ezhifu.results import BodyResult, EnvelopeResult
from ezhifu.verify.envelope import verify_body, verify_envelope
from ezhifu.verify.parties import Parties
from ezhifu.verify.pool import MAX_CHUNK, WorkerConfig, plain_body

__all__ = ["MAX_WINDOW", "ClusterPool"]

#: Upper bound on tasks in flight of one run (each holds an envelope of at most 64 MiB).
MAX_WINDOW = 4096


@functools.lru_cache(maxsize=4)
def _options(config: WorkerConfig) -> dict[str, Any]:
    """The worker's verify options for this configuration, built once per worker process."""
    return config.options()


def _envelope_task(config: WorkerConfig, data: bytes) -> EnvelopeResult:
    return verify_envelope(data, **_options(config))


def _chunk_task(config: WorkerConfig, bodies: list[VoucherBody]) -> list[BodyResult]:
    options = _options(config)
    return [verify_body(body, **options) for body in bodies]


class ClusterPool(Closing):
    """Verification tasks on a Dask ``distributed`` cluster; use as a context manager.

    ``scheduler`` is an address (``tcp://host:8786``) or a ``distributed.Client``; a client
    made here is closed on exit. ``window`` bounds the tasks in flight (default: twice the
    cluster's worker threads, at least 4); ``connect_timeout`` in seconds.
    """

    def __init__(
        self,
        scheduler: str | Any,
        *,
        trust: TrustStore,
        policy: VerifyPolicy | None = None,
        positions: Mapping[str, Iterable[str]] | None = None,
        at: datetime | None = None,
        window: int | None = None,
        connect_timeout: float = 30.0,
        parties: Parties | None = None,
    ) -> None:
        try:
            # reason: distributed is an optional, heavy dependency (the extra "dask")
            import distributed
        except ImportError as exc:
            raise ConfigurationError(
                "Dask 未安装 / Dask distributed is not installed: pip install 'ezhifu[dask]'"
            ) from exc

        config = WorkerConfig.of(trust=trust, policy=policy, positions=positions, at=at, parties=parties)
        self.config = config
        self._owned = isinstance(scheduler, str)
        try:
            client: Any = scheduler
            if self._owned:
                client = distributed.Client(scheduler, timeout=connect_timeout)  # type: ignore[no-untyped-call]
            self.client: Any = client
        except (OSError, TimeoutError) as exc:
            raise ConfigurationError(
                f"无法连接 Dask 调度器 / cannot reach the Dask scheduler {scheduler!r}: {exc}"
            ) from exc
        if window is None:
            threads = sum(self.client.nthreads().values())
            window = max(4, 2 * threads)
        if not isinstance(window, int) or not 1 <= window <= MAX_WINDOW:
            raise ConfigurationError(f"ClusterPool: window must be 1..{MAX_WINDOW}, not {window!r}")
        self.window = window
        self._config = self.client.scatter(config, broadcast=True, hash=False)

    def close(self) -> None:
        """Release the shipped configuration; close the client if it was made here."""
        self._config.release()
        if self._owned:
            self.client.close()

    def _ordered(self, calls: Iterable[tuple[Any, Any]]) -> Iterator[Any]:
        pending: deque[Any] = deque()
        try:
            for function, argument in calls:
                pending.append(self.client.submit(function, self._config, argument, pure=False))
                while len(pending) >= self.window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # an abandoned iterator: cancel the rest
                future.cancel()

    def verify_envelopes(self, envelopes: Iterable[bytes]) -> Iterator[EnvelopeResult]:
        """One task per envelope (its bytes), results in input order."""
        return self._ordered((_envelope_task, data) for data in envelopes)

    def verify_bodies(self, bodies: Iterable[VoucherBody], *, chunk: int = 32) -> Iterator[BodyResult]:
        """Chunks of ``chunk`` bodies as tasks (the same interface as
        :meth:`ezhifu.verify.pool.VerifyPool.verify_bodies`), results in input order."""
        if not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK:
            raise ConfigurationError(f"ClusterPool: chunk must be 1..{MAX_CHUNK}, not {chunk!r}")
        for results in self._ordered((_chunk_task, batch) for batch in _batches(bodies, chunk)):
            yield from results


def _batches(bodies: Iterable[VoucherBody], size: int) -> Iterator[list[VoucherBody]]:
    batch: list[VoucherBody] = []
    for body in bodies:
        batch.append(plain_body(body))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
