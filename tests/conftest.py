"""Suite-wide fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
CONFORMANCE = TESTS / "conformance"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """Folder of third-party fixtures (see tests/conformance/README.md)."""
    return CONFORMANCE


# A real PostgreSQL server (tests/pg_support.py) for the stores and services that use one.
from pg_support import postgres_admin_dsn, postgres_dsn  # noqa: E402, F401
