"""One context-manager protocol for the objects that hold a resource until ``close()``.

Keystores, audit logs, voucher stores and the archive registry each hold files, sessions or
database connections; ``with obj:`` closes them on the way out, exceptions or not. The
subclass defines ``close()`` (idempotent) and may refuse ``__enter__`` when already closed
(architecture, layer 0).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing:
    """``with obj: ...`` calls ``obj.close()`` at the end; ``__enter__`` returns ``obj``."""

    __slots__ = ()

    def close(self) -> None:
        """Release what the object holds (the subclass's own; idempotent)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
