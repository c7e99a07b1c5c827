import io
import re
import struct
import zlib

import numpy as np
import pytest
from helpers import png_bytes
from PIL import Image, ImageOps

from shirtsim.catalog import images
from shirtsim.catalog.image_blocks import MAX_BLOCKS
from shirtsim.catalog.images import DECODE_AT_LEAST, MAX_BYTES, decode_image
from shirtsim.errors import BadImageError


def test_rgba_transparency_is_flattened_onto_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    img.putpixel((0, 0), (0, 0, 255, 255))
    out = decode_image(png_bytes(img))
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (0, 0, 255)
    assert out.getpixel((3, 3)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["P", "LA", "L", "1"])
def test_palette_grey_and_bilevel_images_become_rgb(mode):
    out = decode_image(png_bytes(Image.new("RGB", (5, 3), (10, 200, 30)).convert(mode)))
    assert out.mode == "RGB" and out.size == (5, 3)


def test_16_bit_png_keeps_its_brightness():
    arr = np.full((3, 3), 65535 // 2, np.uint16)
    img = Image.fromarray(arr)
    assert img.mode == "I;16"
    out = decode_image(png_bytes(img))
    assert out.getpixel((1, 1)) in [(127, 127, 127), (128, 128, 128)]


def test_cmyk_and_greyscale_jpeg():
    cmyk = decode_image(png_bytes(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))
    r, g, b = cmyk.getpixel((4, 4))
    assert r > 200 and g < 60 and b < 60
    assert decode_image(png_bytes(Image.new("L", (8, 8), 90), "JPEG")).mode == "RGB"


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = decode_image(png_bytes(img, "JPEG", exif=exif))
    assert out.size == (20, 40)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("P", (6, 6), c) for c in (1, 2, 3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(buf.getvalue()).size == (6, 6)


def test_webp_and_one_pixel_images():
    assert decode_image(png_bytes(Image.new("RGB", (1, 1), (1, 2, 3)), "WEBP", lossless=True)).getpixel((0, 0)) == (
        1,
        2,
        3,
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file is empty"),
        (b"hello, this is text\n", "this is a text file, not a JPEG, PNG or WebP image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "this is a PDF document"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "this is an SVG drawing"),
        (b"<!DOCTYPE html><html></html>", "this is an HTML page"),
        (bytes(range(256)) * 4, "not a recognised image format"),
    ],
)
def test_non_images_get_a_one_line_reason(data, message):
    with pytest.raises(BadImageError) as err:
        decode_image(data, "upload.jpg")
    assert str(err.value).startswith("upload.jpg: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_refused(fmt):
    data = png_bytes(Image.effect_noise((64, 64), 50).convert("RGB"), fmt)
    with pytest.raises(BadImageError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], "cut." + fmt.lower())


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int, bits: int = 8, colour: int = 2, extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bits, colour, 0, 0, 0)
    plte = _chunk(b"PLTE", bytes(range(256)) * 3) if colour == 3 else b""
    idat = _chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + plte + extra + idat + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "width, height, detail",
    [
        (8000, 8000, "image is 8000x8000 (64 megapixels); the limit for a PNG of this kind (RGB) is 20 megapixels"),
        (20000, 20000, "too many pixels, the limit is 50 megapixels"),  # Pillow's own, even earlier
    ],
)
def test_decompression_bomb_is_refused_from_its_header(width, height, detail):
    with pytest.raises(BadImageError, match=re.escape(detail)):
        decode_image(_png_header_only(width, height), "bomb.png")


def test_oversized_file_is_refused():
    with pytest.raises(BadImageError, match="the limit is 21 MB"):
        decode_image(b"\xff" * (MAX_BYTES + 1), "big.jpg")


