"""Fixtures of the service tests: a three-party setup of real ``ezhifu serve`` processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import Services


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """finance and pbc started (bank written but not started); all stopped afterwards."""
    setup = Services(tmp_path)
    try:
        setup["finance"].start()
        setup["pbc"].start()
        yield setup
    finally:
        setup.close()
