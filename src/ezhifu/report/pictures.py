"""Seal pictures for the HTML view (:mod:`ezhifu.report.html`): read from a ``<SignStamp>``'s
seal and embedded as ``data:`` URIs only after their magic bytes name an image type.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from ezhifu.errors import PictureError

if TYPE_CHECKING:
    from ezhifu.document.envelope import SignStampElement
    from ezhifu.results import ItemResult
    from ezhifu.seal.picture import SealImage

__all__ = ["PictureSource", "data_uri", "picture_for", "stamp_picture"]

#: Picture types a browser draws as an image (an OFD picture is a vector document: not shown).
_DISPLAYABLE = frozenset({"PNG", "GIF", "JPG", "BMP", "SVG"})

#: Returns the picture of a ``<SignStamp>``'s seal, or ``None`` when it has none. Raising an
#: ``EzhifuError`` shows the reason in place of the picture.
PictureSource = Callable[["SignStampElement"], "SealImage | None"]


def data_uri(image: SealImage) -> str | None:
    """A ``data:`` URI for the picture, or ``None`` when it is not an image a page can show.

    The MIME type comes from the magic bytes (:func:`ezhifu.seal.picture.sniff_picture`,
    seal_sm2.md §8), never from the seal's declared type, so a picture cannot pose as another
    type. An SVG is only ever used as an ``<img>`` source, where it cannot run scripts.
    """
    # reason: the view loads lxml, the field tables and the seal layer on first render
    from ezhifu.seal.picture import PICTURE_TYPES, sniff_picture

    found = sniff_picture(image.data)
    if found is None or found not in _DISPLAYABLE:
        return None
    mime = PICTURE_TYPES[found][0]
    return f"data:{mime};base64,{base64.b64encode(image.data).decode('ascii')}"


def stamp_picture(stamp: SignStampElement) -> SealImage | None:
    """The picture of the seal inside a ``<SignStamp>``, read by its seal container.

    The stamp's value is the Base64 DER of a seal signature: a GM/T 0031-2014 / GB/T 38540-2020
    ``SES_Signature``, whose embedded seal's ``SES_ESPictrueInfo`` is exported by
    :func:`ezhifu.seal.picture.export_picture`, or the 2024 vendor stamp (spec.md §5.4), whose seal
    carries an image without a size (shown at the usual 40 mm). A value that is not Base64 or not
    a seal signature raises an ``EzhifuError``. Used only for stamps without a verification result:
    a verified stamp's picture rides on its result (``ItemResult.seal_facts``).
    """
    # reason: the view loads lxml, the field tables and the seal layer on first render
    from ezhifu.document.envelope import decode_element_value
    from ezhifu.seal.containers import detect_container

    where = f"SignStamp at {stamp.no}"
    der = decode_element_value(stamp.value, where=where)
    facts = detect_container(der, what=where).facts(der, what=where)
    if facts.picture is None and facts.picture_error:
        raise PictureError(facts.picture_error)
    return facts.picture


def picture_for(
    stamp: SignStampElement, item: ItemResult | None, picture_of: PictureSource | None
) -> SealImage | None:
    """The stamp's picture: from its verification result when there is one (nothing is parsed
    again), otherwise from ``picture_of`` (default :func:`stamp_picture`)."""
    facts = item.seal_facts if item is not None else None
    if picture_of is None and facts is not None:
        if facts.picture is None and facts.picture_error:
            raise PictureError(facts.picture_error)
        return facts.picture
    return (picture_of or stamp_picture)(stamp)
