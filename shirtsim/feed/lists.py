"""Similar lists under a store's rules and curation: one implementation for ``similar``, the export
and the page, so each product's exported list is exactly what ``similar`` says for it.

A list is made in three steps:

1. candidates: the index's best rows for the query among those the rules allow (a masked exact
   float32 scan in memory, several queries at once, or for the whole catalog one all-pairs scan:
   :mod:`shirtsim.feed.scan`; the approximate index or Milvus, asked for more until enough pass);
2. their scores again in float64 (:func:`_scores`: the same arithmetic however many rows are
   scored together, so the export and ``similar`` agree to the last digit), ranked by score, ties by
   catalog order; ``one_per`` keeps the best of each value;
3. the curation: blocked shirts never appear, pinned ones are put at their positions.

Exactness: a candidate set is complete when the best row left out scores, in float32, at least
:data:`EPSILON` below the list's last entry; float32 errs far less than that on these vectors
(at most about 1e-6 here). Otherwise the scan is widened.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from shirtsim.catalog.labels import Labels
from shirtsim.describe.descriptors import Layout, Mode
from shirtsim.feed.curation import Curation, Entry
from shirtsim.feed.rules import RuleColumns, Rules
from shirtsim.feed.scan import best_of_block, best_pairs
from shirtsim.index.search import SearchIndex, VectorIndex, weigh
from shirtsim.progress import ProgressFn

EPSILON = 1e-4  # float32 score error allowed for, far above what it is (module docstring)
EXTRA = 16  # candidates beyond what a list needs, fetched at first
BLOCK = 256  # queries scanned together (a 256 x N float32 block: 100 MB at 100,000 shirts)
# The most candidates an approximate index or Milvus is asked for: Milvus' largest top-k is 16,384,
# and its search asks for one more (the query itself). Past it, the local approximate index falls
# back to the exact scan; Milvus lists stop there (docs/feed.md).
MAX_REMOTE = 16_383


@dataclass(frozen=True)
class Request:
    """One list to make: a prepared query vector, the catalog shirt it is (None for a photo or a
    steered mix: no rules read its labels, no curation is its), and shirts to leave out."""

    vector: np.ndarray
    query_id: str | None = None
    exclude: frozenset[str] = frozenset()


@dataclass
class ResultList:
    entries: list[Entry]
    short: bool = False  # fewer than asked: the rules or the blocks left fewer candidates


@dataclass
class _Todo:
    request: Request
    query: dict[str, str]
    allowed: np.ndarray | None  # rows the rules and exclusions allow (None: all)
    excluded: np.ndarray  # rows never shown (the query, marked, blocked, pinned)
    weighted: np.ndarray  # the query vector weighted by the mode (float32)
    want: int
    fetch: int
    done: ResultList | None = field(default=None)


class ListMaker:
    """Makes lists for one index, mode, length, rules and curation."""

    def __init__(
        self,
        index: VectorIndex,
        labels: Labels | None,
        mode: Mode,
        k: int,
        rules: Rules | None = None,
        curation: Curation | None = None,
    ) -> None:
        self.index, self.mode, self.k = index, mode, k
        self.rules = rules or Rules()
        self.curation = (curation or Curation()).pinning_only(index)  # a pin of a shirt not indexed: none
        self.labels = labels
        self.columns = RuleColumns(self.rules, labels, index.ids)
        self._row = index.rows
        # weigh(q) == q * factor, to the bit (float32 products either way), at a tenth of the cost
        one_part = len(index.layout.parts) == 1  # weigh() leaves such vectors as they are
        self._factor = None if one_part else weigh(index.layout, np.ones(index.layout.dim, np.float32), mode)
        self._local = index if isinstance(index, SearchIndex) else None
        # Milvus applies the filters on the columns it keeps (catalog.labels' usable ones); the
        # rest, and every other rule, are applied here to what it returns.
        stored = set(labels.usable_columns(exclude=())) if labels is not None else set()
        self._remote_filters = {c: v for c, v in self.rules.filters.items() if c in stored} or None
        # Shirts blocked from every list are left out of every scan (a mask), not fetched and then
        # dropped: thousands of them would otherwise widen every query's candidates.
        everywhere = [self._row[i] for i in self.curation.blocked(None) if i in self._row]
        self._everywhere: np.ndarray | None = None
        if everywhere:
            self._everywhere = np.zeros(len(index), bool)
            self._everywhere[everywhere] = True

    def make(self, requests: Sequence[Request]) -> list[ResultList]:
        """The list of each request, in order."""
        return self._make([self._todo(r) for r in requests])

    def catalog(self, chunk: int, progress: ProgressFn | None = None) -> Iterator[tuple[list[str], list[ResultList]]]:
        """Every catalog shirt's list, ``chunk`` shirts at a time (the export). Without rules that
        depend on the query, the candidates of all come from one all-pairs scan
        (:func:`~shirtsim.feed.scan.best_pairs`: half the arithmetic of one query at a time)."""
        ids = self.index.ids
        pairs = self._all_pairs(progress)
        for start in range(0, len(ids), chunk):
            some = ids[start : start + chunk]
            todos = [self._todo(Request(v, i)) for i, v in zip(some, self._stored(start, some))]
            if pairs is not None:
                for row, todo in enumerate(todos, start):
                    if todo.done is None:
                        self._finish(todo, *self._from_pairs(pairs, row, todo))
            yield some, self._make(todos)

    def _make(self, todos: list[_Todo]) -> list[ResultList]:
        # queries that share their rules' values are scanned together: their masks are one
        pending = sorted((t for t in todos if t.done is None), key=lambda t: sorted(t.query.items()))
        while pending:
            for start in range(0, len(pending), BLOCK):
                self._scan(pending[start : start + BLOCK])
            pending = [t for t in pending if t.done is None]
        return [t.done for t in todos]

    def _all_pairs(self, progress: ProgressFn | None) -> tuple[np.ndarray, np.ndarray] | None:
        """Every shirt's best rows by one symmetric scan, when every query's candidates come from
        the same rows scored the same way (no filter, ``same`` or ``near``; an exact local index)."""
        rules = self.rules
        if self._local is None or self._local.approx is not None or rules.filters or rules.same or rules.near:
            return None
        if self._everywhere is not None and self._everywhere.sum() > EXTRA:  # masked batches are cheaper
            return None
        rooted = _rooted(self.index.layout, self._local.matrix, self.mode)
        if rooted is None:
            return None
        blocked = 0 if self._everywhere is None else int(self._everywhere.sum())
        fetch = self.k + 1 + EXTRA + (3 * self.k if rules.one_per else 0) + blocked
        return best_pairs(rooted, min(fetch, len(rooted)), progress)

    def _from_pairs(
        self, pairs: tuple[np.ndarray, np.ndarray], row: int, todo: _Todo
    ) -> tuple[np.ndarray, float, bool]:
        vals, rows = pairs[0][row], pairs[1][row]
        found = rows >= 0
        complete = len(rows) >= len(self.index)
        keep = found & _not_in(rows, todo.excluded)
        if todo.allowed is not None:  # the shirts blocked everywhere
            keep &= todo.allowed[np.where(found, rows, 0)]
        return rows[keep], (-np.inf if complete else float(vals[found].min())), complete

    def _todo(self, request: Request) -> _Todo:
        query = self.columns.query_values(self.labels, request.query_id)
        pins = self.curation.pinned(request.query_id)
        own_blocks = self.curation.blocked(request.query_id) - self.curation.blocked(None)  # the rest: a mask
        never = set(request.exclude) | own_blocks | {t for _, t in pins}
        if request.query_id is not None:
            never.add(request.query_id)
        excluded = np.array(sorted(self._row[i] for i in never if i in self._row), np.int64)
        allowed = self.columns.mask(query)
        if self._everywhere is not None:
            allowed = ~self._everywhere if allowed is None else allowed & ~self._everywhere
        want = self.k  # pins take places, but a blocked or short list may need every candidate
        fetch = want + len(excluded) + EXTRA + (3 * want if self.rules.one_per else 0)
        return _Todo(request, query, allowed, excluded, self._weigh(request.vector), want, fetch)

    def _scan(self, todos: list[_Todo]) -> None:
        """Candidates for each todo (widening those whose set may be incomplete), then its list."""
        if self._local is not None and self._local.approx is None:
            found = self._exact(todos)
        else:  # an approximate index that had to look past MAX_REMOTE: the exact scan
            found = [
                self._exact([t])[0] if self._local is not None and t.fetch > MAX_REMOTE else self._remote(t)
                for t in todos
            ]
        for todo, (rows, floor, complete) in zip(todos, found):
            self._finish(todo, rows, floor, complete)

    def _exact(self, todos: list[_Todo]) -> list[tuple[np.ndarray, float, bool]]:
        """A float32 scan of the allowed rows for a block of queries: each one's best ``fetch``
        rows, a bound on the best row left out (the smallest kept), and whether none was."""
        matrix = self._local.matrix
        queries = np.stack([t.weighted for t in todos])
        masks = [t.allowed for t in todos]
        union = None if any(m is None for m in masks) else np.flatnonzero(np.logical_or.reduce(masks))
        if union is not None and len(union) > len(matrix) // 2:  # masking the whole scan beats copying rows
            union = None
        rows_of = np.arange(len(matrix)) if union is None else union
        scores = queries @ (matrix.T if union is None else matrix[union].T)
        for q, todo in enumerate(todos):
            if todo.allowed is not None:
                scores[q, ~(todo.allowed if union is None else todo.allowed[union])] = -np.inf
            if len(todo.excluded):
                position = np.searchsorted(rows_of, todo.excluded)
                hit = position < len(rows_of)
                hit[hit] = rows_of[position[hit]] == todo.excluded[hit]
                scores[q, position[hit]] = -np.inf
        live = np.isfinite(scores).sum(axis=1)
        vals, cols = best_of_block(scores, max(t.fetch for t in todos))
        return [self._kept(rows_of, v, c, n) for v, c, n in zip(vals, cols, live)]

    @staticmethod
    def _kept(rows_of: np.ndarray, vals: np.ndarray, cols: np.ndarray, live: int) -> tuple[np.ndarray, float, bool]:
        found = cols >= 0
        complete = int(found.sum()) >= live
        return rows_of[cols[found]], (-np.inf if complete else float(vals[found].min())), complete

    def _remote(self, todo: _Todo) -> tuple[np.ndarray, float, bool]:
        """Candidates from an approximate index or Milvus: its best ``fetch`` ids, filtered here."""
        limit = min(todo.fetch, len(self.index), MAX_REMOTE)
        if self._local is not None:
            found = self._local.search(todo.request.vector, self.mode, limit)
        else:
            found = self.index.search(todo.request.vector, self.mode, limit, filters=self._remote_filters)
        rows = np.array([self._row[m.id] for m in found], np.int64)
        keep = np.ones(len(rows), bool)
        if todo.allowed is not None:
            keep &= todo.allowed[rows]
        if len(todo.excluded):
            keep &= _not_in(rows, todo.excluded)
        complete = limit >= (len(self.index) if self._local is not None else min(len(self.index), MAX_REMOTE))
        return rows[keep], -np.inf, complete  # approximate: no float32 floor to check against

    def _finish(self, todo: _Todo, rows: np.ndarray, floor: float, complete: bool) -> None:
        """Score the candidates in float64, rank, apply ``one_per``, check the set was enough."""
        scores = _scores(self._vectors(rows), todo.weighted.astype(np.float64))
        order = np.lexsort((rows, -scores))
        ranked = self.columns.one_per_pass(todo.query, rows[order].tolist())
        ranked_scores = dict(zip(rows.tolist(), scores.tolist()))
        enough = len(ranked) >= todo.want
        last = ranked_scores[ranked[todo.want - 1]] if enough else -np.inf
        if not complete and (not enough or floor + EPSILON >= last):
            todo.fetch *= 4  # the set may miss a better row (or too few passed): look wider
            return
        ids = self.index.ids
        entries = [Entry(ids[r], ranked_scores[r]) for r in ranked[: self.k]]  # pins only take places
        final = self.curation.apply(todo.request.query_id, entries, self.k, lambda t: self.score(todo.request, t))
        todo.done = ResultList(final, short=len(final) < self.k)

    def _weigh(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, np.float32)
        return vector if self._factor is None else vector * self._factor

    def _stored(self, start: int, ids: list[str]) -> np.ndarray:
        """The stored vectors of catalog shirts ``ids``, which start at row ``start``."""
        if self._local is not None:
            return self._local.matrix[start : start + len(ids)]
        return self.index.stored_many(ids)

    def _vectors(self, rows: np.ndarray) -> np.ndarray:
        if self._local is not None:
            return np.asarray(self._local.matrix[rows], np.float64)
        return self.index.stored_many([self.index.ids[r] for r in rows.tolist()]).astype(np.float64)

    def score(self, request: Request, shirt_id: str) -> float:
        """The real similarity of ``shirt_id`` to the request's query (a pinned entry's score)."""
        query = self._weigh(request.vector).astype(np.float64)
        return float(_scores(np.asarray(self.index.stored(shirt_id), np.float64)[None], query)[0])


def _scores(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each row of ``vectors`` times ``query``, in float64, to the same last digit whichever rows
    are scored together: products summed by numpy's pairwise sum along each row. (A BLAS
    matrix-vector product's rounding depends on a row's place in the matrix.)"""
    return np.multiply(vectors, query).sum(axis=1) if len(vectors) else np.zeros(0)


def _rooted(layout: Layout, matrix: np.ndarray, mode: Mode) -> np.ndarray | None:
    """``matrix`` with each part scaled by the square root of its weight in ``mode``, so that the
    product of two rows is their score (:func:`~shirtsim.index.search.weigh` weighs one side);
    None when a weight is negative."""
    if len(layout.parts) == 1:
        return matrix
    weights = mode.part_weights(layout.names)
    if min(weights) < 0:
        return None
    rooted = np.array(matrix, np.float32)
    for part, weight, length in zip(layout.parts, weights, layout.lengths):
        rooted[:, part] *= np.float32(np.sqrt(weight) / length)
    return rooted


def _not_in(rows: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    if len(excluded) == 1:  # the query itself: the usual case, and np.isin's setup costs more
        return rows != excluded[0]
    return ~np.isin(rows, excluded)
