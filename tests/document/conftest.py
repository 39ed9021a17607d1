"""Fixtures of the document-layer tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_support import INVALID, REPO


@pytest.fixture(scope="session")
def invalid_dir() -> Path:
    return INVALID


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
