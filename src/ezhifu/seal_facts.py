"""What the result of a ``<SignStamp>`` carries beside its steps: the seal's facts and picture.

:class:`SealFacts` (with its :class:`SealImage`) rides on a seal's
:class:`~ezhifu.results.ItemResult` (``seal_facts``, docs/verification.md). The two live here, not
in :mod:`ezhifu.results`, so that a run without seals (a verify of signed envelopes, the command
line's commonest case) does not create their classes (docs/performance.md "The command line");
``ezhifu.results`` exports them as before, loaded on first use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ezhifu.results import JSON_NAME, JsonFields, SignerInfo

__all__ = ["SealFacts", "SealImage"]


@dataclass(frozen=True, slots=True)
class SealImage:
    """A seal picture ready to save or embed: canonical ``type``, ``mime``, ``extension``, bytes."""

    type: str
    mime: str
    extension: str
    data: bytes
    width_mm: int
    height_mm: int

    def to_dict(self) -> dict[str, Any]:
        """The picture described (type, size, SHA-256), never embedded."""
        return {
            "type": self.type,
            "mime": self.mime,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "width_mm": self.width_mm,
            "height_mm": self.height_mm,
        }


@dataclass(frozen=True, slots=True)
class SealFacts(JsonFields):
    """What a display shows of a seal: identity, standard, validity window, maker, picture.

    ``picture`` is the picture identified by its bytes (``picture_error`` says why not)."""

    seal_id: str
    name: str
    standard: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    maker: SignerInfo | None = None
    picture: SealImage | None = field(default=None, repr=False)
    picture_error: str | None = None
    #: The picture bytes as carried, also when their type is unknown (``picture`` is then ``None``).
    picture_data: bytes = field(default=b"", repr=False, metadata={JSON_NAME: None})
