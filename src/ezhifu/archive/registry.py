"""The booking registry: one SQLite file refusing a second package for the same voucher.

财会〔2020〕6号 condition 3 and DA/T 95—2022 §8.2.2 a) ask the accounting system to prevent a
voucher from being booked twice. :class:`Registry` records every voucher of every package
created with it, keyed two ways, each ``UNIQUE`` in the database so that even two processes
racing cannot book the same voucher twice:

* the voucher identity ``(AdmDivCode, StYear, VtCode, VoucherNo, Id)`` (spec.md §2.1, §4.1);
* the SHA-256 of the voucher's signed Base64 text (spec.md §5.3): the same signed voucher under
  another envelope label is still the same voucher.

:meth:`Registry.book` books all vouchers of a package in one transaction, or none and raises
:class:`~ezhifu.errors.DuplicateBooking` naming the first voucher already booked and its package.
The file is created with mode 0600 (it lists account holders' vouchers).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ezhifu._closing import Closing
from ezhifu._fileio import create_private
from ezhifu.errors import ArchiveRegistryError, DuplicateBooking

__all__ = ["Booking", "Registry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS booking (
    adm_div_code TEXT NOT NULL,
    st_year TEXT NOT NULL,
    vt_code TEXT NOT NULL,
    voucher_no TEXT NOT NULL,
    voucher_id TEXT NOT NULL,
    content_sha256 TEXT NOT NULL UNIQUE,
    package_id TEXT NOT NULL,
    booked_at TEXT NOT NULL,
    UNIQUE (adm_div_code, st_year, vt_code, voucher_no, voucher_id)
)
"""
#: Longest wait for another writer's lock (seconds) before the registry reports it busy.
_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Booking:
    """One voucher booked in one package."""

    adm_div_code: str
    st_year: str
    vt_code: str
    voucher_no: str
    voucher_id: str
    content_sha256: str
    package_id: str
    booked_at: str

    def label(self) -> str:
        return f"{self.adm_div_code}/{self.st_year}/{self.vt_code}/{self.voucher_no} (Id {self.voucher_id})"


class Registry(Closing):
    """The SQLite booking registry at ``path`` (created on first use); ``timeout`` is the longest
    wait in seconds for another process's booking to finish before :class:`ArchiveRegistryError`."""

    def __init__(self, path: str | Path, *, timeout: float = _TIMEOUT) -> None:
        self.path = Path(path)
        try:
            create_private(self.path)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ArchiveRegistryError(
                f"{self.path}: 登记簿无法打开 / registry cannot be opened: {exc}"
            ) from exc

    def close(self) -> None:
        self._db.close()

    def find(self, booking: Booking) -> Booking | None:
        """The booking that already holds ``booking``'s voucher identity or content, if any."""
        row = self._db.execute(
            "SELECT * FROM booking WHERE content_sha256 = ? OR (adm_div_code = ? AND st_year = ? "
            "AND vt_code = ? AND voucher_no = ? AND voucher_id = ?)",
            (
                booking.content_sha256,
                booking.adm_div_code,
                booking.st_year,
                booking.vt_code,
                booking.voucher_no,
                booking.voucher_id,
            ),
        ).fetchone()
        return Booking(*row) if row else None

    @contextmanager
    def booking(self, bookings: Sequence[Booking]) -> Iterator[None]:
        """Book ``bookings`` for the duration of the block: committed when it ends normally,
        rolled back when it raises (so a package that could not be written is not booked)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise ArchiveRegistryError(f"{self.path}: 登记簿忙 / registry is locked: {exc}") from exc
        try:
            for item in bookings:
                existing = self.find(item)
                if existing is not None:
                    raise DuplicateBooking(
                        f"凭证已归档入账 / voucher {item.label()} is already booked in package "
                        f"{existing.package_id} ({existing.booked_at}); a second booking is refused"
                    )
                try:
                    self._db.execute("INSERT INTO booking VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _row(item))
                except sqlite3.IntegrityError as exc:  # the same voucher twice in one package
                    raise DuplicateBooking(
                        f"凭证重复 / voucher {item.label()} appears twice in package {item.package_id}"
                    ) from exc
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ArchiveRegistryError(f"{self.path}: 登记失败 / booking cannot be committed: {exc}") from exc

    def book(self, bookings: Sequence[Booking]) -> None:
        """Book ``bookings`` now (all or none)."""
        with self.booking(bookings):
            pass

    def all(self) -> list[Booking]:
        return [
            Booking(*row) for row in self._db.execute("SELECT * FROM booking ORDER BY booked_at, voucher_no")
        ]


def _row(item: Booking) -> tuple[str, ...]:
    return (
        item.adm_div_code,
        item.st_year,
        item.vt_code,
        item.voucher_no,
        item.voucher_id,
        item.content_sha256,
        item.package_id,
        item.booked_at,
    )
