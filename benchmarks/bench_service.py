"""Round trips per second of ``ezhifu serve`` on 127.0.0.1 (issue 16, Must show).

For the SQLite and the PostgreSQL store: a People's Bank service holding vouchers sent to it
by a finance service (signed, sealed, verified on arrival); then ``readVoucherAgain`` (one
voucher per call, repeated for ``--seconds``) and ``confirmVoucher`` (one voucher per call,
each once) with 1, 4 and 16 concurrent SOAP clients (:class:`VoucherServiceClient`, one HTTP
connection per call). References measured in the same run: the same two operations called
in-process (``ezhifu.service.operations.dispatch`` on a Runtime over the same store kind), and
a plain Starlette echo served by uvicorn, called by the same clients.

    python benchmarks/bench_service.py [--seconds 2] [--confirms 32] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from ezhifu.cli.demo import seal_picture_png
from ezhifu.client.soap_client import VoucherServiceClient
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.service.config import load_service_config
from ezhifu.service.operations import dispatch
from ezhifu.service.runtime import Runtime
from ezhifu.testing.service_setup import write_service_setup

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pg_support import new_database, postgres_server

ADM, YEAR = "420000", 2024
STAMP = '<Root><Stamp No="cz_qm"></Stamp><Stamp No="cz_gz">finance-seal-00</Stamp></Root>'
LEVELS = (1, 4, 16)
ECHO = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
async def echo(request):
    return Response(await request.body(), media_type="text/xml")
uvicorn.run(Starlette(routes=[Route("/echo", echo, methods=["POST"])]), host="127.0.0.1",
            port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _free_base() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base < 64000:
            return base


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({url})")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).close()
            return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


@contextlib.contextmanager
def _process(argv: list[str], ready: str) -> Iterator[None]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(ready, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _rate(calls: Callable[[int], None], clients: int, *, seconds: float | None, total: int | None) -> float:
    """Calls per second of ``clients`` threads, for ``seconds`` or ``total`` calls in all."""
    counter = iter(range(10**9))
    lock = threading.Lock()
    done = [0]
    stop = time.perf_counter() + (seconds or 1e9)

    def worker() -> None:
        while time.perf_counter() < stop:
            with lock:
                i = next(counter)
            if total is not None and i >= total:
                return
            calls(i)
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - start)


def _fill(fin_url: str, count: int, seed: int) -> list[str]:
    fin = VoucherServiceClient(fin_url)
    nos = []
    for i in range(count):
        v = sample_voucher("5201", details=1, seed=seed + i, StYear=str(YEAR), AdmDivCode=ADM)
        fin.sign_stamp_by_nos_and_send(
            "001", ADM, YEAR, "5201", Envelope.build([v]).to_bytes(), STAMP, "011", "001"
        )
        nos.append(v.voucher_no)
    return nos


def _wait_received(pbc: VoucherServiceClient, fin_url: str, nos: list[str]) -> None:
    fin = VoucherServiceClient(fin_url)
    for _ in range(1200):
        if all(c == 1 for c, _ in fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", nos).values()):
            return
        time.sleep(0.1)
    raise SystemExit("vouchers were not delivered")


def bench_store(kind: str, args: argparse.Namespace, dsn: str | None) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="ezhifu-bench-") as tmp:
        base = _free_base()
        paths = write_service_setup(
            tmp, picture=seal_picture_png(), base_port=base, postgres_dsn={"pbc": dsn} if dsn else None
        )
        fin_url, pbc_url = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}"
        serve = [sys.executable, "-m", "ezhifu", "serve"]
        per_level = args.confirms
        need = per_level * (len(LEVELS) + 1)
        with (
            _process([*serve, str(paths["finance"])], fin_url + "/healthz"),
            _process([*serve, str(paths["pbc"])], pbc_url + "/healthz"),
        ):
            pbc = VoucherServiceClient(pbc_url)
            nos = _fill(fin_url, need, seed=base)
            _wait_received(pbc, fin_url, nos)
            for level, clients in enumerate(LEVELS):
                mine = nos[level * per_level : (level + 1) * per_level]
                read = _rate(
                    lambda i: pbc.call("readVoucherAgain", "001", ADM, YEAR, "5201", 1),
                    clients,
                    seconds=args.seconds,
                    total=None,
                )
                confirm = _rate(
                    lambda i, m=mine: pbc.call("confirmVoucher", "001", ADM, YEAR, "5201", [m[i]]),
                    clients,
                    seconds=None,
                    total=len(mine),
                )
                rows += [
                    (f"{kind} readVoucherAgain  HTTP x{clients}", read),
                    (f"{kind} confirmVoucher   HTTP x{clients}", confirm),
                ]
        # in-process: the same operations through dispatch, over the same store (pbc stopped)
        rt = Runtime(load_service_config(paths["pbc"]))
        try:
            mine = nos[len(LEVELS) * per_level :]
            read = _rate(
                lambda i: dispatch(rt, "readVoucherAgain", ["001", ADM, YEAR, "5201", 1]),
                1,
                seconds=args.seconds,
                total=None,
            )
            confirm = _rate(
                lambda i: dispatch(rt, "confirmVoucher", ["001", ADM, YEAR, "5201", [mine[i]]]),
                1,
                seconds=None,
                total=len(mine),
            )
        finally:
            rt.close()
        rows += [
            (f"{kind} readVoucherAgain  in-process (reference)", read),
            (f"{kind} confirmVoucher   in-process (reference)", confirm),
        ]
    return rows


def bench_echo(args: argparse.Namespace) -> list[tuple[str, float]]:
    port = _free_base()
    url = f"http://127.0.0.1:{port}/echo"
    body = b"<x/>" * 100

    def call(i: int) -> None:
        request = urllib.request.Request(url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    rows = []
    proc_argv = [sys.executable, "-c", ECHO, str(port)]
    proc = subprocess.Popen(proc_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                call(0)
                break
            except OSError:
                time.sleep(0.1)
        for clients in LEVELS:
            rows.append(
                (
                    f"plain Starlette echo     HTTP x{clients} (reference)",
                    _rate(call, clients, seconds=args.seconds, total=None),
                )
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each readVoucherAgain run")
    parser.add_argument("--confirms", type=int, default=32, help="confirmVoucher calls per concurrency level")
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = bench_echo(args)
    echo = {int(name.split("x")[1].split()[0]): rate for name, rate in rows}
    for kind in args.stores.split(","):
        if kind == "postgresql":
            if shutil.which("runuser") is None:
                raise SystemExit("runuser missing")
            with postgres_server() as admin:
                rows += bench_store(kind, args, new_database(admin))
        else:
            rows += bench_store(kind, args, None)
    inproc = {name.split()[0] + name.split()[1]: rate for name, rate in rows if "in-process" in name}
    print(f"{'case':<52} {'calls/s':>9}  ratio")
    for name, rate in rows:
        parts = name.split()
        if "HTTP" in name and "echo" not in name:
            ref = inproc[parts[0] + parts[1]]
            ratio = f"{rate / ref:5.2f} of in-process, {rate / echo[int(parts[3][1:])]:5.2f} of echo"
        else:
            ratio = "reference"
        print(f"{name:<52} {rate:9.1f}  {ratio}")


if __name__ == "__main__":
    main()