# --- Reduced-size decoding: exact sizes ------------------------------------------------------


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize(
    "size, at_least, expected",
    [
        ((1800, 2400), DECODE_AT_LEAST, (1800, 2400)),  # 1/2 would make the short side 900 < 1024
        ((1800, 2400), (448, 448), (450, 600)),  # libjpeg scales by 1/2, 1/4 or 1/8: 1/4 here
        ((1800, 2400), (900, 1200), (900, 1200)),
        ((4100, 3000), DECODE_AT_LEAST, (2050, 1500)),
        ((7000, 7000), (224, 224), (292, 292)),  # 1/8 is as far as a draft goes (875x875), then reduce(3)
        ((600, 400), DECODE_AT_LEAST, (600, 400)),  # smaller than at_least: the whole picture
    ],
)
def test_a_jpeg_is_decoded_at_reduced_size_but_never_below_at_least(size, at_least, expected):
    data = png_bytes(Image.new("L", size, 120), "JPEG")
    out = decode_image(data, "big.jpg", at_least=at_least)
    assert out.mode == "RGB" and out.size == expected


def test_a_turned_jpeg_keeps_at_least_once_upright():
    """Stored 2400x1800 and turned by EXIF: at_least applies to the upright picture."""
    data = png_bytes(Image.new("RGB", (2400, 1800), (9, 99, 199)), "JPEG", exif=_exif(6))
    assert decode_image(data, at_least=(450, 1200)).size == (900, 1200)  # drafted to 1200x900, then turned
    assert decode_image(data).size == (1800, 2400)


@pytest.mark.parametrize(
    "size, at_least, expected",
    [
        ((5000, 3000), DECODE_AT_LEAST, (2500, 1500)),  # reduce(2)
        ((5000, 3000), (1000, 1000), (1667, 1000)),  # reduce(3): any whole factor, rounded up
        ((3000, 1000), DECODE_AT_LEAST, (3000, 1000)),  # short side under 2 x 1024: whole
    ],
)
def test_other_formats_are_reduced_after_decoding(size, at_least, expected):
    data = _png_header_only(*size, bits=8, colour=0)[:33] + _chunk(
        b"IDAT", zlib.compress(b"\0" * (size[0] + 1) * size[1])
    )
    data += _chunk(b"IEND", b"")
    assert decode_image(data, "big.png", at_least=at_least).size == expected


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_banded_conversion_equals_the_whole_picture_turned_and_reduced(monkeypatch, orientation, mode):
    """Bands of 2 rows (forced here) give what reducing and turning the whole picture gives."""
    monkeypatch.setattr(images, "_BAND_PIXELS", 40)
    rng = np.random.default_rng(orientation)
    img = Image.fromarray(rng.integers(0, 256, (23, 37, len(mode)), dtype=np.uint8), mode)
    out = decode_image(png_bytes(img, exif=_exif(orientation)), at_least=(8, 8))  # reduce(2)
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    reduced = (Image.alpha_composite(white, img).convert("RGB") if mode == "RGBA" else img).reduce(2)
    reduced.info["exif"] = _exif(orientation).tobytes()
    expected = ImageOps.exif_transpose(reduced)
    assert out.size == expected.size
    diff = np.abs(np.asarray(out, dtype=int) - np.asarray(expected, dtype=int))
    assert diff.max() <= (2 if mode == "RGBA" else 0)  # alpha is averaged premultiplied, then flattened


@pytest.mark.parametrize(
    "mode, values, expected",
    [
        ("I;16", [0, 32767, 65535], [0, 127, 255]),
        ("I", [0, 300, 70000], [0, 1, 255]),  # 16-bit range once anything passes 255
        ("I", [0, 100, 255], [0, 100, 255]),  # 8-bit values in a 32-bit file
        ("F", [100.0, float("nan"), 1e9], [100, 0, 255]),
    ],
)
def test_16_and_32_bit_greys_become_8_bit(mode, values, expected):
    dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
    img = Image.fromarray(np.array([values], dtype=dtype))
    assert img.mode == mode
    out = decode_image(png_bytes(img, "TIFF"))
    assert [out.getpixel((x, 0)) for x in range(3)] == [(v, v, v) for v in expected]


def test_at_least_must_be_positive():
    with pytest.raises(ValueError, match="at_least"):
        decode_image(png_bytes(Image.new("RGB", (4, 4))), at_least=(0, 10))


