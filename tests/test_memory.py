"""What decoding a hostile image costs the server: each case in a fresh process, its peak RSS.

The requirement is at most 300 MB above idle per decode and under 2 GB for five at once; the
decoder is built for about 160 MB (shirtsim.catalog.images.DECODE_BUDGET_BYTES), so these tests hold
it to 200 MB. Every file is made in tmp_path by a separate process (a 50-megapixel JPEG takes
200 MB to encode), just under the limit for its kind, so it is accepted and really decoded.
Print the figures the README quotes with ``python -m pytest tests/test_memory.py -s``.
"""

import json
import subprocess
import sys

import pytest
from helpers import ROOT

PER_DECODE_MB = 200  # the requirement is 300
FIVE_AT_ONCE_MB = 1500  # the requirement is 2 GB for the server; five of the worst here

MAKE = r"""
import struct, sys, zlib
from PIL import Image

def png(path, w, h, bits, colour, interlace=False):
    # Streamed row by row: the file is tiny and making it costs no memory.
    chans = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    z, idat = zlib.compressobj(9), bytearray()
    for x0, y0, dx, dy in passes if interlace else [(0, 0, 1, 1)]:
        pw, ph = max(0, -(-(w - x0) // dx)), max(0, -(-(h - y0) // dy))
        line = b"\0" + b"\x7f" * ((pw * chans * bits + 7) // 8)
        for _ in range(ph if pw else 0):
            idat += z.compress(line)
    idat += z.flush()
    head = struct.pack(">IIBBBBB", w, h, bits, colour, 0, 0, int(interlace))
    plte = chunk(b"PLTE", bytes(range(256)) * 3) if colour == 3 else b""
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + plte + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b""))

def bmp_rle8(path, w, h):
    rows = bytearray()
    for _ in range(h):
        for left in range(w, 0, -255):
            rows += bytes([min(255, left), 3])
        rows += b"\0\0"
    rows += b"\0\1"
    palette = bytes(range(256)) * 4
    head = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(rows), 2835, 2835, 256, 0)
    offset = 14 + len(head) + len(palette)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + head + palette + rows)

kind, path, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
noise = Image.effect_noise((256, 256), 60)
orientation_6 = Image.Exif()
orientation_6[0x0112] = 6
if kind.startswith("png"):
    bits, colour = {"png-rgb": (8, 2), "png-rgba16": (16, 6), "png-grey16": (16, 0), "png-palette": (8, 3)}[
        kind.removesuffix("-interlaced")
    ]
    png(path, w, h, bits, colour, interlace=kind.endswith("-interlaced"))
elif kind == "bmp-rle8":
    bmp_rle8(path, w, h)
else:
    mode, fmt, options = {
        "jpeg": ("RGB", "JPEG", {}),
        "jpeg-progressive": ("RGB", "JPEG", {"progressive": True}),
        "jpeg-rotated": ("RGB", "JPEG", {"exif": orientation_6}),
        "webp-lossy": ("RGB", "WEBP", {"quality": 60}),
        "webp-lossless-rgba": ("RGBA", "WEBP", {"lossless": True}),
        "tiff-cmyk-one-strip": ("CMYK", "TIFF", {"compression": "tiff_lzw", "strip_size": 1 << 40}),
        "gif": ("P", "GIF", {}),
    }[kind]
    img = Image.new(mode, (w, h), {"RGB": (200, 30, 40), "RGBA": (200, 30, 40, 90), "CMYK": (0, 200, 200, 0),
                                   "P": 7}[mode])
    img.paste(noise.convert(mode), (0, 0))  # some detail for the encoders
    img.save(path, fmt, **options)
"""

DECODE = r"""
import json, sys, threading, time
from PIL import Image
from shirtsim.catalog.images import decode_image
Image.init()  # every plugin imported: idle memory

def status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

# The peak is VmHWM, not ru_maxrss: across fork and exec, ru_maxrss keeps the parent's peak
# (pytest's), which hid a small decode entirely. Writing 5 to clear_refs resets VmHWM to now.
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass  # then the peak includes the imports': only ever an overestimate
idle = status_kb("VmRSS")
sizes, errors = {}, []

def decode(path):
    try:
        with open(path, "rb") as f:
            data = f.read()  # the upload's bytes count too
        sizes[path] = decode_image(data, path).size
    except Exception as e:  # reported to the test, which fails with it
        errors.append(f"{type(e).__name__}: {e}")

started = time.perf_counter()
threads = [threading.Thread(target=decode, args=(p,)) for p in sys.argv[1:]]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"growth_mb": (status_kb("VmHWM") - idle) / 1024, "sizes": sizes, "errors": errors,
                  "seconds": time.perf_counter() - started}))
"""

