import io
import struct
import zlib

import numpy as np
import pytest
from helpers import png_bytes
from PIL import Image

from shirtsim.errors import BadImageError
from shirtsim.images import MAX_BYTES, decode_image


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


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "width, height, detail",
    [
        (8000, 8000, "too many pixels: 8000x8000, the limit is 50 megapixels"),  # our check
        (20000, 20000, "too many pixels, the limit is 50 megapixels"),  # Pillow's own, even earlier
    ],
)
def test_decompression_bomb_is_refused_from_its_header(width, height, detail):
    with pytest.raises(BadImageError, match=detail):
        decode_image(_png_header_only(width, height), "bomb.png")


def test_oversized_file_is_refused():
    with pytest.raises(BadImageError, match="the limit is 21 MB"):
        decode_image(b"\xff" * (MAX_BYTES + 1), "big.jpg")
