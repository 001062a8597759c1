"""A photo's EXIF (orientation included) and ICC profile, carried into the restored file.

OpenCV reads pixels only (``IMREAD_UNCHANGED`` does not apply the EXIF orientation) and
writes none of it: a phone portrait came out sideways and a Display-P3 photo changed
colour. The pixels stay as stored, so the EXIF (orientation tag included) is copied as
it is and every viewer turns the result as it turned the input. Pillow reads both; they
are spliced into the bytes OpenCV encoded — JPEG APP1/APP2 segments, PNG ``eXIf``/``iCCP``
chunks — so the pixels are not encoded a second time. TIFF and BMP outputs do not get
them (the summary says so).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PhotoMetadata", "jpeg_complete", "read_metadata", "with_metadata"]

_EXIF_HEADER = b"Exif\x00\x00"
_ICC_HEADER = b"ICC_PROFILE\x00"
#: Profile bytes per JPEG APP2 segment (65535 − length field − header − 2 counters).
_ICC_CHUNK = 65519


@dataclass(frozen=True)
class PhotoMetadata:
    """EXIF (a TIFF structure, without its ``Exif`` header) and ICC profile bytes.

    ``pages``: how many images the file holds (a multi-page TIFF: only the first is
    restored, and the summary says so).
    """

    exif: bytes | None = None
    icc: bytes | None = None
    pages: int = 1

    def __bool__(self) -> bool:
        return bool(self.exif or self.icc)


def read_metadata(path: str | Path) -> PhotoMetadata:
    """The EXIF and ICC profile of a photo file (empty when it has none or Pillow is absent)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return PhotoMetadata()
    try:
        with Image.open(path) as image:
            # The header has them; a PNG may keep its eXIf after the pixels: read on.
            if image.format == "PNG" and "exif" not in image.info:
                image.load()
            exif = image.info.get("exif")
            icc = image.info.get("icc_profile")
            pages = int(getattr(image, "n_frames", 1) or 1)
    except Exception:  # a file OpenCV reads but Pillow does not: pixels still restored
        return PhotoMetadata()
    if isinstance(exif, bytes) and exif.startswith(_EXIF_HEADER):
        exif = exif[len(_EXIF_HEADER) :]
    return PhotoMetadata(exif or None, icc or None, pages)


def with_metadata(encoded: bytes, suffix: str, metadata: PhotoMetadata) -> tuple[bytes, bool]:
    """``(bytes, copied)``: ``encoded`` (a JPEG or PNG file) with ``metadata`` spliced in.

    ``copied`` is False when the format cannot take it here (TIFF, BMP) or there is none.
    """
    suffix = suffix.lower()
    if not metadata:
        return encoded, False
    if suffix in (".jpg", ".jpeg") and encoded[:2] == b"\xff\xd8":
        return _jpeg(encoded, metadata), True
    if suffix == ".png" and encoded[:8] == b"\x89PNG\r\n\x1a\n":
        return _png(encoded, metadata), True
    return encoded, False


def _jpeg(encoded: bytes, metadata: PhotoMetadata) -> bytes:
    segments = []
    if metadata.exif and len(metadata.exif) + len(_EXIF_HEADER) + 2 <= 65535:
        payload = _EXIF_HEADER + metadata.exif
        segments.append(b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload)
    if metadata.icc:
        chunks = [metadata.icc[i : i + _ICC_CHUNK] for i in range(0, len(metadata.icc), _ICC_CHUNK)]
        if len(chunks) <= 255:
            for number, chunk in enumerate(chunks, start=1):
                payload = _ICC_HEADER + bytes([number, len(chunks)]) + chunk
                segments.append(b"\xff\xe2" + struct.pack(">H", len(payload) + 2) + payload)
    # After SOI and the JFIF APP0 OpenCV writes (JFIF must come first when present).
    at = 2
    if encoded[2:4] == b"\xff\xe0":
        at = 4 + struct.unpack(">H", encoded[4:6])[0]
    return encoded[:at] + b"".join(segments) + encoded[at:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(encoded: bytes, metadata: PhotoMetadata) -> bytes:
    chunks = b""
    if metadata.icc:  # iCCP before PLTE and IDAT
        chunks += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(metadata.icc))
    if metadata.exif:
        chunks += _png_chunk(b"eXIf", metadata.exif)
    at = 8 + 8 + struct.unpack(">I", encoded[8:12])[0] + 4  # after the IHDR chunk
    return encoded[:at] + chunks + encoded[at:]


def jpeg_complete(data: bytes) -> bool:
    """Whether a JPEG file's image data runs to its end-of-image marker.

    A truncated JPEG decodes without an error — libjpeg fills the missing rows with grey
    and only warns — so the file structure is checked: the marker segments are walked
    to the first start of scan (an EXIF thumbnail, with its own end marker, sits in a
    segment before it and is skipped), then an end-of-image marker must follow. Data
    appended after it (a phone's motion photo) does not matter.
    """
    if data[:2] != b"\xff\xd8":
        return False
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return False
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return data.find(b"\xff\xd9", at + 2 + length) >= 0
        at += 2 + length
    return False
