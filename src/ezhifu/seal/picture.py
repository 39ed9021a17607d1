"""Seal pictures (``SES_ESPictrueInfo``): sniffing, validation and export for display.

GM/T 0031-2014 clause 6.1.1 lists "GIF、BMP、JPG" as examples of ``type``; GM/T 0031-2025 widens
the list to PNG and SVG, and ofdrw's renderers also draw ``"ofd"`` pictures (a whole OFD package
holding a vector seal). ``type`` is compared case-insensitively and the data is identified by its
magic bytes, never trusted from the declared type alone.

An exported SVG is returned as is; callers that show it in a web page must embed it as an image
(``<img src="data:image/svg+xml;base64,...">``), where scripts do not run, never inline it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ezhifu.errors import PictureError
from ezhifu.results import SealImage

if TYPE_CHECKING:
    from ezhifu.seal.model import Seal

__all__ = [
    "MAX_PICTURE_BYTES",
    "PICTURE_TYPES",
    "PictureError",
    "SealImage",
    "canonical_type",
    "export_picture",
    "is_markup",
    "sniff_picture",
    "validate_picture",
]

#: Upper bound on a seal picture (a 42 mm seal at 600 dpi is well below this).
MAX_PICTURE_BYTES = 2 * 1024 * 1024

#: Canonical type name -> (MIME type, file extension).
PICTURE_TYPES: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "JPG": ("image/jpeg", "jpg"),
    "BMP": ("image/bmp", "bmp"),
    "SVG": ("image/svg+xml", "svg"),
    "OFD": ("application/ofd", "ofd"),
}

_ALIASES = {"JPEG": "JPG"}


#: An ``<svg`` start tag, with or without a namespace prefix (``<s:svg``), in any case.
_SVG_TAG = re.compile(rb"<(?:[A-Za-z_][-\w.]*:)?svg[\s/>]", re.IGNORECASE)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _as_ascii_markup(data: bytes) -> bytes:
    """``data`` with a UTF-16 text re-encoded (browsers read UTF-16 SVG), BOM and leading white
    space removed."""
    if data.startswith(_UTF16_BOMS):
        data = data.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")


def is_markup(data: bytes) -> bool:
    """Whether ``data`` is text markup (XML, SVG, HTML): it starts with ``<`` once a byte-order
    mark and white space are skipped. Such a picture is active content when opened alone."""
    return _as_ascii_markup(data[:4096]).startswith(b"<")


def _looks_like_svg(data: bytes) -> bool:
    # Anything before the <svg> tag (an XML declaration, a comment of any length, a DOCTYPE, a
    # processing instruction) still makes an SVG document: issue 14 finding 6 was a leading
    # comment that hid the picture's type from ``seal show --image-out``.
    return is_markup(data) and _SVG_TAG.search(_as_ascii_markup(data)) is not None


def sniff_picture(data: bytes) -> str | None:
    """The canonical type name of ``data`` from its magic bytes, or ``None`` if unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPG"
    if data.startswith(b"BM") and len(data) >= 26:
        return "BMP"
    if data.startswith(b"PK\x03\x04"):
        return "OFD"
    if _looks_like_svg(data):
        return "SVG"
    return None


def canonical_type(declared: str) -> str:
    """Upper-case a declared picture type and map aliases (``jpeg`` -> ``JPG``)."""
    upper = declared.strip().upper()
    return _ALIASES.get(upper, upper)


def validate_picture(data: bytes, declared: str | None = None) -> str:
    """Check that ``data`` is a supported picture (and of the ``declared`` type); return its type.

    Raises :class:`PictureError` when the data is empty, larger than :data:`MAX_PICTURE_BYTES`,
    of no supported type, or of a type other than the one declared.
    """
    if not data:
        raise PictureError("seal picture is empty")
    if len(data) > MAX_PICTURE_BYTES:
        raise PictureError(f"seal picture is {len(data)} bytes; the limit is {MAX_PICTURE_BYTES}")
    found = sniff_picture(data)
    if found is None:
        raise PictureError(
            f"seal picture is not a PNG, GIF, JPG, BMP, SVG or OFD file (starts with {data[:8].hex()})"
        )
    if declared is not None:
        wanted = canonical_type(declared)
        if wanted not in PICTURE_TYPES:
            raise PictureError(f"seal picture type {declared!r} is not one of {', '.join(PICTURE_TYPES)}")
        if wanted != found:
            raise PictureError(f"seal picture declared as {wanted} but its bytes are {found}")
    return found


def export_picture(seal: Seal) -> SealImage:
    """The picture of a parsed seal, identified by its bytes, for saving or showing.

    The type comes from the magic bytes; when they are not recognised the declared type is used
    if it is a known one, otherwise :class:`PictureError` is raised.
    """
    picture = seal.picture
    found = sniff_picture(picture.data)
    if found is None:
        declared = canonical_type(picture.type)
        if declared not in PICTURE_TYPES:
            raise PictureError(f"seal {seal.seal_id}: picture of unknown type {picture.type!r}")
        found = declared
    mime, extension = PICTURE_TYPES[found]
    return SealImage(found, mime, extension, picture.data, picture.width_mm, picture.height_mm)
