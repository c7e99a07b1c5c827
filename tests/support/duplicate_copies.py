"""Real photos with injected copies (the same picture, a 50% resize, a 5% crop, a mirror, each
re-saved as JPEG quality 60), scanned by the product's own near-duplicate path and judged: how
many copies are found, how many false pairs. benchmarks/duplicates.py reports it; the CI test runs it."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from shirtsim.catalog.folder import discover
from shirtsim.overview.duplicates import DEFAULT_THRESHOLD, scan_catalog

WAYS = ("same", "resize", "crop", "mirror")
GOAL = {"found": 0.95, "false_per_1000": 1.0}
REPORT_SEED = 4  # no setting was looked at on it (module docstring)


def copy_of(img: Image.Image, way: str) -> Image.Image:
    w, h = img.size
    if way == "resize":
        return img.resize((max(1, w // 2), max(1, h // 2)), Image.BILINEAR)
    if way == "crop":
        return img.crop((round(0.05 * w), round(0.05 * h), w, h))
    if way == "mirror":
        return ImageOps.mirror(img)
    return img


def inject(source: Path, target: Path, copies: int, seed: int) -> dict[str, str]:
    """Copy ``source``'s photos into ``target`` and add ``copies`` injected copies; copy id -> source id."""
    target.mkdir(parents=True, exist_ok=True)
    originals = sorted((p for p in source.iterdir() if p.suffix.lower() == ".jpg"), key=lambda p: p.name)
    for p in originals:
        shutil.copyfile(p, target / p.name)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(originals), size=min(copies, len(originals)), replace=False)
    made = {}
    for n, k in enumerate(sorted(chosen)):
        way = WAYS[n % len(WAYS)]
        with Image.open(originals[k]) as img:
            picture = copy_of(img.convert("RGB"), way)
        name = f"copy-{originals[k].stem}-{way}"
        picture.save(target / f"{name}.jpg", "JPEG", quality=60)
        made[name] = originals[k].stem
    return made


def scores_of(folder: Path, cache: Path) -> tuple[list[str], list[tuple[float, int, int]], float]:
    catalog = discover(folder)
    start = time.perf_counter()
    found = scan_catalog(catalog, cache)
    return found.ids, found.links, time.perf_counter() - start


def judge(ids: list[str], links: list[tuple[float, int, int]], copies: dict[str, str]) -> tuple[list, list]:
    """(score of each injected pair, or -1 when it was no candidate), (scores of false pairs)."""
    pair_score = {}
    false = []
    for score, i, j in links:
        a, b = ids[i], ids[j]
        pair_score[(a, b)] = pair_score[(b, a)] = score
        if (a in copies or b in copies) and copies.get(a) != b and copies.get(b) != a:
            false.append(score)
    true = [pair_score.get((c, s), -1.0) for c, s in copies.items()]
    return true, false


def at(threshold: float, true: list, false: list, images: int) -> dict:
    found = float(np.mean([t >= threshold for t in true]))
    wrong = int(sum(f >= threshold for f in false))
    return {"threshold": threshold, "found": round(found, 4), "false_pairs": wrong,
            "false_per_1000": round(1000 * wrong / images, 3)}  # fmt: skip


def measure(source: Path, copies: int, seed: int, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """One injected catalog, judged at ``threshold``, plus what it needs to choose one."""
    with tempfile.TemporaryDirectory() as tmp:
        made = inject(source, Path(tmp) / "catalog", copies, seed)
        ids, links, seconds = scores_of(Path(tmp) / "catalog", Path(tmp) / "cache")
    true, false = judge(ids, links, made)
    by_way = {
        way: round(float(np.mean([t >= threshold for t, c in zip(true, made) if c.endswith(way)])), 4) for way in WAYS
    }
    result = at(threshold, true, false, len(ids))
    return result | {
        "images": len(ids),
        "copies": len(made),
        "found_by_way": by_way,
        "lowest_true": round(min(true), 4),
        "highest_false": round(max(false, default=0.0), 4),
        "candidates_scored": len(links),
        "seconds": round(seconds, 1),
    }
