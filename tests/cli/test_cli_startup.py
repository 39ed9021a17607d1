"""Start-up of the command line stays cheap (issue 17 point 2, docs/performance.md "The command line").

Each case runs the console script's entry point (:func:`ezhifu.cli.main.main`, what the
``ezhifu`` script and ``python -m ezhifu`` call) in a fresh interpreter and reads ``sys.modules``
after it: ``--version`` loads no click at all, ``--help`` only click, the catalogue and the
command table, and verifying a signed envelope none of the libraries only other paths need.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu import __version__
from ezhifu.cli.main import cli

#: Run main() on argv and print the modules then loaded, as JSON, on the last line of stdout.
_PROBE = (
    "import json, sys\n"
    "sys.argv = ['ezhifu', *json.loads(sys.argv[1])]\n"
    "from ezhifu.cli.main import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    assert exc.code in (0, None), exc.code\n"
    "print()\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)

#: The ezhifu modules ``ezhifu --version`` may load: the packages, the entry point, the version.
_VERSION_EZHIFU = {"ezhifu", "ezhifu._lazy", "ezhifu._version", "ezhifu.cli", "ezhifu.cli.main"}
#: ... and ``ezhifu --help``: also the group (with the command table) and the catalogue.
_HELP_EZHIFU = _VERSION_EZHIFU | {"ezhifu.cli.group", "ezhifu.cli.i18n"}


def _loaded(*argv: str) -> tuple[str, set[str]]:
    """(what main() printed, the modules it left loaded) for ``ezhifu argv``."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out, _, modules = proc.stdout.rpartition("\n\n")
    return out, set(json.loads(modules))


