"""``python -m shirtsim bench``: every speed figure measured side by side in one run.

- embed: the seed notebook's way (``keras.utils.load_img`` + one ``model.predict`` per image)
  against shirtsim's index build on the same images, and the raw batched VGG16 forward rate
  (the compute limit of this machine).
- query: top-10 latency over synthetic vectors of the default mode's width at each size, and
  the memory each stored item takes; the seed's N x N float64 similarity matrix where it fits.
- upload: decode + embed + search for one photo.
- cold_start: opening a catalog whose cache is warm (discovery, file memo, memory-mapped pack,
  index preparation), with the model load reported apart.

Sizes the process cannot hold are refused before anything is made or the model loaded
(:func:`check_memory`): each size's peak is worked out from the code below and compared with
what this process may use.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
from PIL import Image

from . import milvus
from .approx import APPROX_MIN_ITEMS, TRAIN_POINTS_PER_LIST, build_ivf, lists_for
from .catalog import discover
from .cli import int_between, to_json
from .descriptors import DEFAULT_MODE, MODES, SEED_KIND, STYLE_KIND
from .embedding import BATCH_SIZE, Embedder, arithmetic, uses_int8
from .engine import Engine, default_catalog_dir, read_photo
from .errors import ShirtsimError
from .images import read_limited
from .index import build_index, fingerprint, pack_key, uses_bfloat16
from .milvus import parse_backend
from .projection import resolve_projection
from .search import Match, SearchIndex, VectorIndex
from .settings import PROJECTION
from .store import HashCache, VectorStore, content_hash, default_cache_dir
from .weights import Weights, resolve_weights

if TYPE_CHECKING:
    import faiss

SEED_DIM = 7 * 7 * 512
SYNTHETIC_CLUSTERS = 2000
SYNTHETIC_CHUNK = 100_000
# Per item, what the memory estimates count besides the arrays (measured at 20,000 and 100,000
# items, rounded up): an id string, two list slots, a row-dict entry and its int (143-151 bytes);
# an exact scan's scores, their negation and argpartition's rows (16 bytes); a cold-start file's
# path, names, content hash and memo entry (844 bytes traced, 1.5 KB resident).
PYTHON_BYTES_PER_ITEM = 160
SEARCH_BYTES_PER_ITEM = 24
COLD_START_BYTES_PER_ITEM = 2048
COLD_START_FIXED_BYTES = 64 << 20  # the modules a cold start imports, and the allocator's keep (~40 MB measured)
ITEM_BYTES_MAX = 4096  # a projected vector's bytes at most (shirtsim.projection refuses more)
MODEL_BYTES = 1 << 30  # VGG16 and TensorFlow, loaded before any size is timed (1.0 GB resident, measured)


def add_parser(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("bench", help="measure embedding, query, upload and start-up speed")
    sp.add_argument("--catalog", metavar="DIR", help="images for the embedding figures (default: the demo)")
    sp.add_argument("--weights", metavar="W")
    sp.add_argument("--images", type=int_between(1, 100_000), default=64, help="images embedded each way (default 64)")
    sp.add_argument(
        "--sizes",
        type=sizes_list,
        help="catalog sizes for query latency (default 1000,10000,100000,1000000; with --index milvus:... 1000,10000)",
    )
    sp.add_argument(
        "--index",
        default="memory",
        metavar="SPEC",
        help="memory (default), or milvus:<uri> to time queries on Milvus next to memory (query figures only)",
    )
    sp.add_argument("--cold-start-items", type=int_between(1, 10_000_000), default=100_000)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(run=run)


RECALL_MODES = ("balanced", "pattern", "colour")


def sizes_list(text: str) -> list[int]:
    """An argparse type: comma-separated catalog sizes, each from 2 to 10,000,000."""
    size = int_between(2, 10_000_000)
    sizes = [size(part.strip()) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one size, e.g. 1000,10000")
    return sizes


def run(args: argparse.Namespace) -> int:
    milvus_uri = parse_backend(args.index)
    sizes = args.sizes or ([1000, 10000] if milvus_uri else [1000, 10000, 100000, 1000000])
    # Before the model or any vector: a size that cannot fit is one line, not a killed process.
    check_memory(sizes, None if milvus_uri else args.cold_start_items, with_model=not milvus_uri)
    if milvus_uri:
        return run_backend_queries(milvus_uri, sizes, args.json)
    weights = resolve_weights(args.weights)
    t0 = time.perf_counter()
    embedder = Embedder(weights, default_cache_dir())  # the cache keeps the int8 network, once converted
    model_load = time.perf_counter() - t0
    catalog_dir = Path(args.catalog) if args.catalog else default_catalog_dir()
    paths = [item.path for item in discover(catalog_dir).items][: args.images]
    result = {
        "machine": {"cpus": os.cpu_count(), "weights": weights.label, "model_load_s": round(model_load, 2)},
        "embed": bench_embed(embedder, weights, paths),
        "query": {},
        "seed_nxn": {},
        "seed_nxn_fits_up_to_items": seed_nxn_limit(),
    }
    for n in sizes:
        result["query"][str(n)] = bench_query(n)
        result["seed_nxn"][str(n)] = bench_seed_nxn(n)
    result["upload"] = bench_upload(embedder, paths[0])
    result["cold_start"] = bench_cold_start(weights, args.cold_start_items)
    print(to_json(result) if args.json else format_table(result))
    return 0


def bench_embed(embedder: Embedder, weights: Weights, paths: list[Path]) -> dict:
    import keras  # noqa: PLC0415
    from keras.applications.vgg16 import preprocess_input  # noqa: PLC0415

    seed_model = keras.Model(embedder.vgg.input, embedder.vgg.get_layer("block5_pool").output)
    seed_model.predict(np.zeros((1, 224, 224, 3), np.float32), verbose=0)  # warm-up, not timed
    t0 = time.perf_counter()
    for path in paths:  # the notebook, line for line
        x = preprocess_input(
            np.expand_dims(keras.utils.img_to_array(keras.utils.load_img(path, target_size=(224, 224))), 0)
        )
        seed_model.predict(x, verbose=0).flatten()
    seed = len(paths) / (time.perf_counter() - t0)

    arrays = np.stack([keras.utils.img_to_array(keras.utils.load_img(p, target_size=(224, 224))) for p in paths])
    arrays = arrays.astype(np.uint8)  # decoded, resized pictures: only the network is timed

    def forward_rate(layers: tuple[str, ...], bfloat16: bool = False, int8: bool = False) -> float:
        embedder.forward(arrays[:BATCH_SIZE], layers, bfloat16, int8)  # warm-up (compiles or converts)
        t0 = time.perf_counter()
        for i in range(0, len(arrays), BATCH_SIZE):
            embedder.forward(arrays[i : i + BATCH_SIZE], layers, bfloat16, int8)
        return len(arrays) / (time.perf_counter() - t0)

    forward = forward_rate(SEED_KIND.layers)
    # what shirtsim's default kind runs (its layers, in this machine's arithmetic): its own limit
    forward_ours = forward_rate(STYLE_KIND.layers, uses_bfloat16(STYLE_KIND), uses_int8(STYLE_KIND))
    path, why = arithmetic()

    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog"
        catalog.mkdir()
        for p in paths:
            shutil.copy(p, catalog / p.name)
        t0 = time.perf_counter()
        # shipped=False: the demo photos' vectors ship with shirtsim; this times embedding them
        _, report = build_index(
            discover(catalog), STYLE_KIND, weights, lambda: embedder, Path(tmp) / "cache", shipped=False
        )
        ours = len(paths) / (time.perf_counter() - t0)
    return {
        "images": len(paths),
        "embedded": report.embedded,
        "seed_img_s": round(seed, 2),
        "shirtsim_img_s": round(ours, 2),
        "forward_limit_img_s": round(forward, 2),
        "forward_limit_own_layers_img_s": round(forward_ours, 2),
        "bfloat16": uses_bfloat16(STYLE_KIND),
        "arithmetic": path,
        "arithmetic_why": why,
        "speedup_vs_seed": round(ours / seed, 2),
        "share_of_forward_limit": round(ours / forward_ours, 3),
    }


def query_peak_bytes(n: int) -> int:
    """The most memory :func:`bench_query` holds at once for ``n`` synthetic items, from its code:

    - making the vectors (:func:`_synthetic_raw`): them, a chunk's three (rows, D) temporaries
      (a centre pick, its weighted copy and the running sum), and the centres;
    - indexing them (``SearchIndex.build``): the raw vectors, the centred copy and the normalised
      copy (then the centred one is freed; a part's squares, for its norm, are smaller);
    - from ``APPROX_MIN_ITEMS`` on, the IVF (``build_ivf``): faiss' own copy of the vectors with
      an 8-byte id each, in lists grown one entry at a time (capacity doubling: at most twice
      what they hold; 1.33 times measured at 250,000 items), and its k-means sample;
    - searching: an exact scan's per-item temporaries next to the vectors (and the IVF);

    plus each item's Python objects."""
    row = STYLE_KIND.dim * 4
    vectors, chunk = n * row, min(n, SYNTHETIC_CHUNK) * row
    ivf = 2 * n * (row + 8) + lists_for(n) * TRAIN_POINTS_PER_LIST * row if n >= APPROX_MIN_ITEMS else 0
    phases = (vectors + 3 * chunk, 3 * vectors, vectors + ivf + n * SEARCH_BYTES_PER_ITEM)
    return SYNTHETIC_CLUSTERS * row + n * PYTHON_BYTES_PER_ITEM + max(phases)


def cold_start_peak_bytes(n: int) -> int:
    """The most memory :func:`bench_cold_start` holds for ``n`` items: the raw vectors and three
    projected copies at once (``SearchIndex.build``: projected, centred, normalised; then writing
    the pack: the packed copy, its bytes, the file's bytes), each at most :data:`ITEM_BYTES_MAX`
    an item, plus each file's Python objects and what opening the catalog imports."""
    return COLD_START_FIXED_BYTES + n * (STYLE_KIND.dim * 4 + 3 * ITEM_BYTES_MAX + COLD_START_BYTES_PER_ITEM)


def usable_memory() -> tuple[int, str]:
    """What this process may still allocate, and which limit that is: the smaller of the memory
    the system has available (MemAvailable) and the address-space limit (``ulimit -v``) less
    what the process maps already (VmSize)."""
    limits = []
    available = _proc_bytes("/proc/meminfo", "MemAvailable")
    if available is not None:
        limits.append((available, "available memory"))
    try:
        import resource  # noqa: PLC0415 (POSIX only: elsewhere there is no such limit to read)

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        unlimited = soft == resource.RLIM_INFINITY
    except (ImportError, OSError, ValueError):
        soft, unlimited = 0, True
    if not unlimited:
        mapped = _proc_bytes("/proc/self/status", "VmSize") or 0
        limits.append((max(0, soft - mapped), "address-space limit, ulimit -v"))
    return min(limits) if limits else (_total_memory(), "total memory")


def check_memory(sizes: list[int], cold_start_items: int | None, with_model: bool = True) -> None:
    """ShirtsimError naming the first size (``--sizes``, then ``--cold-start-items``) whose peak,
    with the model (loaded first and kept), is more than this process may use."""
    usable, limit = usable_memory()
    reserve = MODEL_BYTES if with_model else 0
    asked = [("--sizes", n, query_peak_bytes(n), "Use smaller sizes") for n in sizes]
    if cold_start_items is not None:
        n = cold_start_items
        asked.append(("--cold-start-items", n, cold_start_peak_bytes(n), "Use fewer items"))
    for option, n, peak, advice in asked:
        if reserve + peak > usable:
            raise ShirtsimError(
                f"bench {option}: {n:,} items need about {_gb(reserve + peak)}"
                + (" with the model loaded" if reserve else "")
                + f"; this process may use {_gb(usable)} ({limit}). {advice}."
            )


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n < 10e9 else f"{n / 1e9:,.0f} GB"


def _proc_bytes(path: str, field: str) -> int | None:
    """A ``kB`` field of /proc/meminfo or /proc/self/status, in bytes (None where there is none)."""
    try:
        with open(path) as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":")), None)
    except (OSError, ValueError, IndexError):
        return None


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
        target, _ = milvus.sync(
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


def run_backend_queries(milvus_uri: str, sizes: list[int], as_json: bool) -> int:
    """``bench --index milvus:...``: the query figures on Milvus next to the in-memory index."""
    result = {
        "machine": {"cpus": os.cpu_count()},
        "index": f"milvus:{milvus.shown(milvus_uri)}",
        "query": {str(n): bench_query(n) for n in sizes},
        "query_index": {str(n): bench_query(n, milvus_uri=milvus_uri) for n in sizes},
    }
    if as_json:
        print(to_json(result))
        return 0
    lines = [
        f"top-10 query, {result['index']} next to memory",
        "       items   backend   index  p50 ms   p99 ms  recall@10 balanced/pattern/colour  load s",
    ]
    for n in sizes:
        for q in (result["query"][str(n)], result["query_index"][str(n)]):
            by_mode = q.get("recall_by_mode")
            recall = " / ".join(f"{by_mode[m]:.3f}" for m in RECALL_MODES) if by_mode else "exact"
            load = f"{q['build_s']:.1f}" if "build_s" in q else "-"
            index = q.get("index_type", "ivf" if q["method"] == "ivf" else "-")
            lines.append(
                f"  {n:>10,}   {q['method']:>7}  {index:>6}  {q['p50_ms']:>6.2f}  {q['p99_ms']:>7.2f}  "
                f"{recall:>31}  {load:>6}"
            )
    print("\n".join(lines))
    return 0


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


def bench_upload(embedder: Embedder, photo: Path, n: int = 10_000, runs: int = 15) -> dict:
    """Upload to results as the app does it (``shirtsim.engine.read_photo``: decode, embed, the
    preview; then the search), for a catalog photo and for a 12-megapixel phone JPEG made from it,
    that one also with the proposed box (``--auto-box``; the app's default for an upload)."""
    index = _synthetic_index(n, np.random.default_rng(2))
    mode = MODES[DEFAULT_MODE]
    out: dict = {"catalog_items": n}
    phone = phone_jpeg(photo)
    for name, data, box in (("photo", read_limited(photo), None), ("phone", phone, None), ("phone_box", phone, "auto")):
        times = []
        for i in range(runs + 1):
            t0 = time.perf_counter()
            upload = read_photo(embedder, STYLE_KIND, data, f"{name}.jpg", box)
            index.search(index.prepare(upload.vector), mode, 10)
            if i:  # the first run warms TensorFlow's kernels
                times.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50_ms": round(statistics.median(times), 1), "bytes": len(data)}
    out["p50_ms"] = out["photo"]["p50_ms"]
    return out


def phone_jpeg(photo: Path) -> bytes:
    """A 4000x3000 JPEG at quality 92 with an EXIF rotation, as a phone camera writes one: the
    catalog photo enlarged onto a grey 4:3 frame, with sensor noise so it compresses like a photo."""
    shirt = Image.open(photo).convert("RGB")
    frame = Image.new("RGB", (4000, 3000), (128, 124, 120))
    big = shirt.resize((2800 * shirt.width // shirt.height, 2800), Image.BILINEAR)
    frame.paste(big, ((4000 - big.width) // 2, 100))
    noise = np.random.default_rng(0).standard_normal((3000, 4000, 3), dtype=np.float32)  # 144 MB, not float64's 288
    noise *= 6
    noise += np.asarray(frame, np.float32)
    pixels = np.clip(noise, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees on display
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def bench_cold_start(weights: Weights, n: int) -> dict:
    """Open an ``n``-item catalog whose cache is warm, as the app does at start (model excluded:
    a warm start never loads it before the first upload)."""
    with tempfile.TemporaryDirectory() as tmp:
        catalog, cache = Path(tmp) / "catalog", Path(tmp) / "cache"
        for d in range(0, n, 1000):  # 1,000 files per folder, as large stores shard them
            (catalog / f"{d // 1000:04d}").mkdir(parents=True)
        hashes = []
        for i in range(n):
            data = b"\x89PNG bench item %d" % i  # content only has to be distinct: vectors are synthetic
            (catalog / f"{i // 1000:04d}" / f"{i}.png").write_bytes(data)
            hashes.append(content_hash(data))
        cat = discover(catalog)
        memo = HashCache(cache, catalog)
        by_name = {f"{i // 1000:04d}/{i}.png": h for i, h in enumerate(hashes)}
        for item in cat.items:
            memo.remember(item.rel, item.size, item.mtime_ns, by_name[item.rel])
        memo.save(set(by_name))
        store = VectorStore(cache, fingerprint(weights, STYLE_KIND))
        raw = _synthetic_raw(n, np.random.default_rng(3))
        projection = resolve_projection(PROJECTION.get(), weights).projection  # as the app's engine will
        store.write_pack(
            pack_key(catalog, projection),
            [by_name[i.rel] for i in cat.items],
            SearchIndex.build(STYLE_KIND, cat.ids, raw, projection).packed(),
        )
        del raw

        def no_model(_weights: Weights) -> NoReturn:
            raise AssertionError("a warm start must not need the model")

        # What app.py does before it draws the grid: the engine (catalog listing, labels), the
        # default mode's index (memo, memory-mapped pack), then the first page's tile pictures.
        t0 = time.perf_counter()
        engine = Engine(catalog, weights=weights, cache_dir=cache, get_embedder=no_model)
        index, report = engine.index_with_report(MODES[DEFAULT_MODE].kind)
        first_page = [engine.picture(i) for i in index.ids[:20]]
        seconds = time.perf_counter() - t0
        assert report.reused == n and len(index) == n and len(first_page) == 20
    return {"items": n, "seconds": round(seconds, 2)}


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * 1024**3


def format_table(r: dict) -> str:
    e = r["embed"]
    lines = [
        f"machine: {r['machine']['cpus']} CPUs, weights {r['machine']['weights']}, "
        f"model load {r['machine']['model_load_s']} s",
        "",
        f"embedding ({e['images']} images)           images/s",
        f"  seed notebook (predict per image)   {e['seed_img_s']:>8.2f}",
        f"  shirtsim index build                {e['shirtsim_img_s']:>8.2f}   "
        f"({e['speedup_vs_seed']:.2f}x seed, {e['share_of_forward_limit']:.0%} of its forward limit)",
        f"  VGG16 forward to block5_pool, batched {e['forward_limit_img_s']:>6.2f}   (the seed's network)",
        f"  VGG16 forward to {'+'.join(STYLE_KIND.layers)}, batched {e['forward_limit_own_layers_img_s']:>4.2f}"
        f"   (what shirtsim runs, in {e['arithmetic']}: its limit)",
        f"  arithmetic: {e['arithmetic']}, because {e['arithmetic_why']}",
        "",
        "top-10 query      method  p50 ms   p99 ms  bytes/item  recall@10   seed N x N (s, GB)",
    ]
    for n, q in r["query"].items():
        seed = r["seed_nxn"][n]
        fits = int(n) <= r["seed_nxn_fits_up_to_items"]
        seed_txt = (
            f"{seed['seconds']:.1f} s, {seed['bytes'] / 1e9:.1f} GB"
            if seed
            else "not run (minutes)"
            if fits
            else "does not fit"
        )
        recall = f"{q['recall_at_10']:.3f}" if "recall_at_10" in q else "exact"
        lines.append(
            f"  {int(n):>10,}   {q['method']:>5}  {q['p50_ms']:>7.2f}  {q['p99_ms']:>7.2f}  "
            f"{q['bytes_per_item']:>10}  {recall:>9}   {seed_txt}"
        )
    lines.append(
        f"  the seed's N x N method fits in 60% of this machine's RAM up to {r['seed_nxn_fits_up_to_items']:,} items"
    )
    lines += [
        "",
        f"upload to results (decode + embed + preview + search, {r['upload']['catalog_items']:,} items): "
        f"p50 {r['upload']['photo']['p50_ms']} ms for a catalog photo, "
        f"{r['upload']['phone']['p50_ms']} ms for a 12-megapixel phone JPEG (4000x3000), "
        f"{r['upload']['phone_box']['p50_ms']} ms for it with --auto-box",
        f"cold start with a warm cache, {r['cold_start']['items']:,} items: {r['cold_start']['seconds']} s "
        f"(model load excluded)",
    ]
    return "\n".join(lines)
