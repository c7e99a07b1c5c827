"""Float32 candidate scans for similar lists: each query's best rows, found block by block so no
N x N matrix is ever held.

Both scans keep, per query, a heap of its ``fetch`` best scores so far (faiss' heap arrays: C++
loops over a whole block at once). :func:`best_pairs` is the export's: every catalog shirt against
every other. The product is symmetric, so each pair of blocks is multiplied once and read both
ways, and a block updates a heap only where a score beats the heap's current smallest (found by a
vectorised comparison; after the first blocks almost no score does), which keeps the selection
to a fraction of the multiplication. Figures: docs/feed.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shirtsim.progress import ProgressFn

if TYPE_CHECKING:
    import faiss

PAIR_BLOCK = 2048  # rows per block of the all-pairs scan: a 2048 x 2048 float32 block is 16 MB


def best_of_block(scores: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``fetch`` best columns of a (Q, M) float32 block (-inf: not allowed), as
    (scores, columns), each (Q, fetch), in no order; column -1 where a row has fewer."""
    scores = np.ascontiguousarray(scores, np.float32)
    vals, cols = _empty(len(scores), fetch)
    if scores.size:
        _heap(vals, cols).addn(scores.shape[1], _ptr(scores), 0, 0, len(scores))
    return vals, cols


def best_pairs(vectors: np.ndarray, fetch: int, progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``fetch`` best rows of ``vectors @ vectors.T`` (itself among them), as (scores,
    rows), each (N, fetch), in no order; row -1 where there are fewer."""
    n = len(vectors)
    vals, rows = _empty(n, fetch)
    starts = list(range(0, n, PAIR_BLOCK))
    # The diagonal blocks first: every heap then holds fair scores, and later blocks rarely beat them.
    for i0 in starts:
        block = _block(vectors, i0)
        scores = block @ block.T
        _heap(vals[i0 : i0 + len(block)], rows[i0 : i0 + len(block)]).addn(len(block), _ptr(scores), i0, 0, len(block))
    total = len(starts) * (len(starts) - 1) // 2
    done = 0
    for b, i0 in enumerate(starts):
        left = _block(vectors, i0)
        for j0 in starts[b + 1 :]:
            scores = left @ _block(vectors, j0).T
            width = scores.shape[1]
            flat = scores.ravel()
            # the left block's rows, then the right block's (read down the columns)
            hits = np.flatnonzero(scores > vals[i0 : i0 + len(left), 0][:, None])
            r, c = np.divmod(hits, width)
            _add_sparse(vals, rows, r + i0, c + j0, flat[hits])
            hits = np.flatnonzero(scores > vals[j0 : j0 + width, 0][None, :])
            r, c = np.divmod(hits, width)
            order = np.argsort(c, kind="stable")
            _add_sparse(vals, rows, c[order] + j0, r[order] + i0, flat[hits[order]])
            done += 1
        if progress is not None and total:
            progress(done, total, "comparing every shirt with every other")
    return vals, rows


def _block(vectors: np.ndarray, start: int) -> np.ndarray:
    return np.ascontiguousarray(vectors[start : start + PAIR_BLOCK], np.float32)


def _add_sparse(vals: np.ndarray, rows: np.ndarray, at: np.ndarray, found: np.ndarray, scores: np.ndarray) -> None:
    """Offer ``scores`` of rows ``found`` to the heaps of rows ``at`` (sorted ascending)."""
    if not len(at):
        return
    heads, first, counts = np.unique(at, return_index=True, return_counts=True)
    width = int(counts.max())
    group = np.repeat(np.arange(len(heads)), counts)
    place = np.arange(len(at)) - np.repeat(first, counts)
    offered = np.full((len(heads), width), -np.inf, np.float32)
    offered_rows = np.full((len(heads), width), -1, np.int64)
    offered[group, place] = scores
    offered_rows[group, place] = found
    heap_vals, heap_rows = vals[heads], rows[heads]
    _heap(heap_vals, heap_rows).addn_with_ids(width, _ptr(offered), _ptr(offered_rows), width, 0, len(heads))
    vals[heads], rows[heads] = heap_vals, heap_rows


def _empty(n: int, fetch: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, fetch), -np.inf, np.float32), np.full((n, fetch), -1, np.int64)


def _heap(vals: np.ndarray, ids: np.ndarray) -> faiss.float_minheap_array_t:
    """faiss' min-heaps (the smallest of the best at [:, 0]) over rows of ``vals`` and ``ids``,
    which must be C-contiguous: faiss writes them in place."""
    import faiss  # noqa: PLC0415 (not at import: the page's start does not need it)

    heap = faiss.float_minheap_array_t()
    heap.nh, heap.k = vals.shape
    heap.val, heap.ids = _ptr(vals), _ptr(ids)
    return heap


def _ptr(array: np.ndarray) -> object:
    import faiss  # noqa: PLC0415

    return faiss.swig_ptr(array)
