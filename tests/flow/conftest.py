"""Fixtures of the flow tests (the network itself is built in flow_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flow_support import Material, Network, build_network, make_material


@pytest.fixture(scope="session")
def pki_material() -> Material:
    """One SM2 test PKI and one v4 seal per party for the whole session (keys are not reused
    outside the test run)."""
    return make_material()


@pytest.fixture
def net(pki_material: Material, tmp_path: Path) -> Iterator[Network]:
    """Three libraries with SQLite stores in ``tmp_path`` over an in-memory transport."""
    network = build_network(pki_material, tmp_path)
    yield network
    for lib in network.libs.values():
        lib.store.close()
