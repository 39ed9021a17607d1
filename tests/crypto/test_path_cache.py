"""The certification path cache (ezhifu.pki.path.PATHS, issue 17 item 1).

A path found once is kept by the exact DER of the signer certificate, of the untrusted
candidates and of the trust store, and the policy; every use re-checks each link at the new time.
Each case compares the verdict, the reason and the path with an uncached run, after a good chain
was cached: a cached good chain never makes a different (bad) chain pass, nor a good chain pass
at a time, under a trust store or a policy where it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.pki import path as path_module
from ezhifu.pki.path import PATHS, ChainResult, validate_chain
from ezhifu.pki.policy import VerifyPolicy
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import TestPKI, make_pki


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    PATHS.clear()
    yield
    PATHS.clear()


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2", depth=3)


def _plain(result: ChainResult) -> tuple[bool, str | None, tuple[bytes, ...], bool]:
    return result.trusted, result.reason, tuple(c.dump() for c in result.path), result.pinned


def _uncached(cert: Any, **kwargs: Any) -> ChainResult:
    PATHS.clear()
    result = validate_chain(cert, **kwargs)
    PATHS.clear()
    return result


def _cache_good(pki: TestPKI) -> TrustStore:
    trust = TrustStore(roots=[pki.root_cert])
    extra = [pki.issuing_cert]
    first = validate_chain(pki.leaf_cert, trust=trust, extra_certs=extra)
    assert first.trusted and len(first.path) == 3
    assert len(PATHS._items) == 1  # the good path is cached
    again = validate_chain(pki.leaf_cert, trust=trust, extra_certs=extra)
    assert _plain(again) == _plain(first)
    return trust


def test_a_hit_gives_the_uncached_result(pki: TestPKI) -> None:
    trust = _cache_good(pki)
    calls: list[int] = []
    original = path_module._PathSearch.walk

    def counting(self: Any, path: Any) -> Any:
        calls.append(1)
        return original(self, path)

    path_module._PathSearch.walk = counting  # type: ignore[method-assign]
    try:
        hit = validate_chain(pki.leaf_cert, trust=trust, extra_certs=[pki.issuing_cert])
    finally:
        path_module._PathSearch.walk = original  # type: ignore[method-assign]
    assert calls == []  # no search: the cached path was re-checked
    assert _plain(hit) == _plain(_uncached(pki.leaf_cert, trust=trust, extra_certs=[pki.issuing_cert]))


def test_a_lookalike_chain_does_not_pass_after_a_good_one_was_cached(pki: TestPKI) -> None:
    """Same names, other keys: the bad leaf's DER differs, so it is a different key and is
    searched (and refused) as if nothing were cached."""
    trust = _cache_good(pki)
    lookalike = make_pki("sm2", depth=3)  # the same subject names, other keys
    assert lookalike.leaf_cert.subject.dump() == pki.leaf_cert.subject.dump()
    for extra in ([lookalike.issuing_cert], [pki.issuing_cert], [pki.issuing_cert, lookalike.issuing_cert]):
        got = validate_chain(lookalike.leaf_cert, trust=trust, extra_certs=extra)
        assert not got.trusted
        assert _plain(got) == _plain(_uncached(lookalike.leaf_cert, trust=trust, extra_certs=extra))


def test_a_good_leaf_with_a_forged_intermediate_fails(pki: TestPKI) -> None:
    """The good leaf presented with a look-alike intermediate only: not the cached key."""
    trust = _cache_good(pki)
    lookalike = make_pki("sm2", depth=3)
    got = validate_chain(pki.leaf_cert, trust=trust, extra_certs=[lookalike.issuing_cert])
    assert not got.trusted and got.reason
    assert _plain(got) == _plain(_uncached(pki.leaf_cert, trust=trust, extra_certs=[lookalike.issuing_cert]))


def test_time_checks_run_on_every_hit(pki: TestPKI) -> None:
    trust = _cache_good(pki)
    extra = [pki.issuing_cert]
    for at in (datetime.now(UTC) + timedelta(days=400), datetime(2000, 1, 1, tzinfo=UTC)):
        got = validate_chain(pki.leaf_cert, trust=trust, extra_certs=extra, at=at)
        assert not got.trusted
        assert _plain(got) == _plain(_uncached(pki.leaf_cert, trust=trust, extra_certs=extra, at=at))


def test_an_expired_intermediate_is_found_on_a_hit(pki: TestPKI) -> None:
    """A leaf that outlives its CA: valid at the later time, but the replayed link check of its
    issuer refuses, exactly as an uncached search does."""
    trust = TrustStore(roots=[pki.root_cert])
    ca_end = pki.issuing_cert["tbs_certificate"]["validity"]["not_after"].native
    leaf, _key = pki.issue_leaf("long-lived signer", not_after=ca_end + timedelta(days=400))
    assert validate_chain(leaf, trust=trust, extra_certs=[pki.issuing_cert]).trusted
    assert len(PATHS._items) == 1
    at = ca_end + timedelta(days=10)
    got = validate_chain(leaf, trust=trust, extra_certs=[pki.issuing_cert], at=at)
    assert not got.trusted and "issuer" in (got.reason or "")
    assert _plain(got) == _plain(_uncached(leaf, trust=trust, extra_certs=[pki.issuing_cert], at=at))


def test_another_trust_store_or_policy_is_another_key(pki: TestPKI) -> None:
    _cache_good(pki)
    other = TrustStore(roots=[make_pki("sm2").root_cert])
    got = validate_chain(pki.leaf_cert, trust=other, extra_certs=[pki.issuing_cert])
    assert not got.trusted
    assert _plain(got) == _plain(_uncached(pki.leaf_cert, trust=other, extra_certs=[pki.issuing_cert]))
    trust = TrustStore(roots=[pki.root_cert])
    strict = replace(VerifyPolicy(), allowed_digests=frozenset({"sha256"}))  # SM3 not allowed
    got = validate_chain(pki.leaf_cert, trust=trust, extra_certs=[pki.issuing_cert], policy=strict)
    assert not got.trusted
    uncached = _uncached(pki.leaf_cert, trust=trust, extra_certs=[pki.issuing_cert], policy=strict)
    assert _plain(got) == _plain(uncached)


def test_the_cache_is_bounded(pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PATHS, "_size", 2)
    trust = TrustStore(roots=[pki.root_cert])
    for i in range(4):
        cert, _key = pki.issue_leaf(f"signer {i}")
        assert validate_chain(cert, trust=trust, extra_certs=[pki.issuing_cert]).trusted
    assert len(PATHS._items) == 2


# --- the known-good fast path (PATHS.trusted): only the validity periods are re-checked ---------


def _counting_signer_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = path_module.signer_refusal

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(path_module, "signer_refusal", counting)
    return calls


def test_a_known_good_path_skips_the_checks_that_do_not_depend_on_time(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust = _cache_good(pki)  # every check passed when the path was kept
    calls = _counting_signer_checks(monkeypatch)
    hit = validate_chain(pki.leaf_cert, trust=trust, extra_certs=[pki.issuing_cert])
    assert calls == []  # neither the signer checks nor a replay of the links ran
    monkeypatch.undo()
    assert _plain(hit) == _plain(_uncached(pki.leaf_cert, trust=trust, extra_certs=[pki.issuing_cert]))
    assert hit.path[1] is pki.issuing_cert  # this call's objects, not the first input's


def test_a_purpose_that_never_passed_runs_every_check(pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The signer purpose passed; the TSA purpose (another extended key usage) was never checked
    for these bytes, so it runs the signer checks and refuses as an uncached run does."""
    leaf, _key = pki.issue_leaf("signer with an EKU", extended_key_usage=("1.3.6.1.5.5.7.3.4",))
    trust = TrustStore(roots=[pki.root_cert])
    extra = [pki.issuing_cert]
    assert validate_chain(leaf, trust=trust, extra_certs=extra).trusted
    calls = _counting_signer_checks(monkeypatch)
    got = validate_chain(leaf, trust=trust, extra_certs=extra, purpose="tsa")
    assert calls == [1]
    monkeypatch.undo()
    assert not got.trusted and "extended key usage" in (got.reason or "")
    assert _plain(got) == _plain(_uncached(leaf, trust=trust, extra_certs=extra, purpose="tsa"))


