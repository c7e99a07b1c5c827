"""Approximate top-k for catalogs too large to scan exactly within the latency goal.

Below :data:`APPROX_MIN_ITEMS` items an exact scan answers a top-10 query in well under 50 ms
on two cores (``python -m shirtsim bench``), so it is used there: exact, reproducible, nothing
to build.  From that size on, a faiss IVF-Flat index (Meta's faiss: the maintained reference
library for this) scans only the ``nprobe`` clusters nearest to the query.

Why IVF-Flat rather than a graph (HNSW): every mode is an inner product with a re-weighed query
(``weigh``), and IVF ranks any query vector by plain inner products against full-precision
vectors, so the modes keep working with one index; it builds in seconds per million items;
it adds 8 bytes per item to the 4 KB vectors.  Recall@10 against the exact scan is measured by
``bench`` and by the quality test on real photos.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss

APPROX_MIN_ITEMS = 200_000
TRAIN_POINTS_PER_LIST = 40  # k-means sample size per cluster: faiss' guidance is 30 to 256


def lists_for(n: int) -> int:
    """Number of IVF clusters for ``n`` items: about sqrt(n), the usual balance of the two scans."""
    return max(1, min(n // TRAIN_POINTS_PER_LIST, int(round(np.sqrt(n)))))


def probes_for(lists: int) -> int:
    """Clusters scanned per query: 1/8 of them, at least 10.

    Measured recall@10 against the exact scan on the real photos (41 lists): balanced 0.99,
    colour 0.98, pattern 0.96 with 10 probes, but pattern only 0.85 with 4: clusters are formed
    on the unweighted vectors, so the mode that weighs one part most needs the widest scan.
    """
    return min(lists, max(10, lists // 8))


def build_ivf(matrix: np.ndarray, seed: int = 0) -> faiss.Index:
    """A faiss IVF-Flat inner-product index over the rows of ``matrix`` (row number = id)."""
    import faiss  # noqa: PLC0415 (only large catalogs need it)

    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, dim = matrix.shape
    lists = lists_for(n)
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(seed).choice(n, size=min(n, lists * TRAIN_POINTS_PER_LIST), replace=False)
    ivf.train(matrix[np.sort(sample)])
    ivf.add(matrix)
    return _tuned(ivf)


def to_bytes(ivf: faiss.Index) -> bytes:
    import faiss  # noqa: PLC0415

    return faiss.serialize_index(ivf).tobytes()


def from_bytes(data: bytes) -> faiss.Index:
    """The index written by :func:`to_bytes` (the caller has checked the file's checksum)."""
    import faiss  # noqa: PLC0415

    return _tuned(faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8)))


def _tuned(ivf: faiss.Index) -> faiss.Index:
    """Search settings, which faiss does not store: the probes, and one query's lists shared among
    the cores (``parallel_mode`` 1; faiss' default splits a batch of queries, and a page asks one
    at a time: docs/performance.md has the figures)."""
    ivf.nprobe = probes_for(ivf.nlist)
    ivf.parallel_mode = 1
    return ivf


def search_ivf(ivf: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``k`` best rows for one query; missing slots have row -1."""
    scores, rows = ivf.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
    return scores[0], rows[0]


def memory_bytes(ivf: faiss.Index) -> int:
    """What the index holds in memory: vectors and ids in its lists, plus the cluster centres."""
    return int(ivf.ntotal * (ivf.d * 4 + 8) + ivf.nlist * ivf.d * 4)
