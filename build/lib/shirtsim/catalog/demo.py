"""Deterministic procedural demo catalog: product-photo-like shirts drawn with Pillow.

No real product photos can be shipped, so the demo catalog is drawn: three silhouettes
(T-shirt, button-down, polo), seven patterns, sixteen colours, studio background, soft
shading and small variations in pose and scale.  The same seed always gives the same
pixels, so the committed ``assets/demo-catalog`` can be regenerated and diffed.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

RGB = tuple[int, int, int]
Polygon = list[tuple[float, float]]

STYLES = ("tshirt", "buttondown", "polo")
PATTERNS = ("solid", "stripe-vertical", "stripe-horizontal", "gingham", "tartan", "dots", "floral")
COLOURS = {
    "navy": (31, 42, 84),
    "red": (178, 34, 40),
    "white": (236, 236, 232),
    "black": (32, 32, 35),
    "light-blue": (150, 190, 226),
    "green": (40, 120, 70),
    "olive": (112, 114, 56),
    "maroon": (110, 28, 44),
    "pink": (232, 150, 172),
    "yellow": (236, 200, 64),
    "grey": (128, 130, 134),
    "beige": (210, 190, 152),
    "purple": (100, 60, 140),
    "orange": (226, 116, 44),
    "teal": (30, 128, 128),
    "brown": (112, 76, 48),
}
ACCENTS = ("white", "navy", "black", "beige", "red", "yellow", "green", "light-blue")

# Drawn at 2x and downsampled for smooth edges.
OUT_W, OUT_H = 200, 250
W, H = OUT_W * 2, OUT_H * 2


def make_demo_catalog(out_dir: str | Path, count: int = 200, seed: int = 7) -> list[dict]:
    """Draw ``count`` shirts into ``out_dir`` as ``<id>.jpg`` plus ``labels.csv``; return the rows."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        # Cycle patterns and styles so every combination is represented; colours vary freely.
        pattern = PATTERNS[n % len(PATTERNS)]
        style = STYLES[(n // len(PATTERNS)) % len(STYLES)]
        colour = rng.choice(list(COLOURS))
        accent = rng.choice([a for a in ACCENTS if a != colour])
        shirt_id = str(1001 + n)
        image = draw_shirt(style, pattern, colour, accent, random.Random(rng.random()))
        image.save(out / f"{shirt_id}.jpg", quality=90, optimize=True)
        rows.append({"id": shirt_id, "style": style, "pattern": pattern, "colour": colour})
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "style", "pattern", "colour"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def draw_shirt(style: str, pattern: str, colour: str, accent: str, rng: random.Random) -> Image.Image:
    """One product photo: shirt of ``style`` in ``pattern`` on a studio background."""
    base = _jitter(COLOURS[colour], rng, 10)
    acc = _jitter(COLOURS[accent], rng, 10)
    fabric = _fabric(pattern, base, acc, rng)

    body, sleeves = _silhouette(style, rng)
    mask = Image.new("L", (W, H), 0)
    md = ImageDraw.Draw(mask)
    for poly in [body, *sleeves]:
        md.polygon(poly, fill=255)

    shirt = Image.new("RGB", (W, H), (0, 0, 0))
    shirt.paste(fabric, (0, 0))
    shirt = ImageChops.multiply(shirt, _shading(sleeves, rng))
    _details(shirt, mask, style, base, acc, rng)

    # Pose: small rotation, scale and shift, applied to the shirt and its mask together.
    angle = rng.uniform(-4, 4)
    scale = rng.uniform(0.88, 1.02)
    dx, dy = rng.uniform(-12, 12), rng.uniform(-8, 8)
    shirt = _pose(shirt, angle, scale, dx, dy, Image.BICUBIC)
    mask = _pose(mask, angle, scale, dx, dy, Image.BICUBIC)

    photo = _background(rng)
    shadow = mask.filter(ImageFilter.GaussianBlur(14)).point(lambda v: int(v * 0.35))
    photo.paste((150, 150, 155), (6, 10), shadow)
    photo.paste(shirt, (0, 0), mask)
    return photo.resize((OUT_W, OUT_H), Image.LANCZOS)


def _jitter(rgb: RGB, rng: random.Random, amount: int) -> RGB:
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def _fabric(pattern: str, base: RGB, acc: RGB, rng: random.Random) -> Image.Image:
    """A full-canvas fabric texture for ``pattern``."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.empty((H, W, 3), np.float32)
    img[:] = base
    if pattern in ("stripe-vertical", "stripe-horizontal"):
        period = rng.choice([14, 18, 24, 32])
        width = period * rng.uniform(0.25, 0.5)
        coord = xx if pattern == "stripe-vertical" else yy
        on = (coord % period) < width
        img[on] = acc
        if rng.random() < 0.4:  # a thin pin stripe between the main ones
            pin = np.abs((coord % period) - (width + period) / 2) < 1.2
            img[pin] = _mix(acc, base, 0.5)
    elif pattern == "gingham":
        period = rng.choice([16, 20, 26])
        half = period / 2
        cx, cy = (xx % period) < half, (yy % period) < half
        light = _mix(base, (245, 245, 245), 0.75)
        img[:] = light
        img[cx ^ cy] = _mix(base, light, 0.45)
        img[cx & cy] = base
    elif pattern == "tartan":
        period = rng.choice([48, 60, 72])
        bands = [
            (0, period * 0.3, acc),
            (period * 0.45, period * 0.55, _mix(acc, (255, 255, 255), 0.5)),
            (period * 0.7, period * 0.78, (20, 20, 20)),
        ]
        for lo, hi, col in bands:
            vx = ((xx % period) >= lo) & ((xx % period) < hi)
            vy = ((yy % period) >= lo) & ((yy % period) < hi)
            img[vx] = img[vx] * 0.45 + np.array(col) * 0.55
            img[vy] = img[vy] * 0.45 + np.array(col) * 0.55
    elif pattern == "dots":
        period = rng.choice([18, 24, 30])
        radius = period * rng.uniform(0.18, 0.28)
        row = yy // period
        ox = (xx + (row % 2) * period / 2) % period - period / 2
        oy = yy % period - period / 2
        img[ox * ox + oy * oy < radius * radius] = acc
    elif pattern == "floral":
        pil = Image.fromarray(img.astype(np.uint8))
        d = ImageDraw.Draw(pil)
        petal = rng.choice([acc, _mix(acc, (255, 255, 255), 0.3)])
        centre = rng.choice([(240, 200, 60), (250, 250, 240), (60, 40, 30)])
        leaf = _mix((50, 120, 60), base, 0.3)
        step = rng.choice([40, 50, 60])
        for gy in range(-step, H + step, step):
            for gx in range(-step, W + step, step):
                x, y = gx + rng.uniform(-12, 12), gy + rng.uniform(-12, 12)
                r = rng.uniform(7, 11)
                d.ellipse([x + 8, y + 6, x + 20, y + 12], fill=leaf)
                for k in range(5):
                    a = 2 * math.pi * k / 5 + rng.uniform(0, 0.4)
                    px, py = x + r * math.cos(a), y + r * math.sin(a)
                    d.ellipse([px - r * 0.7, py - r * 0.7, px + r * 0.7, py + r * 0.7], fill=petal)
                d.ellipse([x - r * 0.4, y - r * 0.4, x + r * 0.4, y + r * 0.4], fill=centre)
        img = np.asarray(pil, np.float32)
    # Woven-fabric grain.
    grain = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 3.0, (H, W, 1))
    return Image.fromarray(np.clip(img + grain, 0, 255).astype(np.uint8))


def _silhouette(style: str, rng: random.Random) -> tuple[Polygon, list[Polygon]]:
    """Body polygon and sleeve polygons (canvas coordinates) for a front-facing flat-lay shirt."""
    cx = W / 2
    top = 70 + rng.uniform(-6, 6)
    half = 100 + rng.uniform(-8, 8)  # half the body width
    hem = 455 + rng.uniform(-10, 6)
    neck = 36 if style == "tshirt" else 30
    sh = half + 12  # shoulder point, slightly wider than the body
    body = [
        (cx - neck, top),
        (cx - sh, top + 18),
        (cx - half, top + 95),
        (cx - half - 4, hem),
        (cx + half + 4, hem),
        (cx + half, top + 95),
        (cx + sh, top + 18),
        (cx + neck, top),
    ]
    if style == "buttondown":
        # Long sleeves hanging slightly away from the body.
        spread = rng.uniform(18, 34)
        left = [
            (cx - sh, top + 18),
            (cx - sh - spread - 26, hem - 40),
            (cx - sh - spread + 22, hem - 30),
            (cx - half + 2, top + 100),
        ]
    else:
        length = rng.uniform(85, 110)
        left = [
            (cx - sh, top + 18),
            (cx - sh - 82, top + length - 22),
            (cx - sh - 50, top + length + 16),
            (cx - half + 2, top + 96),
        ]
    right = [(2 * cx - x, y) for x, y in left]
    return body, [left, right]


def _shading(sleeves: list[Polygon], rng: random.Random) -> Image.Image:
    """Soft light from the upper left, darker body sides and a few fabric folds."""
    xs = np.linspace(-1, 1, W)[None, :]
    ys = np.linspace(-1, 1, H)[:, None]
    light = 1.0 - 0.16 * xs**2 - 0.06 * (ys + 0.4) ** 2 - 0.05 * xs
    shade = Image.fromarray(np.clip(light * 255, 0, 255).astype(np.uint8)).convert("RGB")
    folds = Image.new("L", (W, H), 255)
    fd = ImageDraw.Draw(folds)
    for _ in range(rng.randint(2, 4)):
        x0 = rng.uniform(W * 0.3, W * 0.7)
        fd.line(
            [(x0, rng.uniform(140, 250)), (x0 + rng.uniform(-40, 40), rng.uniform(330, 450))],
            fill=222,
            width=rng.randint(8, 14),
        )
    for poly in sleeves:  # sleeves sit a little behind the body
        fd.polygon(poly, fill=232)
    folds = folds.filter(ImageFilter.GaussianBlur(12)).convert("RGB")
    return ImageChops.multiply(shade, folds)


def _details(shirt: Image.Image, mask: Image.Image, style: str, base: RGB, acc: RGB, rng: random.Random) -> None:
    """Neckline, collar, placket, buttons, seams and hems drawn onto ``shirt`` and ``mask``."""
    d = ImageDraw.Draw(shirt)
    md = ImageDraw.Draw(mask)
    cx = W / 2
    top = min(y for x, y in _neck_points(mask))
    seam = _mix(base, (0, 0, 0), 0.35)
    inner = _mix(base, (0, 0, 0), 0.55)
    button = (240, 240, 235) if sum(base) < 450 else (60, 60, 60)
    if style == "tshirt":
        d.chord([cx - 36, top - 16, cx + 36, top + 30], 0, 180, fill=inner)
        d.arc([cx - 38, top - 18, cx + 38, top + 34], 0, 180, fill=_mix(base, acc, 0.25), width=9)
    else:
        d.polygon([(cx - 30, top), (cx + 30, top), (cx, top + 40)], fill=inner)
        wing = 44 if style == "buttondown" else 40
        collar = base if style == "buttondown" else _mix(base, acc, 0.15)
        for s in (-1, 1):
            pts = [(cx + s * 32, top - 8), (cx + s * 4, top + 44), (cx + s * wing, top + 50)]
            d.polygon(pts, fill=collar, outline=seam)
            md.polygon(pts, fill=255)
        end = 460 if style == "buttondown" else top + 110
        d.line([(cx - 9, top + 40), (cx - 9, end)], fill=seam, width=2)
        d.line([(cx + 9, top + 40), (cx + 9, end)], fill=seam, width=2)
        n_buttons = 7 if style == "buttondown" else 3
        for k in range(n_buttons):
            y = top + 55 + k * (end - top - 70) / max(1, n_buttons - 1)
            d.ellipse([cx - 4, y - 4, cx + 4, y + 4], fill=button, outline=seam)
        if style == "buttondown" and rng.random() < 0.6:  # chest pocket
            px = cx - 70
            d.rectangle([px, top + 90, px + 44, top + 140], outline=seam, width=2)
    # Hem seam.
    ys = np.nonzero(np.asarray(mask)[:, int(cx)])[0]
    if len(ys):
        d.line([(cx - 110, ys[-1] - 10), (cx + 110, ys[-1] - 10)], fill=seam, width=2)


def _neck_points(mask: Image.Image) -> list[tuple[int, int]]:
    arr = np.asarray(mask)
    rows = np.nonzero(arr[:, W // 2 - 40 : W // 2 + 40].any(axis=1))[0]
    y = int(rows[0]) if len(rows) else 70
    return [(W // 2, y)]


def _pose(
    img: Image.Image, angle: float, scale: float, dx: float, dy: float, resample: Image.Resampling
) -> Image.Image:
    img = img.rotate(angle, resample=resample, center=(W / 2, H / 2), translate=(dx, dy))
    sw, sh = int(W * scale), int(H * scale)
    small = img.resize((sw, sh), resample)
    canvas = Image.new(img.mode, (W, H), 0)
    canvas.paste(small, ((W - sw) // 2, (H - sh) // 2))
    return canvas


def _background(rng: random.Random) -> Image.Image:
    """A light studio backdrop with a gentle vertical gradient."""
    tone = rng.choice([(244, 244, 242), (238, 240, 243), (246, 243, 238), (235, 235, 235)])
    ys = np.linspace(0, 1, H)[:, None, None]
    bg = np.array(tone, np.float32)[None, None, :] * (1.0 - 0.06 * ys) * np.ones((1, W, 1))
    return Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