def _top(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_version_is_answered_before_click_loads() -> None:
    out, modules = _loaded("--version")
    assert out == f"ezhifu, version {__version__}"
    assert "click" not in _top(modules)
    assert {m for m in modules if m.startswith("ezhifu")} <= _VERSION_EZHIFU


def test_version_line_is_clicks() -> None:
    """The early answer is the line click's own ``--version`` prints (in either language)."""
    out, _ = _loaded("--version")
    for argv in (["--version"], ["--lang", "zh", "--version"], ["--lang", "en", "--version"]):
        result = CliRunner().invoke(cli, argv, prog_name="ezhifu")
        assert result.exit_code == 0, result.output
        assert result.output == out + "\n", argv


@pytest.mark.parametrize("argv", [("--help",), ("--lang", "zh", "--help"), ("--lang", "zh", "--version")])
def test_help_loads_click_and_the_catalogue_only(argv: tuple[str, ...]) -> None:
    out, modules = _loaded(*argv)
    assert out
    assert {m for m in modules if m.startswith("ezhifu")} <= _HELP_EZHIFU
    assert not _top(modules) & {"lxml", "asn1crypto", "cryptography", "xmlschema", "elementpath"}


def _signed_envelope(folder: Path) -> tuple[Path, Path]:
    """(one signed 5201 envelope without seals, the trust root) written under folder."""
    from ezhifu.document.envelope import Envelope
    from ezhifu.document.samples import sample_voucher
    from ezhifu.sign.voucher import sign_envelope
    from ezhifu.testing.pki import make_pki

    pki = make_pki("sm2")
    envelope = Envelope.build([sample_voucher("5201", seed=1)])
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    (folder / "one.xml").write_bytes(envelope.to_bytes())
    return folder / "one.xml", pki.write_pem(folder)["root.pem"]


def test_verify_loads_no_schema_network_or_pool_library(tmp_path: Path) -> None:
    """Verifying a signed envelope loads neither xmlschema (refused documents only), urllib
    (a TSA or OCSP responder), multiprocessing (``--jobs``), nor any other verb's module."""
    one, root = _signed_envelope(tmp_path)
    out, modules = _loaded("verify", "--trust", str(root), str(one))
    assert ": OK" in out
    assert not _top(modules) & {"xmlschema", "elementpath", "multiprocessing"}
    assert not {"urllib.request", "http.client", "ctypes.util", "xml.sax.saxutils"} & modules
    assert {m for m in modules if m.endswith("_cmd")} == {"ezhifu.cli.verify_cmd"}


def test_verify_loads_only_the_layers_the_envelope_needs(tmp_path: Path) -> None:
    """An envelope without ``<SignStamp>`` loads no seal layer; signatures that all hold load no
    diagnosis; without ``--parties`` / ``--positions`` no parties layer or position-table
    reader; a file read in memory no streaming reader; without ``--crl`` / ``--ocsp`` no CRL or
    OCSP reader; the spine's consistency step no validation or XSD machinery; the field data is
    read as JSON (no tomllib) and the SM2 provider is OpenSSL's (no pure-Python SM2); an SM2
    certificate's key needs no cryptography key serialization (with its SSH support) nor its
    ciphers (they decrypt key files)."""
    one, root = _signed_envelope(tmp_path)
    out, modules = _loaded("verify", "--trust", str(root), str(one))
    assert ": OK" in out
    assert not {m for m in modules if m == "ezhifu.seal" or m.startswith("ezhifu.seal.")}
    deferred = {
        "ezhifu.verify.diagnose",
        "ezhifu.verify.parties",
        "ezhifu.verify.stream",
        "ezhifu.pki.ocsp",
        "ezhifu.pki.revocation",
        "ezhifu.document.positions",
        "ezhifu.document.validation",
        "ezhifu.document.xsdgen",
        "ezhifu.sign.voucher",
        "ezhifu.crypto.sm2.python",
        "tomllib",
        "argparse",
        "cryptography.hazmat.primitives.serialization",
        "cryptography.hazmat.primitives.ciphers",
    }
    assert not deferred & modules


def test_a_failed_signature_still_gets_its_diagnosis(tmp_path: Path) -> None:
    """The diagnosis loads when a signature fails, and explains it as before: a trailing newline
    added to the signed ``<Voucher>`` text (docs/verification.md)."""
    one, root = _signed_envelope(tmp_path)
    text = one.read_bytes()
    end = text.index(b"</Voucher>")
    one.write_bytes(text[:end] + b"\n" + text[end:])
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE.replace("assert exc.code in (0, None)", "assert exc.code == 1"),
            json.dumps(["verify", "--trust", str(root), str(one)]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out, _, loaded = proc.stdout.rpartition("\n\n")
    assert "FAILED" in out and "whitespace" in out, out
    assert "ezhifu.verify.diagnose" in json.loads(loaded)


#: Run main() on argv in a fresh interpreter; report the collector's state after the run, after
#: one collection, and at exit (from an atexit handler registered before main(), so run after its).
_GC_PROBE = (
    "import atexit, gc, json, sys\n"
    "sys.argv = ['ezhifu', *json.loads(sys.argv[1])]\n"
    "atexit.register(lambda: print(json.dumps({'at_exit_frozen': gc.get_freeze_count()})))\n"
    "from ezhifu.cli.main import START_UP_GC_THRESHOLD, main\n"
    "def collections():\n"
    "    return sum(s['collections'] for s in gc.get_stats())\n"
    "before, before_collections = gc.get_threshold(), collections()\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    assert exc.code in (0, None), exc.code\n"
    "state = {'before': before, 'start_up': START_UP_GC_THRESHOLD, 'after_run': gc.get_threshold(),\n"
    "         'collections': collections() - before_collections, 'frozen': gc.get_freeze_count()}\n"
    "gc.collect()\n"
    "state['after_collection'] = gc.get_threshold()\n"
    "print()\n"
    "print(json.dumps(state))\n"
)


def test_a_run_collects_no_garbage_during_start_up_nor_at_exit(tmp_path: Path) -> None:
    """A verify of one envelope makes no collection (its imports' objects live to the end); the
    first collection gives the collector its usual thresholds back (a long run collects as
    before); at exit, after the run's output, every object is frozen, so the interpreter's last
    collections pass over none of them."""
    one, root = _signed_envelope(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", _GC_PROBE, json.dumps(["verify", "--trust", str(root), str(one)])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out, _, report = proc.stdout.rpartition("\n\n")
    state_line, exit_line = report.splitlines()
    state, at_exit = json.loads(state_line), json.loads(exit_line)
    assert ": OK" in out
    usual = state["before"]
    assert state["after_run"] == [state["start_up"], *usual[1:]]
    assert state["collections"] == 0 and state["frozen"] == 0  # nothing frozen before the exit
    assert state["after_collection"] == usual
    assert at_exit["at_exit_frozen"] > 20_000  # the run's objects, frozen by main's handler


def test_a_second_run_in_one_process_keeps_the_usual_thresholds() -> None:
    """main() run twice in one process (as a script may call it): one hook, and the thresholds
    the process had before come back at the first collection (not the start-up ones)."""
    code = (
        "import gc, json, sys\n"
        "from ezhifu.cli.main import main\n"
        "usual, hooks = gc.get_threshold(), len(gc.callbacks)\n"
        "sys.argv = ['ezhifu', '--help']\n"
        "for _ in range(2):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), exc.code\n"
        "state = {'hooks': len(gc.callbacks) - hooks}\n"
        "gc.collect()\n"
        "state['restored'] = list(gc.get_threshold()) == list(usual)\n"
        "print(json.dumps(state))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"hooks": 1, "restored": True}
