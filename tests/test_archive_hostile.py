"""Hostile package zips: each refused with its named error before anything in it is used."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.archive.check import check_package
from ezhifu.archive.check_content import metadata_items
from ezhifu.archive.container import build_zip
from ezhifu.archive.metadata_xml import metadata_issues
from ezhifu.archive.reader import ZipLimits, check_member_name, read_members
from ezhifu.errors import (
    ArchiveDuplicateMember,
    ArchiveError,
    ArchiveFormatError,
    ArchivePathRefused,
    ArchiveTooLarge,
    HostileInputError,
    MetadataError,
    UnsafeArchive,
)
from test_archive_support import raw_zip


def test_the_errors_are_hostile_input_errors() -> None:
    for kind in (ArchiveTooLarge, ArchivePathRefused, ArchiveDuplicateMember):
        assert issubclass(kind, UnsafeArchive) and issubclass(kind, HostileInputError)
        assert issubclass(kind, ArchiveError)


def test_a_zip_bomb_is_refused_while_inflating() -> None:
    bomb = raw_zip([("content/envelope.xml", b"\0" * (8 << 20))])
    assert len(bomb) < 64 << 10  # tiny on disk
    with pytest.raises(ArchiveTooLarge, match=r"ratio|inflates"):
        read_members(bomb)
    with pytest.raises(ArchiveTooLarge, match="declares"):
        read_members(bomb, ZipLimits(max_member_bytes=1 << 20))


def test_a_lying_declared_size_is_caught_while_inflating() -> None:
    data = bytearray(raw_zip([("a.txt", b"A" * 100_000)], compression=zipfile.ZIP_DEFLATED))
    # rewrite the uncompressed size in the central directory to 10 bytes
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises((ArchiveTooLarge, ArchiveFormatError)):
        read_members(bytes(data), ZipLimits(max_member_bytes=1000, max_total_bytes=1000))


def test_too_many_members_and_too_much_in_total() -> None:
    many = raw_zip([(f"f{i}.txt", b"x") for i in range(11)])
    with pytest.raises(ArchiveTooLarge, match="members exceed"):
        read_members(many, ZipLimits(max_members=10))
    big = raw_zip([("a", b"1" * 600), ("b", b"2" * 600)])
    with pytest.raises(ArchiveTooLarge, match="declare"):
        read_members(big, ZipLimits(max_total_bytes=1000))
    with pytest.raises(ArchiveTooLarge, match="package of"):
        read_members(big, ZipLimits(max_package_bytes=100))


@pytest.mark.parametrize(
    "name",
    [
        "../evil.xml",
        "content/../../evil.xml",
        "/etc/passwd",
        "C:/windows/evil",
        "content\\evil.xml",
        "content//envelope.xml",
        "./manifest.json",
        "content/\x00.xml",
        "a" * 300,
        "",
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ArchivePathRefused):
        check_member_name(name)
    if name:
        with pytest.raises(ArchivePathRefused):
            read_members(raw_zip([(name, b"x")]))


def test_directories_symlinks_and_encrypted_members_are_refused() -> None:
    with pytest.raises(ArchivePathRefused, match=r"segment|directory"):
        read_members(raw_zip([("content/", b"")]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ArchivePathRefused, match="symbolic link"):
        read_members(buffer.getvalue())
    data = bytearray(raw_zip([("secret.xml", b"x")], compression=zipfile.ZIP_STORED))
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x01  # the "encrypted" flag
    with pytest.raises(ArchivePathRefused, match="encrypted"):
        read_members(bytes(data))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("manifest.json", "manifest.json"),
        ("content/Envelope.xml", "content/envelope.xml"),
        ("é.txt", "e\u0301.txt"),
    ],
)
def test_duplicate_names_are_refused(first: str, second: str) -> None:
    with pytest.warns(UserWarning) if first == second else _nothing():
        data = raw_zip([(first, b"1"), (second, b"2")])
    with pytest.raises(ArchiveDuplicateMember):
        read_members(data)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_bytes_that_are_not_a_zip() -> None:
    for data in (b"", b"PK\x03\x04 truncated", b"<MOF/>"):
        with pytest.raises(ArchiveFormatError):
            read_members(data)


def test_a_corrupted_member_is_a_format_error() -> None:
    data = bytearray(raw_zip([("a.txt", b"hello world " * 100)], compression=zipfile.ZIP_STORED))
    data[40] ^= 0xFF  # inside the stored content: the CRC no longer matches
    with pytest.raises(ArchiveFormatError, match="cannot be read"):
        read_members(bytes(data))


def test_build_zip_refuses_what_the_reader_would_refuse() -> None:
    with pytest.raises(ArchivePathRefused):
        build_zip({"../x": b""})
    assert read_members(build_zip({"b": b"2", "a": b"1"})) == {"a": b"1", "b": b"2"}
    assert build_zip({"a": b"1"}) == build_zip({"a": b"1"})  # deterministic


def test_a_zip_without_a_manifest_fails_the_check_item_by_item() -> None:
    report = check_package(build_zip({"content/envelope.xml": b"<MOF/>"}))
    assert not report.ok
    assert {"manifest-readable", "manifest-signature"} <= {i.name for i in report.failed}


@pytest.mark.parametrize(
    "manifest",
    [
        b"not json",
        b"[]",
        b'{"format":"ezhifu-archive/1"}',
        b'{"format":"other/9","package":"","created":"","vouchers":[],"files":{}}',
        b'{"a":1.5}',
        b"[" * 10_000 + b"]" * 10_000,
    ],
)
def test_a_bad_manifest_fails_manifest_readable(manifest: bytes) -> None:
    report = check_package(build_zip({"manifest.json": manifest}))
    assert report.item("manifest-readable").outcome == "fail"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash_the_check(data: bytes) -> None:
    with contextlib.suppress(ArchiveError):
        check_package(data)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "manifest.json",
                "manifest.p7s",
                "content/envelope.xml",
                "metadata/dat95.xml",
                "evidence/verification.json",
            ]
        ),
        st.binary(max_size=300),
        max_size=5,
    )
)
def test_arbitrary_members_never_crash_the_check(members: dict[str, bytes]) -> None:
    report = check_package(build_zip(members))
    assert not report.ok


def test_hostile_metadata_is_refused_by_the_hardened_parser() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxx">]><DAT95Metadata>&x;</DAT95Metadata>'
    with pytest.raises(MetadataError, match=r"DOCTYPE|entity"):
        metadata_issues(bomb)
    items = {i.name: i for i in metadata_items({"metadata/dat95.xml": bomb}, {"package": "p"}, {})}
    assert items["metadata-schema"].outcome == "fail" and "DOCTYPE" in items["metadata-schema"].reason
