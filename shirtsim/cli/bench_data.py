"""Synthetic descriptors for ``bench``: clustered like real shirts', so neighbourhoods overlap as
theirs do and an approximate index is neither trivially perfect nor useless."""

from __future__ import annotations

import numpy as np

from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.index.approx import APPROX_MIN_ITEMS, build_ivf
from shirtsim.index.search import SearchIndex

SYNTHETIC_CLUSTERS = 2000


SYNTHETIC_CHUNK = 100_000


def _synthetic_raw(
    n: int, rng: np.random.Generator, clusters: int = SYNTHETIC_CLUSTERS, chunk: int = SYNTHETIC_CHUNK
) -> np.ndarray:
    """Clustered stand-ins for real descriptors: each is a random mix of three of ``clusters``
    centres plus noise, so neighbourhoods overlap as real shirts' do (uniform noise would make
    every top-10 meaningless and any approximate index look perfect or useless)."""
    centres = rng.random((clusters, STYLE_KIND.dim), dtype=np.float32)
    out = np.empty((n, STYLE_KIND.dim), np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        mix = rng.dirichlet([0.5, 0.5, 0.5], m).astype(np.float32)
        picks = rng.integers(0, clusters, (m, 3))
        out[start : start + m] = sum(mix[:, j, None] * centres[picks[:, j]] for j in range(3))
        out[start : start + m] += 0.3 * rng.random((m, STYLE_KIND.dim), dtype=np.float32)
    return out


def _synthetic_index(n: int, rng: np.random.Generator) -> SearchIndex:
    index = SearchIndex.build(STYLE_KIND, [str(i) for i in range(n)], _synthetic_raw(n, rng))
    if n >= APPROX_MIN_ITEMS:
        index.approx = build_ivf(index.matrix)
    return index
