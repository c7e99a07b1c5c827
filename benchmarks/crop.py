"""Uploads of a shirt in a scene: how much of a clean photo's precision the proposed box keeps.

    python benchmarks/crop.py [--count N] [--json]

Scenes are made from ../shared/data/real-shirts-dev (fixed seed): each photo's white background
(pixels above 235 in all three channels) is made transparent, the photo scaled by a random factor
from 1.0 to 1.8 and pasted at a random place on a scene three times the photo's width and height,
filled with a random plain colour plus Gaussian noise (standard deviation 12). Every scene goes in
as an upload would (PNG bytes through ``Engine.read_upload``) and queries the original catalog in
balanced mode, its own original left out; precision@10 per label column (empty labels skipped),
then the mean over articleType, baseColour and pattern. Rows:

- ``original``: the baseline, each original photo as the query (itself left out);
- ``scene, whole``: the scene uploaded as it is (today without a box);
- ``scene, cut by hand``: cropped exactly to the pasted photo and uploaded as it is (background kept);
- ``exact box, whitened``: that same box given as ``--box`` (background made white, padded square);
- ``scene, --auto-box``: the proposed box, background made white (the product's path);

each with its share of the baseline's mean on the same scenes. ``--count`` takes the first N
photos of a fixed shuffle (all 1,691 by default; the CI test uses the first 400); the three
reference rows are made for the first ``--references`` scenes (300) only.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shirtsim.describe.descriptors import MODES  # noqa: E402
from shirtsim.engine import Engine  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real-shirts-dev"
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
    import csv

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="scenes to make (default: one per photo)")
    parser.add_argument(
        "--references", type=int, default=REFERENCES, help=f"scenes with the reference rows (default {REFERENCES})"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (REAL / "labels.csv").is_file():
        print(f"crop: real product photos not found at {REAL}", file=sys.stderr)
        return 2
    engine = Engine(REAL)
    progress = None if args.json else lambda m: print(m, file=sys.stderr, flush=True)
    result = measure(engine, args.count, progress, args.references)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{result['scenes']} scenes, balanced mode, precision@{K} (own photo left out)")
    print(
        f"{'query':20} {'scenes':>6} {'articleType':>11} {'baseColour':>10} {'pattern':>8} {'mean':>6} "
        f"{'of original':>11}"
    )
    for row, f in result["rows"].items():
        print(
            f"{row:20} {f['scenes']:6} {f['articleType']:11.3f} {f['baseColour']:10.3f} {f['pattern']:8.3f} "
            f"{f['mean']:6.3f} {100 * f['share']:10.1f}%"
        )
    print(f"upload with --auto-box, p50: {result['auto_box_upload_ms_p50']:.0f} ms (decode, box, cut-out, embed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
