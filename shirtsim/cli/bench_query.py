"""``bench``'s query figures: top-10 latency and memory per item at each catalog size, in memory or
on Milvus, with recall against the exact scan where the index is approximate; the seed's N x N matrix."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import numpy as np

from shirtsim.cli.bench_data import _synthetic_index
from shirtsim.cli.bench_memory import _total_memory, usable_memory
from shirtsim.describe.descriptors import DEFAULT_MODE, MODES
from shirtsim.index import milvus, milvus_sync
from shirtsim.index.search import Match, SearchIndex, VectorIndex

if TYPE_CHECKING:
    import faiss

SEED_DIM = 7 * 7 * 512


RECALL_MODES = ("balanced", "pattern", "colour")


def bench_query(n: int, queries: int = 200, milvus_uri: str | None = None) -> dict:
    """Top-10 latency over ``n`` synthetic items, in memory or (``milvus_uri``) on Milvus; for
    an approximate index, recall@10 against the exact scan in each mode."""
    rng = np.random.default_rng(n)
    t0 = time.perf_counter()
    local = _synthetic_index(n, rng)
    target, client, index_type = local, None, None
    if milvus_uri:
        client = milvus.connect(milvus_uri)
        index_type = milvus.index_type(milvus_uri, n)
        target, _ = milvus_sync.sync(
            client,
            f"shirtsim_bench_{n}",
            local,
            {i: i for i in local.ids},
            {},
            lambda shirt_id: None,
            rebuild=True,
            index_type=index_type,
        )
        _wait_for_index(client, target.name)  # searched before its index is built, Milvus scans exactly
    build_s = time.perf_counter() - t0
    mode = MODES[DEFAULT_MODE]
    # Exact scans are slow at a million, so fewer are timed there; other methods get all of them.
    exact_scan = local.approx is None and client is None
    rows = rng.integers(0, n, size=min(queries, max(20, 20_000_000 // n)) if exact_scan else queries)
    times, found = [], []
    for r in rows:
        shirt_id = local.ids[r]
        query = local.stored(shirt_id)  # the same vector either way; fetching it is not the search
        t0 = time.perf_counter()
        found.append(target.search(query, mode, 10, exclude=shirt_id))
        times.append((time.perf_counter() - t0) * 1000)
    method = "milvus" if client is not None else "ivf" if local.approx is not None else "exact"
    result = {
        "method": method,
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
        "queries": len(times),
        "bytes_per_item": None if client is not None else int(local.memory_bytes() // n),
    }
    if index_type is not None:
        result["index_type"] = index_type
    if not exact_scan:
        approx_index, local.approx = local.approx, None  # the same queries, scanned exactly
        checked = rows[:100]  # recall against the exact scan on 100 of the timed queries, in every mode
        by_mode = {}
        for name in RECALL_MODES:
            answers = (
                found
                if name == DEFAULT_MODE
                else [_search_approx(target, approx_index, local, r, name) for r in checked]
            )
            exact = [local.search(local.stored(local.ids[r]), MODES[name], 10, exclude=local.ids[r]) for r in checked]
            by_mode[name] = round(
                float(np.mean([len({m.id for m in a} & {m.id for m in e}) / len(e) for a, e in zip(answers, exact)])), 4
            )
        result["recall_at_10"] = by_mode[DEFAULT_MODE]
        result["recall_by_mode"] = by_mode
        result["build_s"] = round(build_s, 1)
        if approx_index is not None:
            result["lists"], result["probes"] = approx_index.nlist, approx_index.nprobe
    if client is not None:
        for name in (target.name, target.name + "_meta"):
            client.drop_collection(name)
    return result


def _wait_for_index(client: object, name: str, limit_s: float = 900) -> None:
    deadline = time.monotonic() + limit_s
    while client.describe_index(name, "vector").get("pending_index_rows", 0) and time.monotonic() < deadline:
        time.sleep(1)


def _search_approx(
    target: VectorIndex, approx_index: faiss.Index | None, local: SearchIndex, row: int, mode: str
) -> list[Match]:
    """One search in ``mode`` on the approximate index (Milvus, or the local IVF put back)."""
    shirt_id = local.ids[row]
    if target is not local:
        return target.search(local.stored(shirt_id), MODES[mode], 10, exclude=shirt_id)
    local.approx = approx_index
    try:
        return local.search(local.stored(shirt_id), MODES[mode], 10, exclude=shirt_id)
    finally:
        local.approx = None


def bench_seed_nxn(n: int, memory_share: float = 0.6) -> dict | None:
    """The notebook's all-pairs float64 cosine matrix, where features and matrix fit in memory."""
    need = n * SEED_DIM * 8 + n * n * 8
    # Its peak holds the features twice (their squares for the norms, then the unit copy).
    peak = need + n * SEED_DIM * 8
    if need > memory_share * _total_memory() or peak > usable_memory()[0] or n > 20_000:
        return None  # beyond 20,000 it takes minutes even when it fits
    rng = np.random.default_rng(1)
    feats = rng.random((n, SEED_DIM))
    t0 = time.perf_counter()
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.argsort(-sim[0])[1:11]
    return {"seconds": round(time.perf_counter() - t0, 2), "bytes": int(need)}


def seed_nxn_limit(memory_share: float = 0.6) -> int:
    """The largest N whose seed features and N x N matrix (float64) fit in ``memory_share`` of RAM."""
    budget = memory_share * _total_memory() / 8  # in float64 values: N * SEED_DIM + N * N <= budget
    return int((-SEED_DIM + (SEED_DIM**2 + 4 * budget) ** 0.5) / 2)
