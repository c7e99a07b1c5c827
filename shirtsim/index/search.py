"""Cosine top-k over one catalog's descriptors.

All per-catalog work (centring, normalising) happens once in :meth:`SearchIndex.build`, when
the index is built, and is stored (:meth:`SearchIndex.packed`) so a later start only maps the
file.  A query is one matrix-vector product and a partial sort, or, for catalogs of
:data:`~shirtsim.index.approx.APPROX_MIN_ITEMS` and more, an IVF search (:mod:`shirtsim.index.approx`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from shirtsim.describe.descriptors import SEED_KIND, Kind, Layout, Mode
from shirtsim.index import approx as approximate

if TYPE_CHECKING:
    import faiss

    from shirtsim.catalog.labels import Labels
    from shirtsim.describe.projection import Projection


@dataclass(frozen=True)
class Match:
    id: str
    score: float


@runtime_checkable
class VectorIndex(Protocol):
    """What the engine, the app and the CLI need of an index: in memory (:class:`SearchIndex`)
    or on Milvus (:class:`shirtsim.index.milvus.MilvusIndex`)."""

    kind: Kind
    ids: list[str]  # catalog order: ties between equal scores are broken by it
    layout: Layout  # the parts of the prepared vectors (the kind's, or its learned projection's)
    projection: Projection | None

    def __len__(self) -> int: ...

    def __contains__(self, shirt_id: object) -> bool: ...

    def stored(self, shirt_id: str) -> np.ndarray:
        """The prepared (centred, normalised) vector of a catalog shirt."""
        ...

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        """Project, centre and normalise an outside descriptor (an upload) like the catalog's."""
        ...

    def vectors(self) -> np.ndarray:
        """Every prepared vector, in :attr:`ids` order (N, layout.dim): the catalog map's input."""
        ...

    def search(
        self,
        query: np.ndarray,
        mode: Mode,
        k: int = 10,
        exclude: str | None = None,
        filters: dict[str, list[str]] | None = None,
    ) -> list[Match]:
        """The ``k`` best matches for a prepared query vector, best first."""
        ...


