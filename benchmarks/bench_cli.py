"""Start-up of the command line (issue 15 item 6, issue 17 item 2).

Times ``ezhifu --version``, ``ezhifu --help``, ``ezhifu verify --help`` (also under ``--lang zh``:
the gettext catalogue for the help and click's words), ``ezhifu verify`` of one
small signed envelope and of a directory of 200 with ``-j1`` and ``-j2`` (one process pool for
the run, ezhifu.verify.pool) as whole processes, and the reference in the same run:
``python -c pass`` (the interpreter's own start-up, which no CLI can beat) and
``python -c "import click"``. Prints the median of N runs and the ratio to the interpreter
start-up.

Before timing, the package's bytecode is compiled (``compileall``), as an installed wheel has
it; the children run with ``PYTHONDONTWRITEBYTECODE`` removed, so a development tree where
that variable is set does not pay the compilation of every module on every start. Then
``python -X importtime -m ezhifu verify`` of the one envelope prints the sum of the top-level
import times and the heaviest packages (issue 17 item 2: what the start-up consists of).

    python benchmarks/bench_cli.py [--runs 15] [--files 200]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ezhifu
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import make_pki

EZHIFU = str(Path(sys.executable).with_name("ezhifu"))
#: The children's environment: bytecode read from (and written to) __pycache__.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _median(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # exit status 1 is "something did not verify" (the 200-file case has none; kept general)
        done = subprocess.run(cmd, capture_output=True, env=ENV)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed: {done.stderr.decode(errors='replace')}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _imports(cmd: list[str]) -> None:
    """Top-level import time of one run (``-X importtime``) and the heaviest packages."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ezhifu", *cmd[1:]], capture_output=True, env=ENV
    ).stderr.decode(errors="replace")
    rows = [line.split("|") for line in err.splitlines() if line.startswith("import time:")]
    top = [(int(r[1]), r[2].rstrip()) for r in rows[1:] if len(r) == 3 and not r[2].startswith("  ")]
    total = sum(t for t, _ in top) / 1e6
    heavy = ", ".join(f"{name.strip()} {t / 1e3:.0f} ms" for t, name in sorted(top, reverse=True)[:5])
    print(f"imports of 'ezhifu verify' (one envelope): {total:.3f} s top-level; heaviest: {heavy}")


def _envelopes(folder: Path, files: int) -> tuple[Path, Path, Path]:
    """``files`` signed one-voucher envelopes under folder/many, one more in folder/one.xml."""
    pki = make_pki("sm2")
    many = folder / "many"
    many.mkdir()
    for i in range(files + 1):
        envelope = Envelope.build([sample_voucher("5201", seed=i)])
        sign_envelope(envelope, pki.signer(), "cz_dwfz")
        (many / f"e{i:04d}.xml" if i else folder / "one.xml").write_bytes(envelope.to_bytes())
    return folder / "one.xml", many, pki.write_pem(folder)["root.pem"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    compileall.compile_dir(Path(ezhifu.__file__).parent, quiet=1)
    tmp = tempfile.TemporaryDirectory()
    one, many, root = _envelopes(Path(tmp.name), args.files)
    verify = [EZHIFU, "verify", "--trust", str(root)]
    cases = {
        "python -c pass (reference)": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "ezhifu --version": [EZHIFU, "--version"],
        "ezhifu --help": [EZHIFU, "--help"],
        "ezhifu verify --help": [EZHIFU, "verify", "--help"],
        "ezhifu --lang zh --help": [EZHIFU, "--lang", "zh", "--help"],
        "ezhifu --lang zh verify --help": [EZHIFU, "--lang", "zh", "verify", "--help"],
        "ezhifu verify one envelope": [*verify, str(one)],
        f"ezhifu verify {args.files} files -j1": [*verify, str(many), "-j", "1"],
        f"ezhifu verify {args.files} files -j2": [*verify, str(many), "-j", "2"],
    }
    # Interleave the cases so that load on this shared machine hits them alike.
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            results[name].append(_median(cmd, 1))
    ref = statistics.median(results["python -c pass (reference)"])
    print(f"{'command':32} {'median s':>9} {'x python start-up':>18}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:32} {med:9.3f} {med / ref:18.2f}")
    _imports(cases["ezhifu verify one envelope"])
    tmp.cleanup()


if __name__ == "__main__":
    main()
