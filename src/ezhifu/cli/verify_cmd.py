"""``ezhifu verify``: verify every signature and seal of one or more envelopes.

Example::

    ezhifu verify a.xml b.xml in/ --trust ca.pem --trust partner.pem --policy legacy --json
    ezhifu verify daily-batch.xml --trust ca.pem --jobs 2

Trust files (PEM, several certificates each allowed) are sorted by
:meth:`ezhifu.pki.trust.TrustStore.from_pem_bytes`: self-signed CA certificates are roots, other CA
certificates help build chains, and end-entity certificates are *pinned* (trusted directly;
partners whose private CA root is not handed out). ``--policy legacy`` also accepts SHA-1 and
RSA-1024, as the deployed partners sign (spec.md §5.3).

``--ocsp`` (the responder in each certificate's AIA) or ``--ocsp-url URL`` asks an OCSP
responder (:mod:`ezhifu.pki.ocsp`) when no CRL answered. ``--crl FILE`` (repeatable, DER or PEM)
checks the revocation of every certificate on each
trusted path at the check time (:mod:`ezhifu.pki.revocation`); ``--revocation-unavailable``
says what a certificate without a usable CRL gets: ``hard-fail`` (refused, the default) or
``soft-fail`` (accepted; the ``chain`` step's ``revocation`` evidence says it was unavailable).

``--positions FILE`` is a position table (docs/positions.md): the TOML table
``[positions."5201".cz_dwfz]`` …, or the short form ``{VtCode: [position, ...]}`` in JSON or
TOML; a signature or seal at any other position then fails.

A directory stands for every ``*.xml`` file below it (recursively, sorted). With more than one
file a progress bar is shown while verifying (only when stderr is a terminal), then the details
of every file that failed and a summary table (file, ✓/✗, valid/total bodies, first reason).

Two ways to read an envelope, with the same verdicts and reasons:

* in memory (default): the hardened parser reads the whole file (at most
  :data:`~ezhifu.document.xmlparse.DEFAULT_MAX_BYTES`, 64 MiB), then every body is verified;
* streamed (``--stream``, ``--jobs N`` with N > 1, or automatically for a file above
  :data:`STREAM_THRESHOLD`): :func:`ezhifu.verify.stream.verify_stream` pulls one ``VoucherBody`` at a
  time (lxml pull parser, bounded memory, same refusals) and, with ``--jobs N``, verifies chunks
  of bodies in N processes. Two differences, both for envelopes that fail anyway: an envelope
  found unreadable part-way keeps the results of the bodies read before the problem (the
  in-memory path reads nothing of such a file), and a signature copied from another voucher is
  reported as a content mismatch without naming that other voucher (that explanation needs the
  sibling bodies in memory).

Exit status: 0 when everything verifies, 1 when anything fails, 2 on usage errors.

``--json`` output: for one FILE argument, the :meth:`ezhifu.results.EnvelopeResult.to_dict`
object (``{"valid", "problems", "bodies": [{"vt_code", "voucher_no", "valid", "problems",
"items": [{"kind", "position", "valid", "reason", "signer", ...}]}]}``) with an added
``"file"`` key; for several files or a directory, ``{"valid": all valid, "files": [{"file":
name, **result}, ...]}``. The streamed path prints the same shape.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ezhifu._fileio import MAX_RUN_BYTES, MAX_RUN_FILES
from ezhifu.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    JsonListWriter,
    echo,
    echo_json,
    handle_errors,
    mark,
    print_table,
    progress,
    read_input,
)
from ezhifu.cli.i18n import _, current_language
from ezhifu.cli.options import (
    EXISTING_FILE,
    Revocation,
    TrustFiles,
    at_option,
    json_option,
    parse_time,
    policy_option,
    positions_option,
    purpose_trust_options,
    revocation_options,
    run_inputs,
    run_limit_options,
    trust_option,
    verify_policy,
)
from ezhifu.document.positions import PositionTable
from ezhifu.document.xmlparse import DEFAULT_MAX_BYTES
from ezhifu.errors import EzhifuError
from ezhifu.results import BodyResult, EnvelopeResult, ItemResult

if TYPE_CHECKING:
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.pki.trust import TrustStore, VerifyPolicy
    from ezhifu.verify.cluster import ClusterPool
    from ezhifu.verify.parties import Parties
    from ezhifu.verify.pool import BodyPool

__all__ = [
    "STREAM_THRESHOLD",
    "command",
    "first_reason",
    "load_positions",
    "summary_rows",
    "uses_stream",
    "verify_file",
]

#: Files larger than this are streamed even without ``--stream``: the in-memory parser refuses
#: them (its limit is the same 64 MiB, parsing.md).
STREAM_THRESHOLD = DEFAULT_MAX_BYTES

#: Longest "first reason" shown in the summary table (the details above it carry the whole text).
_REASON_WIDTH = 100
_TABLE_HEADERS = ("file", "result", "bodies", "first reason")


def load_positions(path: Path) -> dict[str, frozenset[str]]:
    """Read a position table (:class:`ezhifu.document.positions.PositionTable`, docs/positions.md):
    VtCode -> the names of its positions."""
    return PositionTable.from_toml(path).as_positions()


def uses_stream(path: Path, *, stream: bool, jobs: int) -> bool:
    """Whether ``path`` is verified with the streaming reader (see the module docstring)."""
    return stream or jobs > 1 or path.stat().st_size > STREAM_THRESHOLD


def verify_file(
    path: Path,
    *,
    trust: TrustStore,
    policy: VerifyPolicy,
    positions: dict[str, frozenset[str]] | None,
    at: datetime | None,
    stream: bool = False,
    jobs: int = 1,
    pool: BodyPool | None = None,
    parties: Parties | None = None,
) -> EnvelopeResult:
    """Verify one envelope file, in memory or streamed (:func:`uses_stream`).

    ``pool`` is the run's one process pool (:class:`ezhifu.verify.pool.VerifyPool`) when
    ``jobs > 1``; without it a pool is opened for this file alone.

    Never raises for a bad envelope: an unreadable one gives a result with the problem
    ``envelope cannot be read: ...``, as :func:`ezhifu.verify.envelope.verify_envelope` does.
    """
    if not uses_stream(path, stream=stream, jobs=jobs):
        # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
        from ezhifu.verify.envelope import verify_envelope

        try:  # bounded: a special file such as /dev/zero has st_size 0 (issue 14 finding 6)
            data = read_input(path, max_bytes=STREAM_THRESHOLD)
        except EzhifuError as exc:
            return EnvelopeResult.of([], [f"envelope cannot be read: {exc}"])
        return verify_envelope(data, trust=trust, policy=policy, positions=positions, at=at, parties=parties)

    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.verify import stream as batch

    bodies: list[BodyResult] = []
    try:
        for result in batch.verify_stream(
            path,
            trust=trust,
            policy=policy,
            positions=positions,
            at=at,
            workers=jobs,
            pool=pool,
            parties=parties,
        ):
            bodies.append(result)
    except EzhifuError as exc:
        # Same wording as the in-memory path; the bodies read before the problem are kept.
        return EnvelopeResult.of(
            bodies, [f"envelope cannot be read: {exc}"], parties_checked=parties is not None
        )
    return EnvelopeResult.of(bodies, parties_checked=parties is not None)


def first_reason(result: EnvelopeResult) -> str:
    """The first reason an envelope failed (empty when valid), for the summary table."""
    if result.problems:
        return result.problems[0]
    if not result.bodies:
        return "no VoucherBody"
    for index, body in enumerate(result.bodies, start=1):
        if not body.valid:
            reasons = body.reasons
            text = reasons[0] if reasons else "not valid"
            return f"VoucherBody {index} (VoucherNo {body.voucher_no}): {text}"
    return ""


def _shorten(text: str, width: int = _REASON_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_rows(results: Sequence[tuple[str, EnvelopeResult]]) -> list[tuple[str, str, str, str]]:
    """Rows of the summary table: file, ✓/✗, valid/total bodies, first reason."""
    return [
        (
            name,
            mark(result.valid),
            f"{sum(1 for b in result.bodies if b.valid)}/{len(result.bodies)}",
            _shorten(first_reason(result)),
        )
        for name, result in results
    ]


#: The item kinds as the text output names them (translated when printed).
_KINDS = {"signature": lambda: _("signature"), "seal": lambda: _("seal")}
#: The time bases (ezhifu.pki.tsp) as the text output names them.
_BASES = {
    "verification": lambda: _("verification"),
    "token": lambda: _("token"),
    "asserted": lambda: _("asserted"),
}


def _print_text(name: str, result: EnvelopeResult) -> None:
    status = _("OK") if result.valid else _("FAILED")
    echo(f"{name}: {status}")
    if not result.parties_checked:  # a position name is never a party's approval
        echo(_("  parties not checked: positions were not bound to parties (use --parties FILE)"))
    for problem in result.problems:
        echo(_("  envelope: {problem}").format(problem=problem))
    for body in result.bodies:
        verdict = _("ok") if body.valid else _("FAILED")
        line = _("  VoucherBody VtCode={vt_code} VoucherNo={voucher_no}: {verdict}")
        echo(line.format(vt_code=body.vt_code, voucher_no=body.voucher_no, verdict=verdict))
        unsigned = ", ".join(f"{k}={v!r}" for k, v in body.unsigned if v is not None)
        if unsigned:
            echo(_("    unsigned (no signature covers them): {fields}").format(fields=unsigned))
        for problem in body.problems:
            echo(_("    problem: {problem}").format(problem=problem))
        if not body.items:
            echo(_("    no signature or seal"))
        for item in body.items:
            who = ""
            if item.signer:
                who = _(" by {subject} (serial {serial})").format(
                    subject=item.signer.subject, serial=item.signer.serial_hex
                )
            verdict = _("ok") if item.valid else f"{_('FAILED')}: {_said_reason(item)}"
            unchecked = [phase for phase, outcome in item.phases.items() if outcome == "not_checked"]
            if unchecked:  # what was not checked is said, never implied (docs/verification.md)
                verdict += _(" (not checked: {phases})").format(phases=", ".join(unchecked))
            kind = _KINDS[item.kind]() if item.kind in _KINDS else item.kind
            echo(
                _("    {kind} at {position}{who}: {verdict}").format(
                    kind=kind, position=item.position, who=who, verdict=verdict
                )
            )
            _print_time(item)


def _said_reason(item: ItemResult) -> str | None:
    """The reason of a failed item; under Chinese the failed step's Chinese line with the
    English detail beside it (results.Step.chinese), so nothing of the reason is lost."""
    if current_language() != "zh":
        return item.reason
    failed = next((step for step in item.steps if step.outcome == "failed"), None)
    if failed is None or failed.chinese == failed.en:
        return item.reason
    return f"{failed.chinese}（{failed.en}）"


def _print_time(item: ItemResult) -> None:
    """The time basis and the claimed time of an item (issue 13 item 2): the claim is shown as
    a claim, the basis as what the certificates and the seal were checked at."""
    basis = next((dict(s.evidence) for s in item.steps if s.name == "time-basis"), None)
    if basis:
        at = f" {basis['at']}" if basis.get("at") else ""
        tsa = _(" by {tsa}").format(tsa=basis["tsa"]) if basis.get("tsa") else ""
        named = _BASES.get(basis["basis"])
        said = named() if named else basis["basis"]
        echo(_("      time basis: {basis}{at}{tsa}").format(basis=said, at=at, tsa=tsa))
    if item.claimed_time is not None:
        claimed = item.claimed_time
        echo(
            _("      claimed time: {time} ({source})").format(
                time=claimed.value.isoformat(), source=claimed.source
            )
        )


def _verify_all(
    files: Sequence[Path],
    *,
    trust: TrustStore,
    policy: VerifyPolicy,
    positions: dict[str, frozenset[str]] | None,
    at: datetime | None,
    stream: bool,
    jobs: int,
    scheduler: str | None,
    parties: Parties | None = None,
) -> Iterator[tuple[str, EnvelopeResult]]:
    """Verify every file with one pool for the whole run: local processes (``jobs > 1``) or
    a Dask cluster (``scheduler``), where files read in memory go as one task each.

    Yields each file's result when it is done (in order): the caller prints it and keeps only
    its summary row, so a run's memory does not grow with its results."""
    options: dict[str, Any] = {"trust": trust, "policy": policy, "positions": positions, "at": at}
    with ExitStack() as stack:
        pool: BodyPool | None = None
        cluster: ClusterPool | None = None
        if scheduler is not None:
            # reason: a verb loads its layers when run; distributed is an optional extra
            from ezhifu.verify.cluster import ClusterPool

            cluster = stack.enter_context(ClusterPool(scheduler, parties=parties, **options))
            pool, jobs = cluster, 1
        elif jobs > 1:  # one pool for the whole run, not one per file (docs/performance.md)
            # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
            from ezhifu.verify.pool import VerifyPool

            pool = stack.enter_context(VerifyPool(jobs, parties=parties, **options))
        items = stack.enter_context(progress(files, label="verifying"))
        for streamed, group in itertools.groupby(
            items, key=lambda p: uses_stream(p, stream=stream, jobs=jobs)
        ):
            if cluster is not None and not streamed:
                names: list[str] = []

                def read(paths: Iterable[Path], names: list[str] = names) -> Iterator[bytes]:
                    for path in paths:
                        names.append(str(path))
                        yield read_input(path, max_bytes=STREAM_THRESHOLD)  # bounded (a FIFO too)

                for index, result in enumerate(cluster.verify_envelopes(read(group))):
                    yield names[index], result
                continue
            for path in group:
                result = verify_file(path, stream=stream, jobs=jobs, pool=pool, parties=parties, **options)
                yield str(path), result


