"""Decoding untrusted image bytes into upright RGB pictures, or a clear refusal.

Every image shirtsim looks at (catalog files, uploads, query files) goes through
:func:`decode_image`, so the limits below hold everywhere.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import BadImageError

MAX_BYTES = 20 * 1024 * 1024  # same as server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 50_000_000  # refused from the header, before any pixel is decoded
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")

# Pillow's own bomb check is a second line of defence; a truncated file must fail, not half-load.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2
ImageFile.LOAD_TRUNCATED_IMAGES = False

_SNIFF = (
    (b"%PDF", "a PDF document"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML/SVG document"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
)


def read_limited(path: str | Path, limit: int = MAX_BYTES) -> bytes:
    """Read a file of at most ``limit`` bytes, or raise :class:`BadImageError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise BadImageError(f"{path.name}: file is {size / 1e6:.1f} MB, the limit is {limit / 1e6:.0f} MB.")
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as e:
        raise BadImageError(f"{path.name}: cannot read file ({e.strerror or e}).") from None


def decode_image(data: bytes, name: str = "image") -> Image.Image:
    """Decode image bytes into an upright 8-bit RGB image.

    EXIF rotation is applied, transparency is flattened onto white (a product photo's
    background), 16-bit and palette images are converted, animations give their first
    frame. Anything else raises :class:`BadImageError` with a one-line reason.
    """
    if not data:
        raise BadImageError(f"{name}: the file is empty.")
    if len(data) > MAX_BYTES:
        raise BadImageError(f"{name}: file is {len(data) / 1e6:.1f} MB, the limit is {MAX_BYTES / 1e6:.0f} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about odd EXIF etc.; we judge the result ourselves
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = img.size
            if width < 1 or height < 1:
                raise BadImageError(f"{name}: the image has no pixels.")
            if width * height > MAX_PIXELS:
                raise BadImageError(
                    f"{name}: image has too many pixels: {width}x{height}, "
                    f"the limit is {MAX_PIXELS // 1_000_000} megapixels."
                )
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except BadImageError:
        raise
    except Image.DecompressionBombError:
        raise BadImageError(
            f"{name}: image has too many pixels, the limit is {MAX_PIXELS // 1_000_000} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise BadImageError(f"{name}: {_what_is_it(data)}, not a JPEG, PNG or WebP image.") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError, ZeroDivisionError) as e:
        # Pillow signals truncated or malformed data with many exception types.
        raise BadImageError(f"{name}: the image data is truncated or corrupt ({_short(e)}).") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.uint32 if img.mode == "I" else np.uint16).astype(np.float64)
        top = 65535.0 if img.mode != "I" or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _what_is_it(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    for magic, what in _SNIFF:
        if head.startswith(magic.lower()) or (magic == b"<svg" and b"<svg" in head):
            return f"this is {what}"
    try:
        data[:512].decode("utf-8")
        return "this is a text file"
    except UnicodeDecodeError:
        return "not a recognised image format"


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]
