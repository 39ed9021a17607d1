"""The command line's shared options: each declared once and taken by every verb that has it.

* file types: :data:`EXISTING_FILE` (a file to read), :data:`FILE_PATH` (a file that need not
  exist yet: an output, a trail, a registry), :data:`DIR_PATH` (a directory to write into);
* verification: ``--trust`` (:func:`trust_option`) and the anchors by purpose
  (:data:`purpose_trust_options`, issue 13 item 1; the three as one :class:`TrustFiles`),
  ``--policy`` (:func:`policy_option`, read with :func:`verify_policy`), ``--positions``
  (:func:`positions_option`), ``--at`` (:func:`at_option`, read with :func:`parse_time`),
  revocation (:data:`revocation_options`, one :class:`Revocation`; issue 13 item 6,
  docs/security.md);
* runs over many files: ``--max-files`` and ``--max-run-bytes`` (:data:`run_limit_options`, read
  with :func:`run_inputs`);
* results, signing and secrets: ``--json`` (:data:`json_option`), ``--tsa URL``
  (:data:`tsa_option`), an option naming an environment variable (:func:`env_option`; the
  secret itself is never on the command line).

The output options (``-o/--output``, ``--force``) are :mod:`ezhifu.cli.output`'s; the key
options (``--key``/``--keystore``…) are :mod:`ezhifu.cli.keyopts`'. An option keeps its name, its
parameter and its help text wherever it appears; where a verb means something else by it, its
help says so (the ``help`` parameter of the factories).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

import click

from ezhifu._fileio import MAX_RUN_BYTES, MAX_RUN_FILES, RunBudget
from ezhifu.cli.common import check_config, fail_usage, iter_input_files, read_input
from ezhifu.errors import EzhifuError

if TYPE_CHECKING:
    from ezhifu.pki.trust import TrustStore, VerifyPolicy

__all__ = [
    "DIR_PATH",
    "EXISTING_FILE",
    "FILE_PATH",
    "TRUST_HELP",
    "Revocation",
    "TrustFiles",
    "at_option",
    "env_option",
    "gathered",
    "json_option",
    "load_crl_files",
    "parse_time",
    "policy_option",
    "positions_option",
    "purpose_trust_options",
    "revocation_options",
    "run_inputs",
    "run_limit_options",
    "stacked",
    "trust_option",
    "tsa_option",
    "verify_policy",
]

F = TypeVar("F", bound=Callable[..., Any])

#: An existing file to read (not a directory), given to the verb as a :class:`~pathlib.Path`.
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
#: A file that need not exist yet (an output, an audit trail, a registry), as a Path.
FILE_PATH = click.Path(dir_okay=False, path_type=Path)
#: A directory to write into (created when needed), as a Path.
DIR_PATH = click.Path(file_okay=False, path_type=Path)


def stacked(*decorators: Callable[[Any], Any]) -> Callable[[F], F]:
    """One decorator applying ``decorators`` as if written one above the other (the first on top,
    so listed first in ``--help``)."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def gathered(into: str, record: Callable[..., Any], fields: Mapping[str, str]) -> Callable[[F], F]:
    """A decorator giving the function one ``record(**{field: value, ...})`` as its parameter
    ``into``, in place of the parameters ``fields`` names (parameter -> field of the record): a
    verb takes a group of options as one value (:class:`TrustFiles`, :class:`Revocation`,
    :class:`ezhifu.cli.keyopts.KeySource`)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = record(**{field: kwargs.pop(name, None) for name, field in fields.items()})
            return function(*args, **{into: value}, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


#: ``--json``: print the result as JSON on stdout instead of text. The flag lands in the
#: command's ``as_json`` parameter.
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (UTF-8) on stdout."
)

#: ``--tsa URL``: obtain an RFC 3161 time-stamp token over the new signature value from this
#: time-stamping authority (HTTP, RFC 3161 clause 3.4) and embed it (docs/cli.md). The value
#: lands in the command's ``tsa_url`` parameter.
tsa_option = click.option(
    "--tsa",
    "tsa_url",
    metavar="URL",
    help="Time-stamp the new signature at this RFC 3161 TSA (http:// or https://) and embed the token.",
)


def env_option(name: str, holding: str) -> Callable[[F], F]:
    """An option naming the environment variable ``VAR`` that holds a secret (help: "Environment
    variable holding ``holding``."): secrets are never taken on the command line, where the
    process list and the shell history would show them (read with
    :func:`ezhifu.cli.keyopts.secret_from_env`)."""
    return click.option(name, metavar="VAR", help=f"Environment variable holding {holding}.")


#: The per-run limits across many files (:class:`ezhifu._fileio.RunBudget`, docs/security.md
#: "Limits"): option, default, help.
_RUN_LIMITS = (
    ("--max-files", MAX_RUN_FILES, "Most files read by this run (a directory counts every *.xml below it)."),
    (
        "--max-run-bytes",
        MAX_RUN_BYTES,
        "Most bytes read in all by this run (a special file or stdin counts its read bound).",
    ),
)
#: ``--max-files N`` and ``--max-run-bytes N`` (:data:`_RUN_LIMITS`); reaching one is exit 2.
run_limit_options = stacked(
    *(
        click.option(name, type=click.IntRange(min=1), default=default, show_default=True, help=said)
        for name, default, said in _RUN_LIMITS
    )
)


def run_inputs(
    inputs: Iterable[Path], max_files: int, max_run_bytes: int, *, unknown_size: int
) -> list[Path]:
    """The files of a run over ``inputs`` (every ``*.xml`` below a directory,
    :func:`~ezhifu.cli.common.iter_input_files`) within ``--max-files`` and ``--max-run-bytes``,
    checked before anything is read (a special file or stdin counts ``unknown_size``, the bound
    its reader applies): :class:`~ezhifu.errors.RunLimitExceeded` (exit 2) past either."""
    files = iter_input_files(inputs, "*.xml", max_files=max_files)
    RunBudget(max_files, max_run_bytes).check_all(files, unknown_size=unknown_size)
    return files


# --- trust ----------------------------------------------------------------------------------

#: ``--trust`` as ``ezhifu verify`` has it (the signers' anchors, beside the anchors by purpose).
TRUST_HELP = "PEM file of trusted roots, intermediates or pinned partner certificates (repeatable)."


def trust_option(help: str = TRUST_HELP, *, required: bool = False) -> Callable[[F], F]:
    """``--trust FILE`` (repeatable) into the command's ``trust_files`` parameter."""
    return click.option(
        "--trust", "trust_files", multiple=True, required=required, type=EXISTING_FILE, help=help
    )


@dataclass(frozen=True, slots=True)
class TrustFiles:
    """The trust files as given, by purpose (issue 13 item 1): ``--trust`` (the signers),
    ``--seal-maker-trust`` (the seal makers, 制章者) and ``--tsa-trust`` (the time-stamping
    authorities)."""

    signers: tuple[Path, ...] = ()
    seal_makers: tuple[Path, ...] = ()
    tsas: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file given, whatever its purpose."""
        return (*self.signers, *self.seal_makers, *self.tsas)

    def load(self) -> TrustStore:
        """The trust store of these anchors, each file checked first like a configuration
        (:func:`~ezhifu.cli.common.check_config`)."""
        # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
        from ezhifu.pki.trust import TrustStore

        given = (
            ("--trust", self.signers),
            ("--seal-maker-trust", self.seal_makers),
            ("--tsa-trust", self.tsas),
        )
        for option, paths in given:
            for path in paths:
                check_config(path, f"the trust file ({option})")
        return TrustStore.from_purpose_files(self.signers, self.seal_makers, self.tsas)


#: ``--seal-maker-trust`` and ``--tsa-trust`` (repeatable): the anchors of the seal makers and of
#: the time-stamping authorities, beside ``--trust`` (:func:`trust_option`, placed by the verb);
#: the three come to the verb as one :class:`TrustFiles`, its parameter ``anchors``.
purpose_trust_options = stacked(
    click.option(
        "--seal-maker-trust",
        "seal_maker_trust_files",
        multiple=True,
        type=EXISTING_FILE,
        help="PEM file of trusted seal makers (制章者) roots or certificates (repeatable).",
    ),
    click.option(
        "--tsa-trust",
        "tsa_trust_files",
        multiple=True,
        type=EXISTING_FILE,
        help="PEM file of trusted time-stamping authorities (RFC 3161; repeatable).",
    ),
    gathered(
        "anchors",
        TrustFiles,
        {"trust_files": "signers", "seal_maker_trust_files": "seal_makers", "tsa_trust_files": "tsas"},
    ),
)


# --- policy, positions, time ----------------------------------------------------------------


def policy_option(dest: str = "policy_name") -> Callable[[F], F]:
    """``--policy default|legacy`` (:func:`verify_policy`) into the parameter ``dest``."""
    return click.option(
        "--policy",
        dest,
        type=click.Choice(["default", "legacy"]),
        default="default",
        show_default=True,
        help="legacy also accepts SHA-1 and RSA-1024 (the deployed partners, spec.md §5.3).",
    )


def verify_policy(name: str) -> VerifyPolicy:
    """The :class:`~ezhifu.pki.trust.VerifyPolicy` named by ``--policy`` (``legacy``: the deployed
    partners' SHA-1 and RSA-1024 too, spec.md §5.3)."""
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.pki.trust import VerifyPolicy

    return VerifyPolicy.legacy() if name == "legacy" else VerifyPolicy()


#: ``--positions`` as ``ezhifu verify`` has it.
POSITIONS_HELP = "Position table (docs/positions.md; TOML, or JSON {VtCode: [position, ...]})."


def positions_option(help: str = POSITIONS_HELP) -> Callable[[F], F]:
    """``--positions FILE``, a position table (docs/positions.md), into ``positions_file``."""
    return click.option("--positions", "positions_file", type=EXISTING_FILE, help=help)


def at_option(help: str) -> Callable[[F], F]:
    """``--at ISO-TIME`` into ``at_text`` (read with :func:`parse_time`)."""
    return click.option("--at", "at_text", metavar="ISO-TIME", help=help)


@overload
def parse_time(value: str, option: str = "--at") -> datetime: ...
@overload
def parse_time(value: None, option: str = "--at") -> None: ...
@overload
def parse_time(value: str | None, option: str = "--at") -> datetime | None: ...
def parse_time(value: str | None, option: str = "--at") -> datetime | None:
    """An ISO 8601 date or date-time given to ``option`` (``None`` when not given); anything else
    is a usage error naming the option (exit 2)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date/time: {value!r}", param_hint=option) from exc


# --- revocation -----------------------------------------------------------------------------


def load_crl_files(paths: Sequence[Path]) -> tuple[bytes, ...]:
    """The DER of each ``--crl`` file (DER or PEM, :func:`ezhifu.pki.revocation.load_crl`),
    each read bounded by :data:`ezhifu.pki.revocation.MAX_CRL_BYTES`."""
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.pki.revocation import MAX_CRL_BYTES, load_crl

    crls: list[bytes] = []
    for path in paths:
        try:
            crls.append(load_crl(read_input(path, max_bytes=MAX_CRL_BYTES), what=f"CRL file {path} (--crl)"))
        except EzhifuError as exc:  # a bad --crl file is a usage error (exit 2), like a bad --trust file
            fail_usage(str(exc))
    return tuple(crls)


@dataclass(frozen=True, slots=True)
class Revocation:
    """The revocation options as given (:data:`revocation_options`; issue 13 item 6,
    docs/security.md)."""

    crl_files: tuple[Path, ...] = ()
    use_ocsp: bool = False
    ocsp_url: str | None = None
    unavailable: str = "hard-fail"

    def applied(self, policy: VerifyPolicy) -> VerifyPolicy:
        """``policy`` with these revocation sources (a bad file or URL is a usage error, exit 2)."""
        if self.crl_files:
            policy = policy.replace(check_crl=True, crls=load_crl_files(self.crl_files))
        if self.use_ocsp or self.ocsp_url:
            if self.ocsp_url is not None and not self.ocsp_url.startswith(("http://", "https://")):
                fail_usage(f"--ocsp-url {self.ocsp_url!r}: 需要 http(s) 地址 / expected an http(s) URL")
            policy = policy.replace(check_ocsp=True, ocsp_url=self.ocsp_url)
        return policy.replace(revocation_unavailable=self.unavailable)


#: ``--crl FILE`` (repeatable), ``--ocsp``, ``--ocsp-url URL`` and ``--revocation-unavailable``,
#: given to the verb as one :class:`Revocation`, its parameter ``revocation``.
revocation_options = stacked(
    click.option(
        "--crl",
        "crl_files",
        multiple=True,
        type=EXISTING_FILE,
        help="Check revocation against this CRL, DER or PEM (repeatable; docs/security.md).",
    ),
    click.option(
        "--ocsp", "use_ocsp", is_flag=True, help="Ask the OCSP responder named in each certificate's AIA."
    ),
    click.option(
        "--ocsp-url", metavar="URL", help="Ask this OCSP responder (http or https) for every certificate."
    ),
    click.option(
        "--revocation-unavailable",
        type=click.Choice(["hard-fail", "soft-fail"]),
        default="hard-fail",
        show_default=True,
        help="With --crl/--ocsp: refuse (hard-fail) or accept and report (soft-fail) a certificate "
        "whose revocation status cannot be established.",
    ),
    gathered(
        "revocation",
        Revocation,
        {
            "crl_files": "crl_files",
            "use_ocsp": "use_ocsp",
            "ocsp_url": "ocsp_url",
            "revocation_unavailable": "unavailable",
        },
    ),
)
