"""The structures inside an image file that Pillow turns into one Python object each (JPEG segments,
PNG chunks, GIF extension blocks, TIFF tag values, WebP chunks), counted in the raw bytes before
Pillow sees them: a small file can hold millions of them. A JPEG's layout up to its first scan is
read on the way (progressive or not, its sampling), since what a decode costs depends on it."""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from shirtsim.errors import BadImageError

MAX_BLOCKS = 10_000  # segments, chunks, strips... a photo has a few dozen; Pillow keeps an object per one


@dataclass(frozen=True)
class JpegLayout:
    components: tuple[tuple[int, int], ...]  # (horizontal, vertical) sampling factors
    progressive: bool
    multi_scan: bool  # libjpeg then holds every DCT coefficient of the picture at once

    def coefficient_bytes(self, width: int, height: int) -> int:
        """Size of libjpeg's whole-image coefficient arrays (2 bytes per coefficient)."""
        comps = self.components or ((1, 1),) * 4  # unknown: as many as CMYK, full size
        hmax, vmax = max(h for h, _ in comps), max(v for _, v in comps)
        total = 0
        for h, v in comps:
            cols = -(-math.ceil(width * h / hmax) // 8)
            rows = -(-math.ceil(height * v / vmax) // 8)
            total += (-(-cols // h) * h) * (-(-rows // v) * v) * 128
        return total

    @property
    def subsampling(self) -> str:
        if len(self.components) != 3:
            return ""
        (h0, v0), rest = self.components[0], self.components[1:]
        if any(c != rest[0] for c in rest) or rest[0] != (1, 1):
            return " (subsampled)"
        return {(1, 1): " 4:4:4", (2, 1): " 4:2:2", (2, 2): " 4:2:0", (1, 2): " 4:4:0"}.get((h0, v0), " (subsampled)")


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_NOT_FF = re.compile(rb"[^\xff]")
_GIF_TAG = re.compile(rb"[!,;]")
_TIFF_BLOB_TYPES = frozenset({1, 2, 7})  # BYTE, ASCII, UNDEFINED: one bytes object; others a tuple of numbers


def _too_many(name: str, what: str) -> BadImageError:
    return BadImageError(f"{name}: the file has more than {MAX_BLOCKS:,} {what}; the limit is {MAX_BLOCKS:,}.")


def check_blocks(data: bytes, name: str) -> JpegLayout | None:
    """Refuse files with more blocks than :data:`MAX_BLOCKS`; a JPEG's layout for :func:`_plan`."""
    if data[:3] == b"\xff\xd8\xff":
        return _jpeg_layout(data, name)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        _png_blocks(data, name)
    elif data[:4] in (b"GIF8",):
        _gif_blocks(data, name)
    elif data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        _tiff_blocks(data, name)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        _webp_blocks(data, name)
    return None


def _jpeg_layout(data: bytes, name: str) -> JpegLayout:
    """Walk the segments up to the first scan, as Pillow does (skipping junk between them)."""
    pos, n, count = 2, len(data), 0
    components: tuple[tuple[int, int], ...] = ()
    progressive, scan_components = False, 0
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes
            found = _NOT_FF.search(data, pos + 1)
            if found is None:
                break
            pos = found.start() - 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # segments without a length
            pos += 2
            continue
        if marker == 0xD9:
            break
        count += 1
        if count > MAX_BLOCKS:
            raise _too_many(name, "segments before its image data")
        length = max(2, int.from_bytes(data[pos + 2 : pos + 4], "big"))
        body = data[pos + 4 : pos + 2 + length]
        if marker in _JPEG_SOF and len(body) >= 6:
            progressive = marker in _JPEG_PROGRESSIVE
            components = tuple(
                (body[7 + 3 * i] >> 4 or 1, body[7 + 3 * i] & 15 or 1) for i in range(body[5]) if 8 + 3 * i <= len(body)
            )
        elif marker == 0xDA:
            scan_components = body[0] if body else 0
            break
        pos += 2 + length
    multi_scan = progressive or not components or scan_components < len(components)
    return JpegLayout(components, progressive, multi_scan)


def _png_blocks(data: bytes, name: str) -> None:
    pos, n, count = 8, len(data), 0
    while pos + 8 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IEND":
            break
        if kind not in (b"IDAT", b"fdAT"):
            count += 1
            if count > MAX_BLOCKS:
                raise _too_many(name, "chunks besides its image data")
        pos += 12 + length


def _gif_blocks(data: bytes, name: str) -> None:
    if len(data) < 13:
        return
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # after the global colour table
    count = 0
    while (found := _GIF_TAG.search(data, pos)) is not None and data[found.start()] == 0x21:  # "!" extension
        pos = found.start() + 2
        while pos < len(data) and data[pos]:
            count += 1
            if count > MAX_BLOCKS:
                raise _too_many(name, "extension blocks before its first frame")
            pos += 1 + data[pos]
        pos += 1


def _tiff_blocks(data: bytes, name: str) -> None:
    """The first directory's tags: Pillow turns each numeric value into a Python object."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        if data[2:4] in (b"*\0", b"\0*"):
            (offset,) = struct.unpack_from(order + "I", data, 4)
            (entries,) = struct.unpack_from(order + "H", data, offset)
            entry, size, start = order + "HHI", 12, offset + 2
        else:  # BigTIFF
            (offset,) = struct.unpack_from(order + "Q", data, 8)
            (entries,) = struct.unpack_from(order + "Q", data, offset)
            entry, size, start = order + "HHQ", 20, offset + 8
        for i in range(min(entries, (len(data) - start) // size)):
            tag, kind, count = struct.unpack_from(entry, data, start + i * size)
            if kind not in _TIFF_BLOB_TYPES and count > MAX_BLOCKS:
                raise _too_many(name, "strips or tiles" if tag in (273, 279, 324, 325) else f"values in tag {tag}")
    except struct.error:
        return  # let Pillow say what is wrong


def _webp_blocks(data: bytes, name: str) -> None:
    pos, n, count = 12, len(data), 0
    while pos + 8 <= n:
        count += 1
        if count > MAX_BLOCKS:
            raise _too_many(name, "chunks (frames or metadata)")
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