# kind, stored size, result size (at least 1024x1024, upright), what makes it hostile
CASES = {
    "jpeg-50mp": ("jpeg", (8660, 5773), (2165, 1444), "50 megapixels, decoded at 1/4 size"),
    "jpeg-progressive-50mp": ("jpeg-progressive", (8660, 5773), (2165, 1444), "143 MB of DCT coefficients"),
    "jpeg-narrow-rotated": ("jpeg-rotated", (20900, 1000), (1000, 20900), "no draft possible, and turned"),
    "png-rgba16": ("png-rgba16", (5000, 4190), (1250, 1048), "16-bit RGBA, just under 21 MP"),
    "png-rgba16-interlaced": ("png-rgba16-interlaced", (5000, 4190), (1250, 1048), "Adam7"),
    "png-rgb-under-100kb": ("png-rgb", (5000, 4190), (1250, 1048), "80 MB of pixels in 70 KB"),
    "png-grey16-under-100kb": ("png-grey16", (5000, 5590), (1250, 1398), "once cost 1.2 GB"),
    "png-palette": ("png-palette", (5790, 5790), (1158, 1158), "33 MP at 1 byte, RGB result"),
    "webp-lossy": ("webp-lossy", (3300, 3170), (1100, 1057), "libwebp's canvases: 16 bytes a pixel"),
    "webp-lossless-rgba": ("webp-lossless-rgba", (3300, 3170), (1100, 1057), "alpha flattened"),
    "tiff-cmyk-one-strip": ("tiff-cmyk-one-strip", (5000, 4190), (1250, 1048), "strip buffer as big as the image"),
    "gif": ("gif", (5790, 5790), (1158, 1158), "33 MP palette"),
    "bmp-rle8": ("bmp-rle8", (5790, 5790), (1158, 1158), "Pillow's RLE decoder: 3 bytes a pixel"),
}
FAST = {"png-rgb-under-100kb", "png-grey16-under-100kb", "png-palette"}  # made by streaming: about 1 s each
WORST_FIVE = ["jpeg-narrow-rotated", "webp-lossy", "jpeg-progressive-50mp", "tiff-cmyk-one-strip", "png-rgba16"]


def make(tmp_path, case: str):
    kind, (w, h), _, _ = CASES[case]
    path = tmp_path / case
    subprocess.run([sys.executable, "-c", MAKE, kind, str(path), str(w), str(h)], check=True, timeout=300)
    return path


def decode_in_fresh_process(*paths) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", DECODE, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("case", [c if c in FAST else pytest.param(c, marks=pytest.mark.slow) for c in CASES])
def test_one_decode_stays_far_under_300_mb(tmp_path, case):
    path = make(tmp_path, case)
    result = decode_in_fresh_process(path)
    assert result["errors"] == []
    assert tuple(result["sizes"][str(path)]) == CASES[case][2]
    print(f"\n{case}: {path.stat().st_size / 1e3:,.0f} KB, +{result['growth_mb']:.0f} MB, {result['seconds']:.1f} s")
    assert result["growth_mb"] < PER_DECODE_MB


@pytest.mark.slow
def test_five_of_the_worst_at_once(tmp_path):
    paths = [make(tmp_path, case) for case in WORST_FIVE]
    result = decode_in_fresh_process(*paths)
    assert result["errors"] == [] and len(result["sizes"]) == 5
    print(f"\nfive at once: +{result['growth_mb']:.0f} MB, {result['seconds']:.1f} s")
    assert result["growth_mb"] < FIVE_AT_ONCE_MB


