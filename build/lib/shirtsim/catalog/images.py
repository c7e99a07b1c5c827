"""Decoding untrusted image bytes into upright RGB pictures, or a clear refusal.

Every image shirtsim looks at (catalog files, uploads, query files) goes through
:func:`decode_image`, so the limits below hold everywhere.

The memory one decode may take is bounded whatever the file, and judged before any pixel
is decoded:

* the structures Pillow turns into one Python object each (JPEG segments, PNG chunks, GIF
  extension blocks, TIFF strips and tag values, WebP chunks) are counted in the raw bytes
  first, because a small file can hold millions of them;
* what the decode will allocate is computed from the header (:func:`_plan`): a JPEG is
  decoded at reduced size (libjpeg's DCT scaling, ``draft``), but a progressive one still
  holds its whole-size DCT coefficients; other formats are decoded whole, WebP through
  canvases three times the size of its pixels, TIFF through a strip or tile buffer. A file
  that needs more than :data:`DECODE_BUDGET_BYTES` is refused with the limit for its kind;
* the picture is then converted to RGB band by band, reduced (``Image.reduce``) and turned
  upright on the way, so no second full-size copy exists at any time.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError

from shirtsim.catalog.image_blocks import JpegLayout, check_blocks
from shirtsim.errors import BadImageError

MAX_BYTES = 20 * 1024 * 1024  # same as server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 50_000_000  # no image has more, whatever its format (a JPEG, decoded at reduced size, can)
DECODE_BUDGET_BYTES = 160 * 1024**2  # what one decode may allocate besides the file's bytes (see _plan)
DECODE_AT_LEAST = (1024, 1024)  # decode_image's result is at least this large, unless the picture is smaller
MAX_TEXT_BYTES = 4 * 1024 * 1024  # PNG text metadata, decompressed (Pillow's default is 64 MB)
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")

# Pillow's own bomb check is a second line of defence; a truncated file must fail, not half-load.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2
ImageFile.LOAD_TRUNCATED_IMAGES = False
PngImagePlugin.MAX_TEXT_MEMORY = MAX_TEXT_BYTES

_SNIFF = (
    (b"%PDF", "a PDF document"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML/SVG document"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
)

# What a decode allocates per pixel, as measured with Pillow 13 (tests/test_memory.py checks it).
_RESULT_BPP = 4  # the RGB result: Pillow keeps 4 bytes per RGB pixel
_WEBP_DECODER_BPP = 12  # libwebp's two RGBA canvases and the frame's bytes, alive while it decodes
_BAND_PIXELS = 1 << 18  # pixels converted at a time on the way to RGB
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP", "TIFF": "TIFF"}
_MODE_NAMES = {
    "1": "black and white",
    "L": "greyscale",
    "LA": "greyscale with alpha",
    "P": "palette",
    "PA": "palette with alpha",
    "I": "32-bit greyscale",
    "F": "32-bit float greyscale",
}


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


def decode_image(
    data: bytes,
    name: str = "image",
    *,
    at_least: tuple[int, int] = DECODE_AT_LEAST,
    at_most: int | None = None,
    max_aspect: float | None = None,
) -> Image.Image:
    """Decode image bytes into an upright 8-bit RGB image.

    EXIF rotation is applied, transparency is flattened onto white (a product photo's
    background), 16-bit, palette, CMYK and greyscale images are converted, animations give
    their first frame. The result may be smaller than the stored picture (a reduced-size
    decode), but is at least ``at_least`` (width, height) in both dimensions, or the whole
    picture when that is smaller. ``at_most`` caps the result's long side and wins over
    ``at_least``: a picture of an extreme aspect ratio (20,900 x 1,000) has a short side under
    ``at_least`` and would otherwise come out whole. ``max_aspect`` refuses, from the header, a
    picture whose long side is more than that many times its short side. Anything else, including a file that
    would cost more memory than :data:`DECODE_BUDGET_BYTES`, raises :class:`BadImageError`
    with a one-line reason.
    """
    if len(at_least) != 2 or min(at_least) < 1 or (at_most is not None and at_most < 1):
        raise ValueError(f"at_least must be two positive sizes and at_most positive, not {at_least!r}, {at_most!r}")
    if not data:
        raise BadImageError(f"{name}: the file is empty.")
    if len(data) > MAX_BYTES:
        raise BadImageError(f"{name}: file is {len(data) / 1e6:.1f} MB, the limit is {MAX_BYTES / 1e6:.0f} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about odd EXIF etc.; we judge the result ourselves
            img, orientation = _load(data, name, at_least, max_aspect)
            want = at_least[::-1] if orientation in (5, 6, 7, 8) else at_least  # sizes before turning upright
            factor = max(1, min(img.width // want[0], img.height // want[1]))
            if at_most is not None:  # the long side is the same before and after turning upright
                factor = max(factor, -(-max(img.size) // at_most))
            return _upright_rgb(img, factor, _TRANSPOSE.get(orientation))
    except BadImageError:
        raise
    except Image.DecompressionBombError:
        raise BadImageError(
            f"{name}: image has too many pixels, the limit is {MAX_PIXELS // 1_000_000} megapixels "
            "for a JPEG and less for other formats."
        ) from None
    except UnidentifiedImageError:
        raise BadImageError(f"{name}: {_what_is_it(data)}, not a JPEG, PNG or WebP image.") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError, ZeroDivisionError) as e:
        if str(e).startswith("Too much memory used in text chunks"):
            raise BadImageError(
                f"{name}: the PNG carries more than {MAX_TEXT_BYTES // 2**20} MB of text metadata, "
                f"the limit is {MAX_TEXT_BYTES // 2**20} MB."
            ) from None
        # Pillow signals truncated or malformed data with many exception types.
        raise BadImageError(f"{name}: the image data is truncated or corrupt ({_short(e)}).") from None


def _load(data: bytes, name: str, at_least: tuple[int, int], max_aspect: float | None) -> tuple[Image.Image, int]:
    """Open, check and decode the first frame (a JPEG at reduced size): the pixels and the
    EXIF orientation. Returns a plain image, so the file object and any decoder state
    (libwebp's canvases) are freed when this returns."""
    jpeg = check_blocks(data, name)
    img = Image.open(io.BytesIO(data), formats=FORMATS)
    try:
        width, height = img.size
        if width < 1 or height < 1:
            raise BadImageError(f"{name}: the image has no pixels.")
        if max_aspect is not None and max(width, height) > max_aspect * min(width, height):
            wide = width > height
            raise BadImageError(
                f"{name}: the picture is {width}x{height} px, {max(width, height) / min(width, height):,.0f} times as "
                f"{'wide as it is high' if wide else 'high as it is wide'}; a photo of a shirt is at most "
                f"{max_aspect:g} times. Crop it to the shirt and try again."
            )
        img.seek(0)
        orientation = 1
        if jpeg is not None:
            orientation = _orientation(img)  # a JPEG's EXIF is in its header
            img.draft("RGB", at_least[::-1] if orientation in (5, 6, 7, 8) else at_least)
        plan = _plan(img, jpeg, (width, height))
        if plan.cost > DECODE_BUDGET_BYTES or width * height > MAX_PIXELS:
            limit = min(MAX_PIXELS, width * height * DECODE_BUDGET_BYTES // plan.cost)
            size = math.ceil(width * height / 1e5) / 10  # rounded up, so never shown equal to the limit
            fmt = _NAMES.get(img.format or "", img.format)
            raise BadImageError(
                f"{name}: image is {width}x{height} ({size:g} megapixels); the limit for a {fmt} of this kind "
                f"({plan.kind}) is {_megapixels(limit)} megapixels."
            )
        img.load()
        if jpeg is None:
            orientation = _orientation(img)  # a PNG's EXIF may follow its pixels
        return img._new(img.im), orientation  # the pixels, without the file object
    finally:
        img.close()


def _orientation(img: Image.Image) -> int:
    value = img.getexif().get(0x0112, 1)
    return value if isinstance(value, int) else 1


@dataclass(frozen=True)
class _Plan:
    cost: int  # bytes the decode allocates at its peak, besides the file's bytes
    kind: str  # the kind of file, for the refusal message ("16-bit RGBA", "progressive RGB 4:2:0, ...")


def _plan(img: Image.Image, jpeg: JpegLayout | None, stored: tuple[int, int]) -> _Plan:
    """What decoding ``img`` (a JPEG after ``draft``) will allocate at its peak, from its header.

    The decoded picture (1, 2 or 4 bytes per pixel by mode, as Pillow stores it) lives
    throughout. While it decodes, a progressive or multi-scan JPEG also holds all its DCT
    coefficients (2 bytes each, at full size whatever the draft scale), WebP's decoder two
    RGBA canvases and the frame's bytes, TIFF one strip or tile. Those are freed before
    the RGB result (4 bytes per pixel, at most) is made.
    """
    pixels = img.width * img.height
    transient, kind = 0, _kind(img)
    if jpeg is not None:
        scale = max(1, round(stored[0] / img.width))
        if jpeg.multi_scan:
            transient = jpeg.coefficient_bytes(*stored)
            kind = ("progressive " if jpeg.progressive else "multi-scan ") + kind + jpeg.subsampling
        kind += ", decoded at full size" if scale == 1 else f", decoded at 1/{scale} size"
    elif img.format == "WEBP":
        transient = pixels * _WEBP_DECODER_BPP
    elif img.format == "TIFF":
        transient, layout = _tiff_block(img)
        if transient > pixels * _RESULT_BPP:
            kind += f", {layout}"
    return _Plan(pixels * _bytes_per_pixel(img.mode) + max(pixels * _RESULT_BPP, transient), kind)


def _bytes_per_pixel(mode: str) -> int:
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _kind(img: Image.Image) -> str:
    mode = img.mode
    name = _MODE_NAMES.get(mode, "16-bit greyscale" if mode.startswith("I;16") else mode)
    args = img.tile[0].args if img.tile else None
    rawmode = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else ""
    if isinstance(rawmode, str) and ";16" in rawmode and not mode.startswith("I;16"):
        name = f"16-bit {name}"  # Pillow keeps 8 bits of each channel
    return name


def _tiff_block(img: Image.Image) -> tuple[int, str]:
    """Bytes of the strip or tile buffer libtiff decodes through, and how the file is laid out."""
    tags = getattr(img, "tag_v2", {})
    bits = tags.get(258, (8,))
    raw = math.ceil(sum(bits if isinstance(bits, tuple) else (bits,)) / 8)
    per_pixel = max(raw, 4)  # the RGBA path (YCbCr, old JPEG) decodes through 4 bytes a pixel
    if 322 in tags and 323 in tags:
        w, h = int(tags[322]), int(tags[323])
        return w * h * per_pixel, f"in {w}x{h} tiles"
    rows = min(int(tags.get(278, img.height)), img.height)
    return img.width * rows * per_pixel, "in one strip" if rows >= img.height else f"in strips of {rows} rows"


def _megapixels(pixels: int) -> str:
    """A limit in megapixels, rounded down: whole ones from 10 up."""
    return f"{pixels // 1_000_000}" if pixels >= 10_000_000 else f"{math.floor(pixels / 1e5) / 10:.1f}"


def _upright_rgb(img: Image.Image, factor: int, method: Image.Transpose | None) -> Image.Image:
    """``img`` as 8-bit RGB, reduced ``factor`` times and transposed, one band of rows at a time.

    Each band is brought to 8 bits, reduced, and only then composited onto white or
    converted to RGB, so the conversions work on small pictures and no full-size copy exists.
    """
    if img.mode == "RGB" and factor == 1 and method is None:
        return img
    width, height = img.size
    reduced_w, reduced_h = -(-width // factor), -(-height // factor)
    swap = method in (
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
    )
    out = Image.new("RGB", (reduced_h, reduced_w) if swap else (reduced_w, reduced_h))
    top = _grey_top(img)
    rows = factor * max(1, _BAND_PIXELS // (width * factor))  # a multiple of factor: bands reduce like the whole
    for y in range(0, height, rows):
        band = _to_8bit(img.crop((0, y, width, min(height, y + rows))), top)
        if factor > 1:
            band = band.reduce(factor)
        band = _to_rgb(band)
        r0 = y // factor
        r1 = r0 + band.height
        if method is not None:
            band = band.transpose(method)
        if method in (None, Image.Transpose.FLIP_LEFT_RIGHT):
            out.paste(band, (0, r0))
        elif method in (Image.Transpose.ROTATE_180, Image.Transpose.FLIP_TOP_BOTTOM):
            out.paste(band, (0, reduced_h - r1))
        elif method in (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_90):
            out.paste(band, (r0, 0))
        else:  # ROTATE_270, TRANSVERSE
            out.paste(band, (reduced_h - r1, 0))
    return out


def _grey_top(img: Image.Image) -> int:
    """The white level of a 16- or 32-bit greyscale picture: 32-bit ones may hold 8-bit values."""
    if img.mode == "I":
        return 65535 if img.getextrema()[1] > 255 else 255
    return 65535


def _to_8bit(img: Image.Image, top: int) -> Image.Image:
    """A mode ``Image.reduce`` works on, with 8 bits a channel: 16/32-bit grey to L, palettes
    to RGB(A), bilevel to L; alpha is kept for :func:`_to_rgb`."""
    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img)  # uint16 or int32, one band: cheap
        if img.mode == "I":
            arr = np.clip(arr, 0, top)
        if top == 65535:
            arr = arr // 257  # floor(v * 255 / 65535), exactly
        return Image.fromarray(arr.astype(np.uint8), "L")
    if img.mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        has_alpha = "transparency" in img.info or (img.palette is not None and "A" in img.palette.mode)
        return img.convert("RGBA" if has_alpha else "RGB")
    if img.mode == "PA":
        return img.convert("RGBA")
    if img.mode == "1":
        return img.convert("L")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """An 8-bit picture as RGB, transparency flattened onto white (a product photo's background)."""
    if img.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


# --- Counting what Pillow would make many objects of, in the raw bytes -----------------------


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
