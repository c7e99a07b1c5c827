"""Seeded fuzzing of the upload path's decoder: 600 malformed inputs, no crash, no hang."""

import random
import time

import pytest
from helpers import DEMO, png_bytes
from PIL import Image

from shirtsim.catalog.images import decode_image
from shirtsim.errors import BadImageError


def seeds() -> list[bytes]:
    img = Image.open(DEMO / "1001.jpg").convert("RGB").resize((40, 50))
    return [
        (DEMO / "1001.jpg").read_bytes(),
        png_bytes(img),
        png_bytes(img.convert("RGBA")),
        png_bytes(img.convert("P")),
        png_bytes(img, "GIF"),
        png_bytes(img, "WEBP"),
        png_bytes(img, "BMP"),
        png_bytes(img, "TIFF"),
    ]


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    choice = rng.randrange(5)
    if choice == 0:  # truncate
        return bytes(b[: rng.randrange(0, len(b))])
    if choice == 1:  # flip bytes, mostly in the header where parsers decide sizes
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(0, min(len(b), 200 if rng.random() < 0.7 else len(b)))
            b[i] = rng.randrange(256)
        return bytes(b)
    if choice == 2:  # insert junk
        i = rng.randrange(0, len(b))
        return bytes(b[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + b[i:])
    if choice == 3:  # valid header, random body
        return bytes(b[:32]) + bytes(rng.randrange(256) for _ in range(rng.randint(0, 2000)))
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))  # pure noise


@pytest.mark.slow
def test_six_hundred_malformed_uploads_never_crash_or_hang():
    rng = random.Random(20261124)
    originals = seeds()
    refused = decoded = 0
    for n in range(600):
        data = mutate(rng.choice(originals), rng)
        started = time.monotonic()
        try:
            img = decode_image(data, f"fuzz-{n}.jpg")
        except BadImageError as e:
            assert str(e).startswith(f"fuzz-{n}.jpg: ") and "\n" not in str(e)
            refused += 1
        else:
            assert img.mode == "RGB" and img.width >= 1 and img.height >= 1
            decoded += 1
        assert time.monotonic() - started < 5, f"input {n} took too long"
    assert refused + decoded == 600 and refused > 100  # the mutations really were malformed
