"""Scenes made from real product photos (the photo cut from its white background, scaled and
pasted on a plain noisy backdrop three times its size) queried with and without the proposed box:
how much of the clean photo's precision an upload keeps. benchmarks/crop.py reports it; the CI
test runs its first scenes."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

from shirtsim.describe.descriptors import MODES
from shirtsim.engine import Engine

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-shirts-dev"

COLUMNS = ("articleType", "baseColour", "pattern")
SEED = 20261126
K = 10
WHITE_ABOVE = 235
SCALES = (1.0, 1.8)
NOISE = 12.0
REFERENCES = 300  # scenes that also get the rows without the product's box (three more uploads each)


def make_scene(photo: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The issue's scene for ``photo`` and the fractions box where the pasted photo lies."""
    rgb = np.asarray(photo.convert("RGB"))
    alpha = np.where((rgb > WHITE_ABOVE).all(axis=2), 0, 255).astype(np.uint8)
    w, h = photo.size
    scale = rng.uniform(*SCALES)
    size = (round(w * scale), round(h * scale))
    pasted = Image.fromarray(rgb).resize(size, Image.BILINEAR)
    mask = Image.fromarray(alpha).resize(size, Image.NEAREST)
    sw, sh = 3 * w, 3 * h
    colour = rng.integers(0, 256, 3)
    field = colour[None, None, :] + rng.normal(0.0, NOISE, (sh, sw, 3))
    scene = Image.fromarray(np.clip(np.rint(field), 0, 255).astype(np.uint8))
    x, y = int(rng.integers(0, sw - size[0] + 1)), int(rng.integers(0, sh - size[1] + 1))
    scene.paste(pasted, (x, y), mask)
    return scene, (x / sw, y / sh, (x + size[0]) / sw, (y + size[1]) / sh)


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def read_labels(folder: Path) -> dict[str, dict[str, str]]:

    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def measure(engine: Engine, count: int | None = None, log=None, references: int = REFERENCES) -> dict:
    """The table's rows: {row: {column: precision, "mean": m, "share": m / baseline mean, "scenes": n}}.
    The rows without the product's box (the whole scene, cut by hand...) are made for the first
    ``references`` scenes only; their share is of the baseline on those same scenes."""
    mode = MODES["balanced"]
    index = engine.index(mode.kind)
    labels = read_labels(REAL)
    ids = sorted(index.ids, key=lambda i: (len(i), i))
    rng = np.random.default_rng(SEED)
    ids = [ids[n] for n in rng.permutation(len(ids))][: count or None]
    hits: dict[str, dict[int, dict[str, float]]] = {}  # row -> scene -> column -> precision@K
    seconds: list[float] = []

    def score(row: str, scene: int, own: str, prepared: np.ndarray) -> None:
        found = [m.id for m in index.search(prepared, mode, K + 1) if m.id != own][:K]
        got = {c: sum(labels[f][c] == labels[own][c] for f in found) / K for c in COLUMNS if labels[own][c]}
        hits.setdefault(row, {})[scene] = got

    for n, shirt in enumerate(ids):
        score("original", n, shirt, index.stored(shirt))
        scene, exact = make_scene(Image.open(REAL / f"{shirt}.jpg"), rng)
        data = png(scene)
        if n < references:
            w, h = scene.size
            by_hand = png(
                scene.crop((round(exact[0] * w), round(exact[1] * h), round(exact[2] * w), round(exact[3] * h)))
            )
            for row, photo_bytes, box in (
                ("scene, whole", data, None),
                ("scene, cut by hand", by_hand, None),
                ("exact box, whitened", data, exact),
            ):
                upload = engine.read_upload(photo_bytes, "scene.png", mode.kind, box)
                score(row, n, shirt, index.prepare(upload.vector))
        start = time.perf_counter()
        upload = engine.read_upload(data, "scene.png", mode.kind, "auto")
        seconds.append(time.perf_counter() - start)
        score("scene, --auto-box", n, shirt, index.prepare(upload.vector))
        if log and (n + 1) % 100 == 0:
            log(f"{n + 1}/{len(ids)} scenes")
    table = {row: _figures(per_scene) for row, per_scene in hits.items()}
    for row, figures in table.items():
        baseline = _figures({n: hits["original"][n] for n in hits[row]})
        figures["share"] = figures["mean"] / baseline["mean"]
    return {"scenes": len(ids), "rows": table, "auto_box_upload_ms_p50": 1000 * float(np.median(seconds))}


def _figures(per_scene: dict[int, dict[str, float]]) -> dict:
    """Precision per column over the scenes that have that label, their mean, the scene count."""
    out = {c: float(np.mean([got[c] for got in per_scene.values() if c in got])) for c in COLUMNS}
    out["mean"] = float(np.mean([out[c] for c in COLUMNS]))
    out["scenes"] = len(per_scene)
    return out
