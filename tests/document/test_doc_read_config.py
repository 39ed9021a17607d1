"""_fileio.read_config: the one reader of configuration files (position tables …)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ezhifu._fileio import MAX_CONFIG_BYTES, read_config
from ezhifu.errors import ConfigFileRefused, ConfigurationError

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and FIFOs are POSIX")


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_reads_toml_and_json(tmp_path: Path) -> None:
    toml = _write(tmp_path / "a.toml", '[positions."5201".cz_dwfz]\nkind = "signature"\n')
    assert read_config(toml) == {"positions": {"5201": {"cz_dwfz": {"kind": "signature"}}}}
    js = _write(tmp_path / "a.json", '{"5201": ["cz_dwfz"]}')
    assert read_config(js) == {"5201": ["cz_dwfz"]}


@posix_only
@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666, 0o777])
def test_refuses_group_or_other_writable(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "p.toml", "a = 1\n", mode)
    with pytest.raises(ConfigFileRefused, match="writable by group or others") as info:
        read_config(path, what="the position table")
    assert str(path) in str(info.value) and "chmod go-w" in str(info.value)


@posix_only
def test_readable_by_others_is_fine(tmp_path: Path) -> None:
    assert read_config(_write(tmp_path / "p.toml", "a = 1\n", 0o644)) == {"a": 1}


def test_refuses_oversize_before_parsing(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.toml", "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigFileRefused, match="larger than"):
        read_config(path)
    small = _write(tmp_path / "small.toml", "a = 1\n" * 10)
    with pytest.raises(ConfigurationError, match="larger than 10 bytes"):
        read_config(small, max_bytes=10)


@posix_only
def test_refuses_fifo_directory_and_socket_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ConfigFileRefused, match="not a regular file"):
        read_config(fifo)  # would block forever if it waited for a writer
    with pytest.raises(ConfigurationError):
        read_config(tmp_path)
    with pytest.raises(ConfigFileRefused, match="not a regular file"):
        read_config("/dev/null")
    sock_path = tmp_path / "s.toml"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(ConfigurationError):
            read_config(sock_path)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.toml", "a = = 1\n", "not valid TOML"),
        ("bad.json", "{", "not valid JSON"),
        ("list.json", "[1, 2]", "must be a table"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ("gbk.toml", "", "not valid TOML"),
    ],
)
def test_parse_errors_name_the_file(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = tmp_path / name
    if name == "gbk.toml":
        path.write_bytes('a = "中文"\n'.encode("gbk"))
        path.chmod(0o600)
    else:
        _write(path, text)
    with pytest.raises(ConfigurationError, match=match) as info:
        read_config(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the position table"):
        read_config(tmp_path / "nope.toml", what="the position table")


@posix_only
def test_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    target = _write(tmp_path / "real.toml", "a = 2\n")
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    assert read_config(link) == {"a": 2}
