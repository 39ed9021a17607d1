"""Which SM2 implementation runs: OpenSSL (ctypes) when it loads and passes its self-test,
else pure Python; ``EZHIFU_SM2_PROVIDER`` or :func:`use_provider` forces one.

See :mod:`ezhifu.crypto.sm2` for the two providers and what each guarantees.
"""

from __future__ import annotations

import os
import threading

from ezhifu.crypto.sm2.curve import Provider, ProviderName
from ezhifu.crypto.sm2.openssl import load_provider
from ezhifu.errors import ConfigurationError, ProviderUnavailable

__all__ = ["ENV_PROVIDER", "active_provider", "available_providers", "current", "use_provider"]


#: Environment variable that forces a provider: ``openssl``, ``python`` or ``auto``.
ENV_PROVIDER = "EZHIFU_SM2_PROVIDER"

_state_lock = threading.RLock()
_provider: Provider | None = None
_python_provider: Provider | None = None
_openssl_error: str | None = None


def _python() -> Provider:
    global _python_provider
    with _state_lock:
        if _python_provider is None:
            # why: the pure-Python provider's tables load only when it is chosen or OpenSSL lacks SM2
            from ezhifu.crypto.sm2.python import PythonProvider

            _python_provider = PythonProvider()
        return _python_provider


def _openssl() -> Provider:
    """Load the OpenSSL provider or raise :class:`ProviderUnavailable` (remembered)."""
    global _openssl_error
    with _state_lock:
        if _openssl_error is not None:
            raise ProviderUnavailable(f"SM2 provider 'openssl' is unavailable: {_openssl_error}")
        try:
            return load_provider()
        except ProviderUnavailable as exc:
            _openssl_error = str(exc)
        except Exception as exc:  # an unexpected ctypes/loader failure must not break "auto"
            _openssl_error = f"{type(exc).__name__} while loading: {exc}"
        raise ProviderUnavailable(f"SM2 provider 'openssl' is unavailable: {_openssl_error}")


def _resolve(choice: str, origin: str) -> Provider:
    key = choice.strip().lower()
    if key == "python":
        return _python()
    if key == "openssl":
        return _openssl()
    if key in ("", "auto"):
        try:
            return _openssl()
        except ProviderUnavailable as exc:
            # why: logging (~3 ms of every start) loads only when OpenSSL's SM2 is missing
            import logging

            log = logging.getLogger("ezhifu.crypto.sm2")
            log.info("SM2: falling back to the pure-Python provider: %s", exc)
            return _python()
    raise ConfigurationError(f"{origin}: unknown SM2 provider {choice!r}; use 'openssl', 'python' or 'auto'")


def current() -> Provider:
    global _provider
    provider = _provider
    if provider is not None:
        return provider
    with _state_lock:
        if _provider is None:
            _provider = _resolve(os.environ.get(ENV_PROVIDER, "auto"), f"environment variable {ENV_PROVIDER}")
        return _provider


def use_provider(name: str) -> None:
    """Force the SM2 provider for this process: ``"openssl"``, ``"python"`` or ``"auto"``.

    ``"auto"`` re-runs the default choice (OpenSSL if usable, otherwise Python) and ignores
    :data:`ENV_PROVIDER`. Raises :class:`ProviderUnavailable` when ``"openssl"`` cannot be
    used (the reason is in the message) and :class:`~ezhifu.errors.ConfigurationError` for an
    unknown name.
    """
    global _provider, _openssl_error
    if not isinstance(name, str):
        raise ConfigurationError(f"use_provider: provider name must be a string, got {type(name).__name__}")
    with _state_lock:
        if name.strip().lower() == "auto":
            _openssl_error = None  # let auto retry a provider that failed earlier
        _provider = _resolve(name, "use_provider")


def active_provider() -> ProviderName:
    """Name of the provider SM2 operations use now (resolving the default on first call)."""
    return current().name


def available_providers() -> dict[str, str | None]:
    """``{"openssl": None or why it is unusable, "python": None}``."""
    try:
        _openssl()
        reason: str | None = None
    except ProviderUnavailable as exc:
        reason = str(exc)
    return {"openssl": reason, "python": None}


def _reset_for_tests() -> None:
    """Forget the chosen provider and any OpenSSL load failure (test helper)."""
    global _provider, _openssl_error
    with _state_lock:
        _provider = None
        _openssl_error = None
