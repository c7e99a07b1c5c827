"""``python -m shirtsim bench``: every speed figure measured side by side in one run.

- embed: the seed notebook's way (``keras.utils.load_img`` + one ``model.predict`` per image)
  against shirtsim's index build on the same images, and the raw batched VGG16 forward rate
  (the compute limit of this machine).
- query: top-10 latency over synthetic vectors of the default mode's width at each size, and
  the memory each stored item takes; the seed's N x N float64 similarity matrix where it fits.
- upload: decode + embed + search for one photo.
- export: every product's top-10 list written as JSON lines (``shirtsim export``'s way), with the
  memory it takes above the index.
- cold_start: opening a catalog whose cache is warm (discovery, file memo, memory-mapped pack,
  index preparation), with the model load reported apart.

Sizes the process cannot hold are refused before anything is made or the model loaded
(:func:`check_memory`): each size's peak is worked out from the code below and compared with
what this process may use.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from shirtsim.catalog.folder import discover
from shirtsim.cli.args import int_between
from shirtsim.cli.bench_export import bench_export
from shirtsim.cli.bench_memory import check_memory
from shirtsim.cli.bench_model import bench_cold_start, bench_embed, bench_upload
from shirtsim.cli.bench_query import RECALL_MODES, bench_query, bench_seed_nxn, seed_nxn_limit
from shirtsim.cli.output import to_json
from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.engine import default_catalog_dir
from shirtsim.index import milvus
from shirtsim.index.milvus import parse_backend
from shirtsim.model.vgg16 import Embedder
from shirtsim.model.weights import resolve_weights
from shirtsim.store import default_cache_dir


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The bench command."""
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
    sp.add_argument(
        "--export-items",
        type=int_between(0, 10_000_000),
        default=100_000,
        help="products in the export figure (default 100000; 0 leaves it out)",
    )
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(run=run)


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
    export_items = None if milvus_uri or not args.export_items else args.export_items
    check_memory(sizes, None if milvus_uri else args.cold_start_items, not milvus_uri, export_items)
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
    if export_items:
        result["export"] = bench_export(export_items)
    result["cold_start"] = bench_cold_start(weights, args.cold_start_items)
    print(to_json(result) if args.json else format_table(result))
    return 0


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
        _export_line(r.get("export")),
        f"cold start with a warm cache, {r['cold_start']['items']:,} items: {r['cold_start']['seconds']} s "
        f"(model load excluded)",
    ]
    return "\n".join(line for line in lines if line is not None)


def _export_line(x: dict | None) -> str | None:
    if x is None:
        return None
    return (
        f"export of every product's top-{x['k']} ({x['method']}), {x['items']:,} products: {x['seconds']} s "
        f"({x['products_per_s']:,}/s), {x['peak_above_index_mb']:,} MB above the index"
    )
