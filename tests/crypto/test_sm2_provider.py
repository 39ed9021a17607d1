"""SM2 provider selection: environment variable, use_provider, fallback, the signing warning."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator

import pytest

from ezhifu.crypto import sm2
from ezhifu.crypto.sm2 import openssl as _sm2_openssl
from ezhifu.crypto.sm2 import python as _sm2_python
from ezhifu.errors import ConfigurationError


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget the chosen provider before and after the test (the env var is cleared)."""
    previous = sm2.active_provider()
    monkeypatch.delenv(sm2.ENV_PROVIDER, raising=False)
    sm2._reset_for_tests()
    yield
    monkeypatch.undo()
    sm2._reset_for_tests()
    sm2.use_provider(previous)


def _run(code: str, provider: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != sm2.ENV_PROVIDER}
    if provider is not None:
        env[sm2.ENV_PROVIDER] = provider
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("value", "expected"), [("python", "python"), ("openssl", "openssl"), (None, "openssl")]
)
def test_environment_variable_selects_provider(value: str | None, expected: str) -> None:
    code = (
        "from ezhifu.crypto import sm2\n"
        "k = sm2.SM2PrivateKey.generate()\n"
        "k.public_key().verify(k.sign(b'x'), b'x')\n"
        "print(sm2.active_provider())\n"
    )
    result = _run(code, value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_environment_variable_unknown_value_is_a_configuration_error() -> None:
    code = (
        "from ezhifu.crypto import sm2\n"
        "from ezhifu.errors import ConfigurationError\n"
        "try:\n"
        "    sm2.active_provider()\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    result = _run(code, "bogus")
    assert result.returncode == 0, result.stderr
    assert "EZHIFU_SM2_PROVIDER" in result.stdout and "'bogus'" in result.stdout


def test_use_provider_switches(fresh_state: None) -> None:
    sm2.use_provider("python")
    assert sm2.active_provider() == "python"
    sm2.use_provider("openssl")
    assert sm2.active_provider() == "openssl"
    sm2.use_provider("auto")
    assert sm2.active_provider() == "openssl"
    with pytest.raises(ConfigurationError, match="unknown SM2 provider 'gmssl'"):
        sm2.use_provider("gmssl")
    assert sm2.available_providers() == {"openssl": None, "python": None}


def test_key_objects_work_across_a_provider_switch(fresh_state: None) -> None:
    """Handles are cached per provider on the key, so switching never reuses a foreign handle."""
    sm2.use_provider("openssl")
    key = sm2.SM2PrivateKey.generate()
    first = key.sign(b"m")
    sm2.use_provider("python")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _sm2_python.NonConstantTimeWarning)
        second = key.sign(b"m")
    key.public_key().verify(first, b"m")
    sm2.use_provider("openssl")
    key.public_key().verify(second, b"m")


def test_fallback_when_libcrypto_is_unusable(fresh_state: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_loader() -> _sm2_openssl._Lib:
        raise sm2.ProviderUnavailable("simulated: libcrypto lacks SM2")

    monkeypatch.setattr(_sm2_openssl, "_loaded", None)
    monkeypatch.setattr(_sm2_openssl, "_load_lib", broken_loader)
    assert sm2.active_provider() == "python"  # auto mode falls back cleanly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _sm2_python.NonConstantTimeWarning)
        key = sm2.SM2PrivateKey.generate()
        key.public_key().verify(key.sign(b"m"), b"m")
    reason = sm2.available_providers()["openssl"]
    assert reason is not None and "simulated: libcrypto lacks SM2" in reason
    with pytest.raises(sm2.ProviderUnavailable, match="'openssl' is unavailable: simulated"):
        sm2.use_provider("openssl")
    assert sm2.active_provider() == "python"


def test_fallback_when_self_test_fails(fresh_state: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A libcrypto that loads but computes wrong answers is not used (here: it ignores the ID)."""
    real_verify = _sm2_openssl.OpenSSLProvider.verify

    def ignores_id(self: _sm2_openssl.OpenSSLProvider, handle: object, message: bytes, uid: bytes,
                   r: int, s: int, der: bytes) -> bool:  # fmt: skip
        return real_verify(self, handle, message, b"1234567812345678", r, s, der)

    monkeypatch.setattr(_sm2_openssl, "_loaded", None)
    monkeypatch.setattr(_sm2_openssl.OpenSSLProvider, "verify", ignores_id)
    assert sm2.active_provider() == "python"
    reason = sm2.available_providers()["openssl"]
    assert reason is not None and "distinguishing ID is ignored" in reason


def test_python_provider_warns_once_when_signing(fresh_state: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sm2_python, "_warned", False)
    sm2.use_provider("python")
    key = sm2.SM2PrivateKey.generate()
    with pytest.warns(_sm2_python.NonConstantTimeWarning, match="not constant-time"):
        key.sign(b"m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        key.sign(b"m")  # second time: silent
        key.public_key().verify(key.sign(b"n"), b"n")  # verifying never warns


def test_openssl_provider_reports_its_library() -> None:
    provider = _sm2_openssl.load_provider()
    assert provider.version.startswith("OpenSSL 3.")
    assert "libcrypto" in provider._lib.path


def test_unexpected_loader_error_also_falls_back(fresh_state: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashing_loader() -> _sm2_openssl._Lib:
        raise OSError("simulated: cannot map libcrypto")

    monkeypatch.setattr(_sm2_openssl, "_loaded", None)
    monkeypatch.setattr(_sm2_openssl, "_load_lib", crashing_loader)
    assert sm2.active_provider() == "python"
    reason = sm2.available_providers()["openssl"]
    assert reason is not None and "OSError while loading: simulated" in reason


def test_deterministic_signing_warns_even_with_openssl(
    fresh_state: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deterministic=True always runs the Python arithmetic, so it carries the same warning."""
    monkeypatch.setattr(_sm2_python, "_warned", False)
    sm2.use_provider("openssl")
    key = sm2.SM2PrivateKey.generate()
    with pytest.warns(_sm2_python.NonConstantTimeWarning, match="not constant-time"):
        signature = key.sign(b"m", deterministic=True)
    key.public_key().verify(signature, b"m")


def test_concurrent_use_of_one_key(fresh_state: None) -> None:
    """One key object signed and verified from several threads (shared cached EVP_PKEY)."""
    from concurrent.futures import ThreadPoolExecutor

    sm2.use_provider("openssl")
    key = sm2.SM2PrivateKey.generate()
    public = sm2.SM2PublicKey.from_encoded_point(key.public_key().encoded_point)

    def work(index: int) -> int:
        for j in range(25):
            message = b"%d-%d" % (index, j)
            public.verify(key.sign(message, uid=b"thread-%d" % index), message, uid=b"thread-%d" % index)
        return index

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(work, range(8))) == list(range(8))
