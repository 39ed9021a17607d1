"""The public API other code relies on (issue 2 and 3 "Minimum public API", docs/architecture.md).

These names are a contract: renaming one breaks integrators, so a test pins them.
"""

from __future__ import annotations

import inspect

import pytest

import ezhifu
from ezhifu import errors


def test_every_lazy_export_resolves() -> None:
    for name in ezhifu.__all__:
        assert getattr(ezhifu, name) is not None, name


def test_issue2_minimum_api_round_trip() -> None:
    from ezhifu.pki.keys import generate_private_key, load_certificate, load_private_key
    from ezhifu.pki.signer import SoftwareSigner, verify_signature

    assert list(inspect.signature(load_private_key).parameters)[:2] == ["data", "password"]
    assert inspect.signature(load_private_key).parameters["password"].default is None
    for kind in ("sm2", "rsa2048", "p256"):
        key = generate_private_key(kind)
        signer = SoftwareSigner(key, certificate=None)
        signature = signer.sign(b"voucher text")
        public = key.public_key()
        assert verify_signature(public, b"voucher text", signature) is None
        with pytest.raises(errors.InvalidSignature):
            verify_signature(public, b"voucher text!", signature)
    with pytest.raises(errors.EzhifuError):
        load_certificate(b"not a certificate")


def test_issue3_minimum_api_round_trip() -> None:
    from ezhifu.document.samples import sample_voucher

    envelope = ezhifu.Envelope.build([sample_voucher("5201", details=2)])
    data = envelope.to_bytes()
    again = ezhifu.Envelope.from_bytes(data)
    body = again.bodies[0]
    assert body.vt_code == "5201"
    assert body.voucher_no == envelope.bodies[0].voucher_no
    assert body.voucher_b64 == envelope.bodies[0].voucher_b64
    assert body.voucher == envelope.bodies[0].voucher
    assert again.to_bytes() == data
    assert ezhifu.is_valid(data)
    assert list(ezhifu.iter_errors(data)) == []
    ezhifu.validate(data)
    assert "schema_version" in inspect.signature(ezhifu.validate).parameters


def test_one_exception_root() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, errors.EzhifuError), name