class SearchIndex:
    """Normalised descriptors of one catalog for one descriptor kind, searched in this process."""

    def __init__(
        self,
        kind: Kind,
        ids: list[str],
        matrix: np.ndarray,
        mean: np.ndarray,
        approx: faiss.Index | None = None,
        projection: Projection | None = None,
    ) -> None:
        self.kind = kind
        self.projection = projection  # applied to raw descriptors before centring (style only)
        self.layout = projection.layout if projection is not None else kind.layout
        if matrix.ndim == 2 and len(matrix) and kind is not SEED_KIND and matrix.shape[1] != self.layout.dim:
            raise ValueError(f"vectors of {matrix.shape[1]} values, but the layout has {self.layout.dim}")
        self.ids = list(ids)
        self.matrix = matrix  # (N, D) float32, each part normalised to its layout length; may be a memory map
        self.mean = mean  # subtracted from every vector before normalising
        self.approx = approx  # a faiss IVF index over ``matrix`` for large catalogs, else None (exact)
        self.labels: Labels | None = None  # the catalog's labels.csv, for ``filters``
        self._row = {shirt_id: n for n, shirt_id in enumerate(self.ids)}

    @classmethod
    def build(cls, kind: Kind, ids: list[str], raw: np.ndarray, projection: Projection | None = None) -> SearchIndex:
        """Index raw descriptors (N, D), through ``projection`` if given. ``style`` vectors are
        centred on the catalog mean first: what every shirt shares (white background, model's
        skin) then stops counting."""
        raw = np.asarray(raw, dtype=np.float32)
        layout = projection.layout if projection is not None else kind.layout
        if raw.ndim != 2 or len(raw) == 0:
            raw = np.zeros((0, kind.dim), np.float32)
        vectors = projection.apply(raw) if projection is not None else raw
        if kind is SEED_KIND or len(vectors) == 0:
            mean = np.zeros(vectors.shape[1] if len(vectors) else layout.dim, np.float32)
        else:
            mean = vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
        return cls(kind, ids, _normalise_parts(layout, vectors - mean), mean, projection=projection)

    def packed(self) -> np.ndarray:
        """What the cache stores for this index: the mean as row 0, then the prepared vectors."""
        return np.vstack([self.mean[None, :], self.matrix])

    @classmethod
    def from_packed(
        cls, kind: Kind, ids: list[str], packed: np.ndarray, projection: Projection | None = None
    ) -> SearchIndex:
        """The index :meth:`packed` wrote (rows are views: a memory-mapped pack stays mapped)."""
        return cls(kind, ids, packed[1:], np.array(packed[0]), projection=projection)

    def memory_bytes(self) -> int:
        """Bytes the index needs to answer queries (the vectors, or the approximate index)."""
        return approximate.memory_bytes(self.approx) if self.approx is not None else int(self.matrix.nbytes)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, shirt_id: object) -> bool:
        return shirt_id in self._row

    @property
    def rows(self) -> dict[str, int]:
        """id -> its row (its place in :attr:`ids`)."""
        return self._row

    def stored(self, shirt_id: str) -> np.ndarray:
        """The normalised vector of a catalog shirt."""
        return self.matrix[self._row[shirt_id]]

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        """Project, centre and normalise an outside descriptor (an upload) like the catalog's."""
        return prepare(self.kind, self.projection, self.mean, raw)

    def vectors(self) -> np.ndarray:
        return np.asarray(self.matrix)

    def search(
        self,
        query: np.ndarray,
        mode: Mode,
        k: int = 10,
        exclude: str | None = None,
        filters: dict[str, list[str]] | None = None,
    ) -> list[Match]:
        """The ``k`` best matches for a prepared query vector, best first.

        Score: cosine (``seed``), or the mode's weighed sum of the parts' cosines.
        Ties are broken by catalog order so results are reproducible. ``filters`` keeps only
        shirts whose label in each named column is one of the listed values.
        """
        if mode.kind is not self.kind:
            raise ValueError(f"mode {mode.name} needs {mode.kind.name} descriptors, index has {self.kind.name}")
        allowed = self._allowed_rows(filters)
        if self.approx is not None and allowed is None:
            return self._search_approx(weigh(self.layout, query, mode), k, exclude)
        scores = self.matrix @ weigh(self.layout, query, mode)
        if allowed is not None:
            scores[~allowed] = -np.inf
        if exclude is not None and exclude in self._row:
            scores[self._row[exclude]] = -np.inf
        k = max(0, min(k, int(np.isfinite(scores).sum())))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        return [Match(self.ids[i], float(scores[i])) for i in top]

    def _allowed_rows(self, filters: dict[str, list[str]] | None) -> np.ndarray | None:
        wanted = {column: set(values) for column, values in (filters or {}).items() if values}
        if not wanted:
            return None
        if self.labels is None:
            return np.zeros(len(self.ids), bool)
        return self.labels.matching(self.ids, wanted)

    def _search_approx(self, query: np.ndarray, k: int, exclude: str | None) -> list[Match]:
        skip = self._row.get(exclude, -1) if exclude is not None else -1
        scores, rows = approximate.search_ivf(self.approx, query, k + 1)
        found = sorted((-s, r) for s, r in zip(scores.tolist(), rows.tolist()) if r >= 0 and r != skip)
        return [Match(self.ids[r], -s) for s, r in found[: max(0, k)]]


def prepare(kind: Kind, projection: Projection | None, mean: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """A raw descriptor as an index with this projection and mean stores its vectors."""
    vector = np.asarray(raw, np.float32).reshape(1, -1)
    if projection is not None:
        vector = projection.apply(vector)
    layout = projection.layout if projection is not None else kind.layout
    return _normalise_parts(layout, vector - mean)[0]


def weigh(layout: Layout, query: np.ndarray, mode: Mode) -> np.ndarray:
    """Scale a query's parts by the mode's weights (a no-op for ``seed``)."""
    if len(layout.parts) == 1:
        return query
    q = np.array(query, dtype=np.float32, copy=True)
    for part, weight, length in zip(layout.parts, mode.part_weights(layout.names), layout.lengths):
        q[part] *= weight / length**2  # query and catalog parts both have this length
    return q


def _normalise_parts(layout: Layout, x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=np.float32, copy=True)
    for part, length in zip(layout.parts, layout.lengths):
        norms = np.linalg.norm(x[:, part], axis=1, keepdims=True)
        x[:, part] *= length / np.maximum(norms, 1e-12)
    return x