# --- Limits by what a decode costs: exact messages, from the header ---------------------------


def _jpeg_header(width: int, height: int, mode: str = "RGB", **options) -> bytes:
    """A small real JPEG whose frame header claims ``width`` x ``height``: refused before decoding."""
    data = bytearray(png_bytes(Image.new(mode, (16, 16)), "JPEG", **options))
    sof = next(i for i in range(2, len(data)) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_header(width: int, height: int) -> bytes:
    data = bytearray(png_bytes(Image.new("P", (16, 16), 3), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def _bmp_header(width: int, height: int) -> bytes:
    data = bytearray(png_bytes(Image.new("RGB", (16, 16)), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def _webp_header(width: int, height: int) -> bytes:
    """A lossy WebP whose VP8 key frame claims ``width`` x ``height``."""
    data = bytearray(png_bytes(Image.new("RGB", (16, 16), (9, 9, 9)), "WEBP", quality=50))
    frame = data.index(b"\x9d\x01\x2a") + 3  # the VP8 key frame's start code, then 14-bit sizes
    data[frame : frame + 4] = struct.pack("<HH", width, height)
    return bytes(data)


def _tiff_header(width: int, height: int, bits: tuple, photometric: int, rows=None, tags=None) -> bytes:
    """A little-endian TIFF whose directory says what we want (deflate, one strip); no pixels."""
    entries = {256: (4, [width]), 257: (4, [height]), 258: (3, list(bits)), 259: (3, [8]), 262: (3, [photometric])}
    entries |= {273: (4, [0]), 277: (3, [len(bits)]), 278: (4, [rows or height]), 279: (4, [1])}
    entries |= tags or {}
    ifd, blobs = b"", b""
    blob_at = 8 + 2 + 12 * len(entries) + 4
    for tag, (kind, values) in sorted(entries.items()):
        payload = struct.pack(f"<{len(values)}{'H' if kind == 3 else 'I'}", *values)
        if len(payload) > 4:
            ifd += struct.pack("<HHII", tag, kind, len(values), blob_at + len(blobs))
            blobs += payload
        else:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + payload.ljust(4, b"\0")
    return b"II*\0" + struct.pack("<IH", 8, len(entries)) + ifd + b"\0\0\0\0" + blobs + b"\0" * 16


@pytest.mark.parametrize(
    "data, size, fmt, kind, limit",
    [
        (_png_header_only(8000, 8000, 16, 6), "8000x8000 (64", "PNG", "16-bit RGBA", 20),
        (_png_header_only(6000, 5000, 16, 0), "6000x5000 (30", "PNG", "16-bit greyscale", 27),
        (_png_header_only(6000, 6000, 8, 3), "6000x6000 (36", "PNG", "palette", 33),
        (_png_header_only(5000, 4200, 8, 2), "5000x4200 (21", "PNG", "RGB", 20),
        (_gif_header(6000, 6000), "6000x6000 (36", "GIF", "palette", 33),
        (_bmp_header(5000, 5000), "5000x5000 (25", "BMP", "RGB", 20),
        (_webp_header(4000, 3000), "4000x3000 (12", "WebP", "RGB", 10),
        (_jpeg_header(10000, 6000), "10000x6000 (60", "JPEG", "RGB, decoded at 1/4 size", 50),
        (_jpeg_header(8660, 5774), "8660x5774 (50.1", "JPEG", "RGB, decoded at 1/4 size", 50),
        (_jpeg_header(30000, 1000), "30000x1000 (30", "JPEG", "RGB, decoded at full size", 20),
        (
            _jpeg_header(8000, 6000, progressive=True, subsampling=0),
            "8000x6000 (48",
            "JPEG",
            "progressive RGB 4:4:4, decoded at 1/4 size",
            26,
        ),
        (
            _jpeg_header(6000, 5000, "CMYK", progressive=True),
            "6000x5000 (30",
            "JPEG",
            "progressive CMYK, decoded at 1/4 size",
            20,
        ),
        (_tiff_header(5000, 5000, (8, 8, 8, 8), 5), "5000x5000 (25", "TIFF", "CMYK", 20),
        (
            _tiff_header(4000, 4000, (16, 16, 16, 16), 2, tags={338: (3, [2])}),
            "4000x4000 (16",
            "TIFF",
            "16-bit RGBA, in one strip",
            13,
        ),
    ],
)
def test_each_kind_of_file_has_the_pixel_limit_its_decoding_cost_allows(data, size, fmt, kind, limit):
    with pytest.raises(BadImageError) as err:
        decode_image(data, "big")
    assert str(err.value) == (
        f"big: image is {size} megapixels); the limit for a {fmt} of this kind ({kind}) is {limit} megapixels."
    )


# --- Files that would make Pillow build millions of objects ---------------------------------


def _floods() -> dict[str, tuple[bytes, str]]:
    jpeg = png_bytes(Image.new("RGB", (8, 8)), "JPEG")
    png = png_bytes(Image.new("RGB", (8, 8)))
    gif = png_bytes(Image.new("P", (8, 8)), "GIF")
    webp = png_bytes(Image.new("RGB", (8, 8)), "WEBP")
    n = MAX_BLOCKS + 1
    gif_table = 13 + 3 * 2 ** ((gif[10] & 7) + 1)  # header, then the global colour table
    strips = {273: (4, [0] * 20000), 279: (4, [1] * 20000)}
    webp_size = struct.pack("<I", len(webp) - 8 + 12 * n)
    return {
        "jpeg": (jpeg[:2] + b"\xff\xe1\x00\x02" * n + jpeg[2:], "segments before its image data"),
        "png": (png[:33] + _chunk(b"tEXt", b"k\0v") * n + png[33:], "chunks besides its image data"),
        "gif": (
            gif[:gif_table] + b"\x21\xfe" + b"\x01x" * n + b"\0" + gif[gif_table:],
            "extension blocks before its first frame",
        ),
        "tiff-strips": (_tiff_header(100, 20000, (8,), 1, rows=1, tags=strips), "strips or tiles"),
        "tiff-tag": (_tiff_header(16, 16, (8,), 1, tags={320: (3, [0] * n)}), "values in tag 320"),
        "webp": (webp[:4] + webp_size + webp[8:] + b"JUNK\4\0\0\0abcd" * n, "chunks (frames or metadata)"),
    }


@pytest.mark.parametrize("case", ["jpeg", "png", "gif", "tiff-strips", "tiff-tag", "webp"])
def test_block_floods_are_refused_before_pillow_parses_them(case):
    """Pillow would keep an object per block: 16 MB of empty JPEG segments once cost 520 MB."""
    data, what = _floods()[case]
    with pytest.raises(BadImageError) as err:
        decode_image(data, "x")
    assert str(err.value) == f"x: the file has more than {MAX_BLOCKS:,} {what}; the limit is {MAX_BLOCKS:,}."


def test_many_blocks_under_the_limit_are_fine():
    jpeg = png_bytes(Image.new("RGB", (8, 8), (1, 2, 3)), "JPEG")
    png = png_bytes(Image.new("RGB", (8, 8), (1, 2, 3)))
    n = MAX_BLOCKS - 10
    assert decode_image(jpeg[:2] + b"\xff\xe1\x00\x02" * n + jpeg[2:]).size == (8, 8)
    assert decode_image(png[:33] + _chunk(b"tEXt", b"k\0v") * n + png[33:]).getpixel((0, 0)) == (1, 2, 3)


def test_png_text_metadata_is_limited():
    text = _chunk(b"zTXt", b"k\0\0" + zlib.compress(b"a" * 1_000_000))
    png = png_bytes(Image.new("RGB", (8, 8)))
    with pytest.raises(BadImageError) as err:
        decode_image(png[:33] + text * 5 + png[33:], "x.png")
    assert str(err.value) == "x.png: the PNG carries more than 4 MB of text metadata, the limit is 4 MB."
    assert decode_image(png[:33] + text * 3 + png[33:], "x.png").size == (8, 8)
