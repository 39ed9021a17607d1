"""pytest plugin for partner test suites: check vouchers and envelopes as part of a test run.

Installed with ezhifu as the ``pytest11`` entry point ``ezhifu``, so a suite only has to
``pip install ezhifu``. Options::

    pytest --ezhifu-trust roots/treasury-root.pem --ezhifu-trust roots/bank-root.pem \\
           --ezhifu-policy legacy --ezhifu-schema-version 2019

Fixtures: ``ezhifu_trust_store`` (a :class:`~ezhifu.pki.trust.TrustStore` from every
``--ezhifu-trust`` file, or ``None`` when none was given), ``ezhifu_policy`` (the
:class:`~ezhifu.pki.trust.VerifyPolicy` named by ``--ezhifu-policy``: ``default`` is the secure
default, ``legacy`` also accepts SHA-1 and RSA-1024 for partners still on the 2024 vendor
format) and ``ezhifu_schema_version``; ``monitor_rules`` (:mod:`ezhifu.testing.monitor`) asserts
that a voucher triggers a fund-monitoring rule of ``--ezhifu-monitor-rules`` (default: the example
pack). The assertion helper::

    from ezhifu.testing.pytest_plugin import assert_valid_voucher

    def test_partner_envelope(ezhifu_trust_store):
        assert_valid_voucher("out/envelope.xml", trust=ezhifu_trust_store)

fails the test with *every* problem found, one per line: schema issues with their element
path and line, then each signature or seal that does not verify with its position and reason.
When ``trust``, ``policy`` or ``schema_version`` is not given it falls back to the command-line
options. The plugin is loaded in every pytest run where ezhifu is installed, so this module
imports nothing heavy at import time: the document and crypto layers load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

import pytest

if TYPE_CHECKING:
    from ezhifu.pki.trust import TrustStore, VerifyPolicy
    from ezhifu.testing.monitor import MonitorRules
    from ezhifu.verify.parties import Parties

__all__ = [
    "VoucherChecks",
    "assert_valid_voucher",
    "ezhifu_policy",
    "ezhifu_schema_version",
    "ezhifu_trust_store",
    "monitor_rules",
    "voucher_problems",
]

_POLICIES = ("default", "legacy")

# The active runs' pytest configs, innermost last, so assert_valid_voucher can fall back to the
# command-line options without being a fixture itself. A stack, because pytester runs a pytest
# session inside another one; xdist workers are separate processes and configure their own.
_configs: list[pytest.Config] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ezhifu", "ezhifu treasury e-vouchers")
    group.addoption(
        "--ezhifu-trust",
        action="append",
        default=[],
        metavar="PATH",
        help="PEM file of trusted root certificates for ezhifu verification (repeatable).",
    )
    group.addoption(
        "--ezhifu-seal-maker-trust",
        action="append",
        default=[],
        metavar="PATH",
        help="PEM file of trusted seal makers (制章者) for ezhifu verification (repeatable).",
    )
    group.addoption(
        "--ezhifu-tsa-trust",
        action="append",
        default=[],
        metavar="PATH",
        help="PEM file of trusted time-stamping authorities for ezhifu verification (repeatable).",
    )
    group.addoption(
        "--ezhifu-policy",
        choices=_POLICIES,
        default="default",
        help="ezhifu verification policy: 'default' (secure) or 'legacy' (also SHA-1, RSA-1024).",
    )
    group.addoption(
        "--ezhifu-parties",
        default=None,
        metavar="FILE",
        help="Parties file binding positions to parties (docs/parties.md).",
    )
    group.addoption(
        "--ezhifu-schema-version",
        default=None,
        metavar="V",
        help="Interface schema version vouchers are validated against (default: ezhifu's default).",
    )
    group.addoption(
        "--ezhifu-monitor-rules",
        default=None,
        metavar="RULES",
        help="Fund-monitoring rule pack (TOML) for the monitor_rules fixture (default: the example pack).",
    )
    group.addoption(
        "--ezhifu-monitor-context",
        default=None,
        metavar="CTX",
        help="Monitoring context file (TOML) for the monitor_rules fixture.",
    )


def pytest_configure(config: pytest.Config) -> None:
    _configs.append(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _configs:
        _configs.remove(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    trust = config.getoption("--ezhifu-trust", default=[])
    if not trust and config.getoption("--ezhifu-policy", default="default") == "default":
        return None
    return f"ezhifu: trust={', '.join(trust) or '-'} policy={config.getoption('--ezhifu-policy')}"


def _load_trust(config: pytest.Config) -> TrustStore | None:
    """The anchors by purpose from ``--ezhifu-trust``, ``--ezhifu-seal-maker-trust`` and
    ``--ezhifu-tsa-trust`` (``None`` when none was given)."""
    lists = [
        [Path(p) for p in config.getoption(name, default=[]) or []]
        for name in ("--ezhifu-trust", "--ezhifu-seal-maker-trust", "--ezhifu-tsa-trust")
    ]
    if not any(lists):
        return None
    # reason: the plugin loads in every pytest run; the layers load on first use
    from ezhifu.pki.trust import TrustStore

    return TrustStore.from_purpose_files(*lists)


def _policy(name: str) -> VerifyPolicy:
    # reason: the plugin loads in every pytest run; the layers load on first use
    from ezhifu.pki.trust import VerifyPolicy

    if name == "legacy":
        return VerifyPolicy.legacy()
    return VerifyPolicy()


@pytest.fixture(scope="session")
def ezhifu_trust_store(pytestconfig: pytest.Config) -> TrustStore | None:
    """The trust store built from ``--ezhifu-trust`` files (``None`` when none was given)."""
    return _load_trust(pytestconfig)


@pytest.fixture(scope="session")
def ezhifu_policy(pytestconfig: pytest.Config) -> VerifyPolicy:
    """The verification policy named by ``--ezhifu-policy``."""
    return _policy(str(pytestconfig.getoption("--ezhifu-policy")))


@pytest.fixture(scope="session")
def ezhifu_schema_version(pytestconfig: pytest.Config) -> str | None:
    """The schema version given by ``--ezhifu-schema-version`` (``None``: ezhifu's default)."""
    value = pytestconfig.getoption("--ezhifu-schema-version")
    return None if value is None else str(value)


@pytest.fixture(scope="session")
def monitor_rules(pytestconfig: pytest.Config) -> MonitorRules:
    """The rule pack of ``--ezhifu-monitor-rules`` (default: the example pack) with
    ``assert_fires(rule_id, *vouchers)`` / ``assert_quiet(...)`` (:mod:`ezhifu.testing.monitor`)."""
    from ezhifu.testing.monitor import MonitorRules  # reason: the plugin loads nothing heavy until used

    return MonitorRules.load(
        pytestconfig.getoption("--ezhifu-monitor-rules"), pytestconfig.getoption("--ezhifu-monitor-context")
    )


def _read(path_or_bytes: str | Path | bytes) -> bytes:
    if isinstance(path_or_bytes, bytes | bytearray):
        return bytes(path_or_bytes)
    return Path(path_or_bytes).read_bytes()


def voucher_problems(
    path_or_bytes: str | Path | bytes,
    *,
    trust: TrustStore | None = None,
    policy: VerifyPolicy | None = None,
    schema_version: str | None = None,
    verify_signatures: bool = True,
    parties: Parties | str | Path | None = None,
) -> list[str]:
    """Every problem of an envelope (``<MOF>``) or a bare voucher, as lines of text.

    Schema and content issues come first (each :class:`~ezhifu.errors.ValidationIssue` with its
    path and line), then verification: envelope and body problems and every signature or seal
    that does not verify, named by voucher number, kind and position. An empty list means the
    document is valid (and, for an envelope with ``verify_signatures``, that every signature and
    seal verifies against ``trust``). A bare voucher carries no signatures, so only its content
    is checked.
    """
    # reason: the plugin loads in every pytest run; the layers load on first use
    from ezhifu.document.issues import UNREADABLE_CODES, unreadable_of
    from ezhifu.document.validation import iter_errors
    from ezhifu.document.xmlparse import parse_xml
    from ezhifu.errors import EzhifuError

    data = _read(path_or_bytes)
    opts = _configs[-1] if _configs else None
    if schema_version is None and opts is not None:
        schema_version = opts.getoption("--ezhifu-schema-version", default=None)
    problems: list[str] = []
    try:
        issues = list(iter_errors(data, schema_version=schema_version))
        refused = unreadable_of(issues)
        if refused is not None:
            # Not even readable (hostile, not XML, bad encoding): that is the one problem.
            return [f"{UNREADABLE_CODES[refused.code].__name__}: {refused.reason}"]
        problems.extend(str(issue) for issue in issues)
        is_envelope = parse_xml(data, what="document").tag == "MOF"
    except EzhifuError as exc:
        return [*problems, f"{type(exc).__name__}: {exc}"]
    if not verify_signatures or not is_envelope:
        return problems

    if trust is None and opts is not None:
        trust = _load_trust(opts)
    if policy is None:
        policy = _policy(str(opts.getoption("--ezhifu-policy", default="default")) if opts else "default")
    if trust is None:
        problems.append(
            "signatures not verified: no trust store "
            "(pass trust=... or run pytest with --ezhifu-trust ROOT.pem)"
        )
        return problems

    # reason: the plugin loads in every pytest run; the layers load on first use
    from ezhifu.verify.envelope import verify_envelope
    from ezhifu.verify.parties import Parties

    if parties is None and opts is not None:
        parties = opts.getoption("--ezhifu-parties", default=None)
    try:
        if parties is not None and not isinstance(parties, Parties):
            parties = Parties.load(parties)
        result = verify_envelope(data, trust=trust, policy=policy, parties=parties)
    except EzhifuError as exc:
        return [*problems, f"verification: {type(exc).__name__}: {exc}"]
    problems.extend(f"envelope: {p}" for p in result.problems)
    if not result.bodies:
        problems.append("envelope: no VoucherBody")
    for body in result.bodies:
        problems.extend(f"voucher {body.vt_code}/{body.voucher_no}: {r}" for r in body.reasons)
    return problems


class VoucherChecks(TypedDict, total=False):
    """The keyword options of :func:`voucher_problems`, which :func:`assert_valid_voucher` passes on."""

    trust: TrustStore | None
    policy: VerifyPolicy | None
    schema_version: str | None
    verify_signatures: bool
    parties: Parties | str | Path | None


def assert_valid_voucher(path_or_bytes: str | Path | bytes, **checks: Unpack[VoucherChecks]) -> None:
    """Fail the current test with the full list of problems, one per line (see :func:`voucher_problems`,
    whose keyword options it takes)."""
    problems = voucher_problems(path_or_bytes, **checks)
    if problems:
        name = "<bytes>" if isinstance(path_or_bytes, bytes | bytearray) else str(path_or_bytes)
        count = len(problems)
        lines = [f"{name}: {count} problem{'s' if count != 1 else ''}"]
        lines.extend(f"  - {p}" for p in problems)
        pytest.fail("\n".join(lines), pytrace=False)