UPLOAD = r"""
import json, sys, threading, time
sys.path.insert(0, "tests")
from PIL import Image
from helpers import FakeEmbedder
from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.upload import read_photo
embedder = FakeEmbedder()  # the model's input is 224x224 whatever the photo: a fake one costs the same
Image.init()
read_photo(embedder, STYLE_KIND, open("assets/demo-catalog/1001.jpg", "rb").read(), "warm-up.jpg", "auto")

def status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
idle = status_kb("VmRSS")
results, errors = {}, []

def upload(path, box):
    try:
        with open(path, "rb") as f:
            data = f.read()
        cut = None if box == "none" else box if box == "auto" else tuple(map(float, box.split(",")))
        photo = read_photo(embedder, STYLE_KIND, data, path, cut)
        results[path + " " + box] = [photo.pixels.shape, photo.box]
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")

started = time.perf_counter()
jobs = [arg.rsplit(":", 1) for arg in sys.argv[1:]]
threads = [threading.Thread(target=upload, args=(p, box)) for p, box in jobs]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"growth_mb": (status_kb("VmHWM") - idle) / 1024, "results": results, "errors": errors,
                  "seconds": time.perf_counter() - started}))
"""
PER_UPLOAD_MB = 250  # the requirement is 300 above idle for any upload
# An upload is searched inside a box, and its cut-out padded to a square: a photo of an extreme
# aspect ratio once asked for a square as wide as its long side (a 12,000 x 1,000 panorama added
# 680 MB; a few hundred bytes of PNG, tens of GB: the kernel killed the server).
UPLOAD_CASES = {
    "panorama-png": ("png-rgb", (12000, 1000)),
    "narrow-grey-png": ("png-palette", (24000, 1000)),
    "jpeg-narrow-rotated": ("jpeg-rotated", (20900, 1000)),
    "jpeg-50mp": ("jpeg", (8660, 5773)),
}


def upload_in_fresh_process(*jobs) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", UPLOAD, *(f"{path}:{box}" for path, box in jobs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def make_upload(tmp_path, case: str):
    kind, (w, h) = UPLOAD_CASES[case]
    path = tmp_path / f"{case}.img"
    subprocess.run([sys.executable, "-c", MAKE, kind, str(path), str(w), str(h)], check=True, timeout=300)
    return path


@pytest.mark.parametrize("box", ["auto", "whole", "none"])
@pytest.mark.parametrize(
    "case", [c if c == "panorama-png" else pytest.param(c, marks=pytest.mark.slow) for c in UPLOAD_CASES]
)
def test_one_upload_of_any_shape_stays_under_300_mb(tmp_path, case, box):
    path = make_upload(tmp_path, case)
    result = upload_in_fresh_process((path, box if box != "whole" else "0,0,1,1"))
    assert result["errors"] == []
    ((shape, searched),) = result["results"].values()
    assert shape == [224, 224, 3]
    assert searched is None if box == "none" else searched is not None
    print(f"\n{case} {box}: {path.stat().st_size / 1e3:,.1f} KB, +{result['growth_mb']:.0f} MB")
    assert result["growth_mb"] < PER_UPLOAD_MB


@pytest.mark.slow
def test_five_hostile_uploads_at_once_stay_under_2_gb(tmp_path):
    paths = [make_upload(tmp_path, case) for case in UPLOAD_CASES]
    result = upload_in_fresh_process(*((p, "auto") for p in paths), (paths[0], "0,0,1,1"))
    assert result["errors"] == [] and len(result["results"]) == 5
    print(f"\nfive uploads at once: +{result['growth_mb']:.0f} MB, {result['seconds']:.1f} s")
    assert result["growth_mb"] < FIVE_AT_ONCE_MB


def test_a_picture_too_long_and_thin_for_a_shirt_is_refused_from_its_header(tmp_path):
    """A 2 KB PNG of 100,000 x 20 px: refused before any pixel is decoded, with its shape."""
    path = tmp_path / "strip.png"
    subprocess.run([sys.executable, "-c", MAKE, "png-palette", str(path), "100000", "20"], check=True, timeout=60)
    assert path.stat().st_size < 5000
    result = upload_in_fresh_process((path, "auto"))
    assert result["errors"] == [
        f"BadImageError: {path}: the picture is 100000x20 px, 5,000 times as wide as it is high; a photo of a "
        "shirt is at most 25 times. Crop it to the shirt and try again."
    ]
    assert result["growth_mb"] < 20
