"""``bench``'s export figure: every product's top-k list over synthetic vectors, written as JSON
lines, with its time and the memory it takes above the index (sampled while it runs)."""

from __future__ import annotations

import gc
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from shirtsim.cli.bench_data import _synthetic_index
from shirtsim.cli.bench_memory import _proc_bytes
from shirtsim.describe.descriptors import DEFAULT_MODE, MODES
from shirtsim.feed.export import export
from shirtsim.feed.lists import ListMaker


def bench_export(n: int, k: int = 10) -> dict:
    """Export ``n`` synthetic products' lists of ``k`` (the default mode, no rules)."""
    index = _synthetic_index(n, np.random.default_rng(n))
    gc.collect()
    maker = ListMaker(index, None, MODES[DEFAULT_MODE], k)
    with tempfile.TemporaryDirectory() as tmp, _PeakResident() as peak:
        out = Path(tmp) / "feed.jsonl"
        t0 = time.perf_counter()
        summary = export(maker, "jsonl", out)
        seconds = time.perf_counter() - t0
        size = out.stat().st_size
    return {
        "items": n,
        "k": k,
        "seconds": round(seconds, 1),
        "products_per_s": round(summary.products / seconds),
        "method": "all-pairs" if index.approx is None else "ivf",
        "peak_above_index_mb": round(peak.above / 1e6),
        "output_mb": round(size / 1e6, 1),
    }


class _PeakResident:
    """The most resident memory above what the process held on entry (the index, the model),
    sampled every 20 ms by a thread (ru_maxrss cannot be reset)."""

    def __enter__(self) -> _PeakResident:
        self.start = self.peak = _resident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _resident())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _resident())

    @property
    def above(self) -> int:
        return self.peak - self.start


def _resident() -> int:
    return _proc_bytes("/proc/self/status", "VmRSS") or 0
