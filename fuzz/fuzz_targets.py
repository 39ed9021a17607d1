"""atheris harness over the parsers that take partner bytes (see README.md)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import atheris  # type: ignore[import-not-found]

with atheris.instrument_imports():
    from ezhifu.document.build import build_voucher, parse_voucher_data
    from ezhifu.document.envelope import Envelope
    from ezhifu.document.validation import iter_errors
    from ezhifu.errors import EzhifuError
    from ezhifu.monitor.rules import RuleSet
    from ezhifu.pki.keys import load_certificate, load_private_key
    from ezhifu.seal.containers import parse_seal, parse_signature


def _cms(data: bytes) -> Any:
    from ezhifu.pki.trust import TrustStore
    from ezhifu.sign.cms_verify import verify_detached

    return verify_detached(data, b"content", trust=TrustStore())


TARGETS: dict[str, Callable[[bytes], Any]] = {
    "envelope": Envelope.from_bytes,
    "validate": lambda d: list(iter_errors(d)),
    "validate-strict": lambda d: list(iter_errors(d, level="strict")),
    "build-json": lambda d: build_voucher("5201", parse_voucher_data(d, "json")),
    "build-csv": lambda d: build_voucher("5201", parse_voucher_data(d, "csv")),
    "seal": parse_seal,
    "ses": parse_signature,
    "cms": _cms,
    "key": load_private_key,
    "cert": load_certificate,
    "rules": lambda d: RuleSet.from_text(d.decode("utf-8", "replace")),
}


def main() -> None:
    target = TARGETS[sys.argv.pop(1)]

    def one(data: bytes) -> None:
        with contextlib.suppress(EzhifuError):
            target(data)

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