def test_a_pinned_signer_is_never_served_from_the_fast_path(pki: TestPKI) -> None:
    """Pinned certificates are not part of the key: a store that pins the leaf answers "pinned"
    (as an uncached run does) even after the same roots cached a path for it."""
    trust = _cache_good(pki)
    pinning = TrustStore(roots=trust.roots, pinned=[pki.leaf_cert])
    policy = VerifyPolicy(allow_pinned=True)
    validate_chain(pki.leaf_cert, trust=pinning, extra_certs=[pki.issuing_cert], policy=policy)
    got = validate_chain(pki.leaf_cert, trust=pinning, extra_certs=[pki.issuing_cert], policy=policy)
    assert got.pinned
    uncached = _uncached(pki.leaf_cert, trust=pinning, extra_certs=[pki.issuing_cert], policy=policy)
    assert _plain(got) == _plain(uncached)


_DAY = timedelta(days=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offset_hours=st.integers(min_value=-48, max_value=48),
    edge=st.sampled_from(["leaf-start", "leaf-end", "ca-end", "root-end"]),
    skew_minutes=st.sampled_from([0, 5, 90, 60 * 30]),
)
def test_every_time_gives_the_uncached_verdict(
    pki: TestPKI, offset_hours: int, edge: str, skew_minutes: int
) -> None:
    """Around each edge of the four validity periods, with several clock skews: the fast path
    (a good path kept at another time) answers exactly what an uncached run answers."""
    ca_end = pki.issuing_cert["tbs_certificate"]["validity"]["not_after"].native
    leaf, _key = pki.issue_leaf("edge signer", not_after=ca_end + 3 * _DAY)
    trust = TrustStore(roots=[pki.root_cert])
    extra = [pki.issuing_cert]
    policy = VerifyPolicy(clock_skew=timedelta(minutes=skew_minutes))
    moments = {
        "leaf-start": leaf.not_valid_before,
        "leaf-end": leaf.not_valid_after,
        "ca-end": ca_end,
        "root-end": pki.root_cert.not_valid_after,
    }
    at = moments[edge] + timedelta(hours=offset_hours)
    uncached = _uncached(leaf, trust=trust, extra_certs=extra, policy=policy, at=at)
    now = leaf.not_valid_before + _DAY
    assert validate_chain(leaf, trust=trust, extra_certs=extra, policy=policy, at=now).trusted  # kept
    got = validate_chain(leaf, trust=trust, extra_certs=extra, policy=policy, at=at)
    assert _plain(got) == _plain(uncached)
