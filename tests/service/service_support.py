"""Real ``ezhifu serve`` processes on 127.0.0.1 for the service tests (no mocks)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ezhifu.cli.demo import seal_picture_png
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.testing.service_setup import write_service_setup

ADM, YEAR = "420000", 2024
FINANCE_STAMP = '<Root><Stamp No="cz_qm"></Stamp><Stamp No="cz_gz">finance-seal-00</Stamp></Root>'


def free_base_port(count: int = 3) -> int:
    """A base port with ``count`` consecutive free ports after it."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + count > 65000:
            continue
        ok = True
        for offset in range(count):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", base + offset))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


@dataclass
class ServiceProcess:
    party: str
    config: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    extra: tuple[str, ...] = ()
    #: for a TLS service: the context the readiness probe connects with
    tls: ssl.SSLContext | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.config.with_name(f"{self.config.stem}-{self.port}.log")

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ezhifu", "serve", str(self.config), *self.extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.config.parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.party} exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2, context=self.tls) as response:
                    if response.status == 200 and b'"ready"' in response.read():
                        return
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.party} did not become ready: {self.log.read_text(errors='replace')[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class Services:
    def __init__(self, directory: Path, postgres_dsn: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.base = free_base_port()
        self.paths = write_service_setup(
            directory, picture=seal_picture_png(), base_port=self.base, postgres_dsn=postgres_dsn
        )
        offsets = {"finance": 0, "pbc": 1, "bank": 2}
        self.procs = {p: ServiceProcess(p, path, self.base + offsets[p]) for p, path in self.paths.items()}

    def __getitem__(self, party: str) -> ServiceProcess:
        return self.procs[party]

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stop()


def start_services(
    directory: Path, parties: tuple[str, ...] = ("finance", "pbc"), attempts: int = 3
) -> Services:
    """A setup with ``parties`` started; on a port taken meanwhile by another process, the
    whole setup is made again on other ports (the machine is shared)."""
    for attempt in range(attempts):
        setup = Services(directory / f"setup-{attempt}")
        try:
            for party in parties:
                setup[party].start()
            return setup
        except RuntimeError:
            setup.close()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def voucher_envelope(seed: int, vt: str = "5201") -> tuple[str, bytes]:
    """A fresh unsigned 5201 envelope (GBK) and its voucher number."""
    voucher = sample_voucher(vt, details=1, seed=seed, StYear=str(YEAR), AdmDivCode=ADM)
    return voucher.voucher_no, Envelope.build([voucher]).to_bytes()


def wait_for(predicate: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