@click.command(name="verify")
@click.argument(
    "inputs",
    metavar="FILE_OR_DIR...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=Path),
)
@trust_option(required=True)
@policy_option()
@positions_option()
@click.option(
    "--parties",
    "parties_file",
    type=EXISTING_FILE,
    help="Parties file binding positions to parties (docs/parties.md); its [positions] is the table.",
)
@at_option("Validate certificates at this time (default now).")
@click.option(
    "--stream",
    is_flag=True,
    help="Read envelopes body by body in bounded memory (automatic above 64 MiB).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Verify the bodies of each envelope in N processes (streamed).",
)
@purpose_trust_options
@revocation_options
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Verify as tasks on this Dask scheduler (tcp://host:8786; needs ezhifu[dask], docs/performance.md).",
)
@run_limit_options
@json_option
@handle_errors
def command(
    inputs: tuple[Path, ...],
    anchors: TrustFiles,
    revocation: Revocation,
    policy_name: str,
    positions_file: Path | None,
    parties_file: Path | None,
    at_text: str | None,
    stream: bool,
    jobs: int,
    scheduler: str | None,
    as_json: bool,
    max_files: int = MAX_RUN_FILES,
    max_run_bytes: int = MAX_RUN_BYTES,
) -> None:
    """Verify the signatures and seals of envelope files (a directory: every *.xml below it)."""
    trust = anchors.load()
    policy = revocation.applied(verify_policy(policy_name))
    positions = load_positions(positions_file) if positions_file is not None else None
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.verify.parties import Parties

    parties = Parties.load(parties_file) if parties_file is not None else None
    at = parse_time(at_text)
    # Per-run limits, checked before anything is verified (a special file counts its read bound).
    # reason: a verb loads its layers when run (ezhifu --help imports no crypto)
    from ezhifu.verify.stream import MAX_STREAM_BYTES

    bound = MAX_STREAM_BYTES if stream or jobs > 1 else STREAM_THRESHOLD
    files = run_inputs(inputs, max_files, max_run_bytes, unknown_size=bound)
    # One object for one named file (today's shape); the list shape as soon as a directory or a
    # second file is involved, so a script over a directory always reads the same structure.
    single = len(inputs) == 1 and len(files) == 1 and not inputs[0].is_dir()

    results = _verify_all(
        files,
        trust=trust,
        policy=policy,
        positions=positions,
        at=at,
        stream=stream,
        jobs=jobs,
        scheduler=scheduler,
        parties=parties,
    )
    sys.exit(
        EXIT_OK if _report(results, single=single, many=len(files) > 1, as_json=as_json) else EXIT_FAILED
    )


