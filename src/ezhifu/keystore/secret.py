"""Secrets in keystore configurations: inline, from an environment variable or from a file."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ezhifu.errors import ConfigurationError

__all__ = ["secret_from_config"]


def secret_from_config(config: Mapping[str, Any], name: str) -> str | None:
    """A secret given as ``name``, ``name_env`` (environment variable) or ``name_file``.

    At most one of the three may be present. The value is never echoed in an error.
    """
    given = [k for k in (name, f"{name}_env", f"{name}_file") if config.get(k) is not None]
    if len(given) > 1:
        raise ConfigurationError(f"keystore: give only one of {', '.join(given)}")
    if not given:
        return None
    key = given[0]
    value = config[key]
    if not isinstance(value, str):
        raise ConfigurationError(f"keystore: {key!r} must be a string")
    if key == name:
        return value
    if key.endswith("_env"):
        secret = os.environ.get(value)
        if secret is None:
            raise ConfigurationError(f"keystore: environment variable {value!r} (from {key!r}) is not set")
        return secret
    path = Path(value)
    try:
        mode = path.stat().st_mode
        # Like ssh with private keys: a secret file others can read is refused, not used
        # (security review OPS-1). POSIX only; Windows has no such mode bits.
        if os.name == "posix" and mode & 0o077:
            raise ConfigurationError(
                f"keystore: {key!r} file {value} is readable by others (mode {stat.S_IMODE(mode):o}); "
                "restrict it with chmod 600"
            )
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigurationError(f"keystore: cannot read {key!r} file {value}: {exc.strerror}") from exc
