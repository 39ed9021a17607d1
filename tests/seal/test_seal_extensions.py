"""Issue 13 item 5: an unknown critical extension in a seal makes it invalid (any container)."""

from __future__ import annotations

import dataclasses

import pytest
from seal_helpers import SealWorld

from ezhifu.pki.trust import VerifyPolicy
from ezhifu.seal.checks import Steps, critical_extension_refusal
from ezhifu.seal.containers import detect_container
from ezhifu.seal.model import SealExtension
from ezhifu.seal.verify import _seal_steps


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_unknown_critical_extension_invalidates_the_seal(world: SealWorld, version: str) -> None:
    raw = world.seal(version)
    seal = detect_container(raw, what="seal").parse_seal(raw)
    assert critical_extension_refusal(seal) is None
    quiet = dataclasses.replace(seal, extensions=(SealExtension("1.2.3.4", False, b"\x05\x00"),))
    assert critical_extension_refusal(quiet) is None  # a non-critical one may be ignored
    loud = dataclasses.replace(seal, extensions=(SealExtension("1.2.3.4", True, b"\x05\x00"),))
    assert critical_extension_refusal(loud) == (
        f"seal {seal.seal_id} carries unknown critical extension(s) 1.2.3.4"
    )
    steps = Steps()
    _seal_steps(steps, loud, trust=world.trust, policy=VerifyPolicy(), chain_at=world.now)
    assert ("seal-header", "seal " + seal.seal_id + " carries unknown critical extension(s) 1.2.3.4") in (
        steps.failures
    )
