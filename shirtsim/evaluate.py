"""Retrieval quality: precision@k of same-label results, per label column."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .catalog import Labels
from .descriptors import Mode
from .search import SearchIndex, weigh


@dataclass
class Quality:
    k: int
    mode: str
    n: int
    precision: dict[str, float]  # per column, plus "mean"
    chance: dict[str, float]
    # id -> that query's own precision, averaged over the columns it has a label in (the app's worst queries)
    per_query: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"k": self.k, "mode": self.mode, "n": self.n, "precision": self.precision, "chance": self.chance}


def evaluate(
    index: SearchIndex, labels: Labels, mode: Mode, columns: list[str], k: int = 10, block: int = 1024
) -> Quality:
    """Rank every labelled indexed shirt against all others (itself excluded).

    For each column: the share of the top ``k`` results that carry the query's label, over
    queries whose label is not empty (a result without a label counts as a miss). ``chance`` is
    what a random ranking would score: the mean of (same-label others) / (all others).
    """
    ids = [i for i in index.ids if i in labels.rows]
    if len(ids) < 2:
        raise ValueError("evaluation needs at least two labelled shirts in the index")
    position = {shirt_id: n for n, shirt_id in enumerate(index.ids)}
    rows = np.array([position[i] for i in ids])
    matrix = np.asarray(index.matrix)[rows]
    k = min(k, len(ids) - 1)
    top = np.empty((len(ids), k), dtype=np.int64)
    for start in range(0, len(ids), block):
        queries = np.stack([weigh(index.layout, q, mode) for q in matrix[start : start + block]])
        scores = queries @ matrix.T
        scores[np.arange(len(queries)), np.arange(start, start + len(queries))] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top[start : start + len(queries)] = part
    precision, chance = {}, {}
    hit_sum, asked_count = np.zeros(len(ids)), np.zeros(len(ids))
    for col in columns:
        values = np.array([labels.rows[i].get(col, "") for i in ids])
        asked = values != ""
        if not asked.any():
            continue
        hits = values[top[asked]] == values[asked][:, None]
        precision[col] = round(float(hits.mean()), 4)
        hit_sum[asked] += hits.mean(axis=1)
        asked_count[asked] += 1
        _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        chance[col] = round(float(((counts[inverse][asked] - 1) / (len(ids) - 1)).mean()), 4)
    precision["mean"] = round(float(np.mean([precision[c] for c in precision])), 4) if precision else 0.0
    per_query = {i: float(hit_sum[n] / asked_count[n]) for n, i in enumerate(ids) if asked_count[n]}
    return Quality(k, mode.name, len(ids), precision, chance, per_query)
