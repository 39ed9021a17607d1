"""A real PostgreSQL server for the tests (Debian ``postgresql``), started per test session.

initdb in a fresh directory, listening on 127.0.0.1 on a free port, run as the ``postgres``
system user when the tests run as root (PostgreSQL refuses to run as root). Stopped at the
end of the session. Never skipped: a missing server binary fails the tests that need it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an admin DSN of a fresh server; stop and delete it afterwards."""
    base = tempfile.mkdtemp(prefix="ezhifu-pg-")
    data = os.path.join(base, "data")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_server_user(
            [_bin("initdb"), "-D", data, "-A", "trust", "-U", "ezhifu", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    subprocess.run(
        _as_server_user(
            [_bin("pg_ctl"), "-D", data, "-o", options, "-l", os.path.join(base, "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield f"host=127.0.0.1 port={port} user=ezhifu dbname=postgres"
    finally:
        subprocess.run(
            _as_server_user([_bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def new_database(admin_dsn: str) -> str:
    """A new empty database on the server; its DSN."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_dsn.replace("dbname=postgres", f"dbname={name}")


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture
def postgres_dsn(postgres_admin_dsn: str) -> str:
    """A fresh database per test."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return new_database(postgres_admin_dsn)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
