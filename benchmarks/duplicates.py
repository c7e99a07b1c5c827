"""Near-duplicates on real product photos with injected copies: how many are found, how many false.

    python benchmarks/duplicates.py [--copies N] [--json]

Protocol (the issue's): real-shirts-dev's photos are copied into a temporary catalog, with N
extra files (default 200), each a copy of a random original made one of four ways in turn:
the same picture, a 50% resize, a 5% crop from the top-left, a mirror; every copy saved as JPEG
quality 60. The catalog goes through the product's own path (``shirtsim.overview.duplicates.scan_catalog``,
what ``Engine.duplicates`` and ``shirtsim duplicates`` run). An injected pair is *found* when
its copy and its source score at least the threshold; a *false pair* is a pair scoring at
least the threshold that holds a copy and anything but its source (pairs among the original
photos are not judged: the set holds genuine look-alikes).

The threshold is chosen on one set of copies (seed 1: halfway between the highest false pair
and the lowest true pair) and reported on another (seed 4). The descriptor's own settings
(detail band, cuts, colour penalty, candidates) were worked out while looking at seeds 1 and 2,
and the CI test (``tests/test_duplicates.py``: ``measure`` on 120 copies) runs seed 3, so seed 4
is the set nothing was tuned on.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shirtsim.catalog.folder import discover  # noqa: E402
from shirtsim.overview.duplicates import DEFAULT_THRESHOLD, scan_catalog  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real-shirts-dev"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not REAL.is_dir():
        sys.exit(f"real-shirts-dev not found at {REAL}")
    choose = measure(REAL, args.copies, seed=1)
    chosen = round((choose["lowest_true"] + choose["highest_false"]) / 2, 2)
    report = measure(REAL, args.copies, seed=REPORT_SEED, threshold=chosen)
    result = {
        "chosen_on_seed_1": choose,
        "threshold": chosen,
        "reported_on_seed": REPORT_SEED,
        "reported": report,
        "goal": GOAL,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"seed 1 (choosing): lowest true pair {choose['lowest_true']}, highest false pair {choose['highest_false']}")
    print(f"  -> threshold {chosen} (shirtsim.overview.duplicates.DEFAULT_THRESHOLD is {DEFAULT_THRESHOLD})")
    r = report
    print(
        f"seed {REPORT_SEED} (reported), {r['images']} images with {r['copies']} injected copies, threshold {chosen}:"
    )
    print(f"  injected pairs found: {r['found']:.1%} (goal {GOAL['found']:.0%}); by way: "
          + ", ".join(f"{w} {v:.0%}" for w, v in r["found_by_way"].items()))  # fmt: skip
    print(f"  false pairs: {r['false_pairs']} = {r['false_per_1000']:.2f} per 1,000 images (goal <= 1)")
    print(f"  lowest true pair {r['lowest_true']}, highest false pair {r['highest_false']}")
    print(f"  {r['candidates_scored']} candidate pairs verified; prints and scoring {r['seconds']} s (cold cache)")


if __name__ == "__main__":
    main()
