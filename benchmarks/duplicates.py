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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shirtsim.overview.duplicates import DEFAULT_THRESHOLD  # noqa: E402
from tests.support.duplicate_copies import GOAL, measure  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real-shirts-dev"
REPORT_SEED = 4  # no setting was looked at on it (module docstring)


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
