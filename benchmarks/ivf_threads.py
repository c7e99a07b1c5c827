"""Top-10 at a million shirts: one query's IVF lists on one core (faiss' default) or shared
among the cores (``parallel_mode`` 1, what shirtsim sets), side by side on one index.

    python benchmarks/ivf_threads.py [--items 1000000] [--queries 200]

The synthetic clustered vectors of ``shirtsim bench`` (its default mode's width), the IVF that
``shirtsim.index.approx`` builds for that size, the same probes either way; recall@10 against the
exact scan in every mode. About 3 minutes and 9 GB at a million.
"""

import argparse
import statistics
import time

import numpy as np
from common import ROOT  # noqa: F401 (puts the checkout on sys.path)

from shirtsim.cli.bench_data import _synthetic_raw
from shirtsim.describe.descriptors import MODES, STYLE_KIND
from shirtsim.index.approx import build_ivf
from shirtsim.index.search import SearchIndex

RECALL_QUERIES = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(args.items)
    index = SearchIndex.build(STYLE_KIND, [str(i) for i in range(args.items)], _synthetic_raw(args.items, rng))
    ivf = build_ivf(index.matrix)
    rows = rng.integers(0, args.items, args.queries)
    exact = {}
    for mode in ("balanced", "pattern", "colour"):
        index.approx = None
        exact[mode] = [
            {m.id for m in index.search(index.matrix[r], MODES[mode], 10, str(r))} for r in rows[:RECALL_QUERIES]
        ]
    print(
        f"{args.items:,} items of {index.layout.dim} values, {ivf.nlist} lists, {ivf.nprobe} probed, "
        f"{args.queries} queries"
    )
    print(f"{'lists of one query':<24}{'p50 ms':>8}{'p99 ms':>8}   recall@10 balanced / pattern / colour")
    index.approx = ivf
    for parallel_mode, name in ((0, "on one core (faiss)"), (1, "shared (shirtsim)")):
        ivf.parallel_mode = parallel_mode
        times = []
        for r in rows:
            start = time.perf_counter()
            index.search(index.matrix[r], MODES["balanced"], 10, str(r))
            times.append((time.perf_counter() - start) * 1000)
        recall = [
            np.mean(
                [
                    len({m.id for m in index.search(index.matrix[r], MODES[mode], 10, str(r))} & want) / 10
                    for r, want in zip(rows, exact[mode])
                ]
            )
            for mode in exact
        ]
        print(
            f"{name:<24}{statistics.median(times):>8.2f}{np.percentile(times, 99):>8.2f}   "
            + " / ".join(f"{x:.3f}" for x in recall)
        )


if __name__ == "__main__":
    main()
