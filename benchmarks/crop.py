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
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shirtsim.engine import Engine  # noqa: E402
from tests.support.crop_scenes import REFERENCES, K, measure  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real-shirts-dev"


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