def _report(
    results: Iterator[tuple[str, EnvelopeResult]], *, single: bool, many: bool, as_json: bool
) -> bool:
    """Print each result as it comes (a file's details, or its JSON object), keeping only the
    summary rows (file, mark, counts, a shortened reason): whether everything verified."""
    if single or not many:
        name, result = next(results)
        for _extra in results:  # none (one file): ends the run, closing its pool now
            pass
        if not as_json:
            _print_text(name, result)
        elif single:
            echo_json({**result.to_dict(), "file": name})
        else:
            writer = JsonListWriter("files")
            writer.add({"file": name, **result.to_dict()})
            writer.close(valid=result.valid)
        return result.valid
    rows: list[tuple[str, str, str, str]] = []
    listing = JsonListWriter("files") if as_json else None
    for name, result in results:
        rows.extend(summary_rows([(name, result)]))
        if listing is not None:
            listing.add({"file": name, **result.to_dict()})
        elif not result.valid:  # several files: details only where something failed
            _print_text(name, result)
        del result  # only the summary row is kept
    ok = sum(1 for row in rows if row[1] == mark(True))
    if listing is not None:
        listing.close(valid=ok == len(rows))
        return ok == len(rows)
    if ok < len(rows):
        click.echo("")
    print_table(_TABLE_HEADERS, rows)
    click.echo(
        _("{files} files: {ok} verified, {failed} failed").format(
            files=len(rows), ok=ok, failed=len(rows) - ok
        )
    )
    return ok == len(rows)
