"""Retrieval quality: precision@k of same-label results, per label column."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shirtsim.catalog.labels import Labels
from shirtsim.describe.descriptors import Mode
from shirtsim.index.search import SearchIndex, weigh


@dataclass
class Quality:
    k: int
    mode: str
    n: int
    precision: dict[str, float]  # per column, plus "mean"
    chance: dict[str, float]
    # id -> that query's own precision, averaged over the columns it has a label in (the app's worst queries)
    per_query: dict[str, float] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)  # the queries (all labelled shirts, or a sample of them)
    labelled: int = 0  # the labelled shirts each query was ranked against (with itself)

    def as_json(self) -> dict:
        return {"k": self.k, "mode": self.mode, "n": self.n, "precision": self.precision, "chance": self.chance}


def evaluate(
    index: SearchIndex,
    labels: Labels,
    mode: Mode,
    columns: list[str],
    k: int = 10,
    max_queries: int | None = None,
) -> Quality:
    """Rank every labelled indexed shirt against all others (itself excluded).

    For each column: the share of the top ``k`` results that carry the query's label, over
    queries whose label is not empty (a result without a label counts as a miss). ``chance`` is
    what a random ranking would score: the mean of (same-label others) / (all others).
    ``max_queries``: above it, that many queries spread evenly over the catalog order are ranked
    (still against all the others), so a large catalog costs seconds, not minutes.
    """
    if "mean" in columns:
        raise ValueError("a label column named 'mean' cannot be measured: that is the average's name")
    ids = [i for i in index.ids if i in labels]
    if len(ids) < 2:
        raise ValueError("evaluation needs at least two labelled shirts in the index")
    position = {shirt_id: n for n, shirt_id in enumerate(index.ids)}
    matrix = np.asarray(index.matrix)[np.array([position[i] for i in ids])]
    asked_rows = np.arange(len(ids))
    if max_queries is not None and len(ids) > max_queries:
        asked_rows = np.unique(np.linspace(0, len(ids) - 1, max_queries).round().astype(np.int64))
    k = min(k, len(ids) - 1)
    block = max(1, min(1024, 50_000_000 // len(ids)))  # at most ~200 MB of scores at once
    top = np.empty((len(asked_rows), k), dtype=np.int64)
    for start in range(0, len(asked_rows), block):
        rows = asked_rows[start : start + block]
        queries = np.stack([weigh(index.layout, matrix[r], mode) for r in rows])
        scores = queries @ matrix.T
        scores[np.arange(len(rows)), rows] = -np.inf
        top[start : start + len(rows)] = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    precision, chance = {}, {}
    hit_sum, asked_count = np.zeros(len(asked_rows)), np.zeros(len(asked_rows))
    for col in columns:
        values = np.array(labels.column(col, ids))
        own = values[asked_rows]
        asked = own != ""
        if not asked.any():
            continue
        hits = values[top[asked]] == own[asked][:, None]
        precision[col] = round(float(hits.mean()), 4)
        hit_sum[asked] += hits.mean(axis=1)
        asked_count[asked] += 1
        _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        chance[col] = round(float(((counts[inverse][asked_rows][asked] - 1) / (len(ids) - 1)).mean()), 4)
    precision["mean"] = round(float(np.mean([precision[c] for c in precision])), 4) if precision else 0.0
    queried = [ids[r] for r in asked_rows]
    per_query = {i: float(hit_sum[n] / asked_count[n]) for n, i in enumerate(queried) if asked_count[n]}
    return Quality(k, mode.name, len(queried), precision, chance, per_query, queried, len(ids))
