"""Fixtures of the service tests: a three-party setup of real ``ezhifu serve`` processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import Services, start_services


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """finance and pbc started (bank written but not started) in ``services.directory``;
    all stopped afterwards."""
    setup = start_services(tmp_path)
    try:
        yield setup
    finally:
        setup.close()
