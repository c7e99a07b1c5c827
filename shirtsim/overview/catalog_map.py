"""The whole catalog on one page: a 2D map of its shirts (PCA of the vectors a mode compares).

Each part of a prepared vector is scaled by the square root of the mode's weight for it, so the
map's distances follow the mode's own score (for unit-length parts, squared distance =
2 - 2 x score). PCA, not UMAP or t-SNE: exact, deterministic, a new upload lands where it
belongs (:meth:`CatalogMap.place`), and it is quick at catalog sizes (docs/performance.md).
Nothing here needs Streamlit; the app draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shirtsim.describe.descriptors import Layout, Mode

SUBSPACE = 8  # directions iterated together: the leading two converge fast when a few more come along
ITERATIONS = 12
FIT_ROWS = 20_000  # vectors the directions are found on, and placed at once (~160 MB in float64)


@dataclass(frozen=True)
class CatalogMap:
    ids: list[str]
    xy: np.ndarray  # (N, 2) float32, one row per id
    centre: np.ndarray  # (D,) the weighted vectors' mean
    axes: np.ndarray  # (2, D) the first two principal directions, in the weighted space
    scales: np.ndarray  # (D,) each value's weight: sqrt(part weight) / part length
    explained: tuple[float, float]  # share of the variance each axis shows

    def ids_in(self, xs: tuple[float, float], ys: tuple[float, float]) -> list[str]:
        """The ids inside a rectangle of the map (a drag across it), in catalog order."""
        (x0, x1), (y0, y1) = sorted(xs), sorted(ys)
        x, y = self.xy[:, 0], self.xy[:, 1]
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        return [self.ids[n] for n in np.flatnonzero(inside)]

    def place(self, prepared: np.ndarray) -> tuple[float, float]:
        """Where a prepared vector (an upload) falls on this map."""
        x, y = (np.asarray(prepared, np.float64) * self.scales - self.centre) @ self.axes.T
        return float(x), float(y)


def value_scales(layout: Layout, mode: Mode) -> np.ndarray:
    """Per value of a prepared vector: sqrt(its part's weight) / its part's length."""
    scales = np.ones(layout.dim, np.float64)
    for part, weight, length in zip(layout.parts, mode.part_weights(layout.names), layout.lengths):
        scales[part] = np.sqrt(weight) / length
    return scales


def make_map(ids: list[str], vectors: np.ndarray, layout: Layout, mode: Mode) -> CatalogMap:
    """The map of prepared ``vectors`` (one row per id) as ``mode`` sees them.

    The directions are found on at most :data:`FIT_ROWS` vectors (every one up to there, an even
    spread beyond), and every vector is then placed in chunks: memory stays bounded however
    large the catalog."""
    scales = value_scales(layout, mode)
    vectors = np.asarray(vectors)
    if len(vectors) < 3:  # no directions to find: everything at the origin
        centre = (vectors * scales).mean(axis=0) if len(vectors) else np.zeros(layout.dim)
        return CatalogMap(list(ids), np.zeros((len(ids), 2), np.float32), centre, np.eye(2, layout.dim), scales, (0, 0))
    rows = np.unique(np.linspace(0, len(vectors) - 1, min(len(vectors), FIT_ROWS)).round().astype(np.int64))
    x = np.asarray(vectors[rows], np.float64) * scales
    centre = x.mean(axis=0)
    x -= centre
    # The two leading directions by subspace iteration: a few thin products with the vectors,
    # never the D x D covariance (seconds for 10,000 vectors on two cores, against ~0.1 s here).
    basis = np.random.default_rng(0).standard_normal((layout.dim, SUBSPACE))
    for _ in range(ITERATIONS):
        basis, _ = np.linalg.qr(x.T @ (x @ basis))
    values, small = np.linalg.eigh((x @ basis).T @ (x @ basis))
    order = np.argsort(values)[::-1][:2]
    axes = (basis @ small[:, order]).T
    axes *= np.where(axes[np.arange(2), np.abs(axes).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]  # a fixed sign
    total = float((x * x).sum())
    explained = tuple(float(values[o] / total) if total > 0 else 0.0 for o in order)
    xy = np.empty((len(vectors), 2), np.float32)
    for start in range(0, len(vectors), FIT_ROWS):
        chunk = np.asarray(vectors[start : start + FIT_ROWS], np.float64) * scales - centre
        xy[start : start + len(chunk)] = chunk @ axes.T
    return CatalogMap(list(ids), xy, centre, axes, scales, explained)
