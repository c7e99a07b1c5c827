"""Building (or reusing) a catalog's search index from the embedding cache.

``build_index`` embeds only the images whose content the cache has not seen under this
model fingerprint; everything else is read back, and an unchanged catalog opens straight from
its memory-mapped pack without touching the model at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shirtsim.catalog.folder import Catalog, Item, Skipped, natural_key
from shirtsim.catalog.images import decode_image, read_limited
from shirtsim.catalog.thumbnails import ThumbnailStore
from shirtsim.describe.descriptors import STYLE_KIND, Kind
from shirtsim.describe.embed import embed
from shirtsim.describe.projection import Projection
from shirtsim.describe.texture import basis_id
from shirtsim.errors import BadImageError, RemovalRefused
from shirtsim.index import approx
from shirtsim.index.removals import limit_percent, refused
from shirtsim.index.search import SearchIndex
from shirtsim.index.shipped import shipped_vector
from shirtsim.model.arithmetic import uses_bfloat16, uses_int8
from shirtsim.model.inputs import batches, to_model_input
from shirtsim.model.int8 import CONVERTER
from shirtsim.model.vgg16 import Embedder
from shirtsim.model.weights import Weights
from shirtsim.progress import ProgressFn
from shirtsim.store import HashCache, VectorStore, cache_write, catalog_key, content_hash, default_cache_dir
from shirtsim.text import printable


@dataclass
class IndexReport:
    embedded: int = 0
    reused: int = 0
    shipped: int = 0  # taken from the vectors that ship with shirtsim (shirtsim.index.shipped)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # damaged cache entries that were rebuilt
    contents: dict[str, str] = field(default_factory=dict)  # id -> content hash of what was indexed
    backend: str = ""  # what an external index backend did, for the user
    withheld: RemovalRefused | None = None  # a mass removal held back: those shirts are still indexed

    def summary(self) -> str:
        shipped = f", {self.shipped} shipped with shirtsim" if self.shipped else ""
        return f"{self.embedded} embedded, {self.reused} reused{shipped}, {len(self.skipped)} skipped"


def fingerprint(weights: Weights, kind: Kind) -> str:
    """Names the cache of ``kind``'s vectors: weights, recipe, texture basis, and the arithmetic
    that made them."""
    basis = f"-{basis_id(weights)}" if kind is STYLE_KIND else ""
    suffix = "-bf16" if uses_bfloat16(kind) else f"-int8{CONVERTER}" if uses_int8(kind) else ""
    return f"vgg16-{weights.fingerprint}-{kind.fingerprint}{basis}{suffix}"


def pack_key(catalog_root: Path, projection: Projection | None) -> str:
    """Names a catalog's pack of prepared vectors. Projected packs are named before the catalog
    key: writing a pack deletes only older packs of its own name, so packs with and without a
    projection live side by side."""
    return (f"{projection.id}-" if projection is not None else "") + catalog_key(catalog_root)


def build_index(
    catalog: Catalog,
    kind: Kind,
    weights: Weights,
    get_embedder: Callable[[], Embedder],
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    projection: Projection | None = None,
    shipped: bool = True,
    allow_removals: bool = False,
) -> tuple[SearchIndex, IndexReport]:
    """Index ``catalog`` for ``kind``, embedding only what the cache lacks (and, when
    ``shipped``, what :mod:`shirtsim.index.shipped` does not have).

    ``get_embedder`` is called only if something must be embedded. Unreadable images are
    skipped and listed in the report, never fatal. ``projection`` (``style`` only) is applied
    to the cached raw vectors; the pack of prepared vectors is kept per projection.

    Files indexed last time and gone now are removed, unless there are so many that a person
    must confirm it (:mod:`shirtsim.index.removals`) and ``allow_removals`` does not: then they stay
    in the index, from the vectors the cache holds, and ``report.withheld`` says why.
    """
    projection = projection if kind is STYLE_KIND else None
    layout = projection.layout if projection is not None else kind.layout
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    if not cache_dir.is_dir():
        with cache_write(cache_dir):  # an unwritable cache is told once, and the index is built in memory
            cache_dir.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(weights, kind)
    store = VectorStore(cache_dir, fp)
    thumbnails = ThumbnailStore(cache_dir)
    hashes_cache = HashCache(cache_dir, catalog.root)
    report = IndexReport(skipped=list(catalog.skipped))
    key = pack_key(catalog.root, projection)
    items, report.withheld = _with_withheld(catalog, hashes_cache, allow_removals)

    hashes: dict[str, str] = {}
    for n, item in enumerate(items):
        h = hashes_cache.lookup(item.rel, item.size, item.mtime_ns)
        if h is None:
            try:
                h = content_hash(read_limited(item.path))
            except BadImageError as e:
                report.skipped.append(Skipped.because(item.rel, e))
                continue
            hashes_cache.remember(item.rel, item.size, item.mtime_ns, h)
        hashes[item.id] = h
        if progress and n % 500 == 0:
            progress(n, len(items), "checking files")

    ordered = [item for item in items if item.id in hashes]
    wanted = [hashes[item.id] for item in ordered]
    packed = store.read_pack(key, wanted)
    if packed is not None and packed.shape == (len(ordered) + 1, layout.dim):
        report.reused = len(ordered)
        report.contents = {it.id: hashes[it.id] for it in ordered}
        hashes_cache.save({it.rel for it in items})
        index = SearchIndex.from_packed(kind, [it.id for it in ordered], packed, projection)
        _attach_approx(index, store, key, wanted, report, progress)
        return index, report

    vectors: dict[str, np.ndarray] = {}
    missing: list[Item] = []
    for item in ordered:
        vec = store.get(hashes[item.id])
        if vec is not None and vec.shape == (kind.dim,) and np.isfinite(vec).all():
            vectors[item.id] = vec
            continue
        if report.withheld is not None and catalog.get(item.id) is None:
            continue  # withheld, and its file is gone: there is nothing to embed it from
        vec = shipped_vector(fp, hashes[item.id]) if shipped else None  # the demo's, committed: no model needed
        if vec is not None and vec.shape == (kind.dim,):
            store.put(hashes[item.id], vec)
            vectors[item.id] = vec
            report.shipped += 1
        else:
            missing.append(item)
    report.reused = len(vectors) - report.shipped
    report.problems.extend(store.problems)
    store.problems.clear()

    if missing:
        embedder = get_embedder()
        done = 0
        if progress:
            progress(0, len(missing), "embedding")

        def load(item: Item) -> np.ndarray:
            data = read_limited(item.path)
            hashes[item.id] = content_hash(data)  # the file may have been replaced since it was hashed
            img = decode_image(data, item.id)
            thumbnails.put_all(hashes[item.id], img)  # decoded anyway: the page's pictures cost nothing more here
            return to_model_input(img)

        for ok, inputs, failed in batches(missing, load):
            for item, err in failed:
                report.skipped.append(Skipped.because(item.rel, err))
            if ok:
                descriptors = embed(embedder, kind, inputs)
                for item, vec in zip(ok, descriptors):
                    store.put(hashes[item.id], vec)
                    vectors[item.id] = vec
                report.embedded += len(ok)
            done += len(ok) + len(failed)
            if progress:
                progress(done, len(missing), "embedding")

    final = [item for item in ordered if item.id in vectors]
    ids = [item.id for item in final]
    matrix = np.stack([vectors[i] for i in ids]) if ids else np.zeros((0, kind.dim), np.float32)
    index = SearchIndex.build(kind, ids, matrix, projection)
    report.contents = {i: hashes[i] for i in ids}
    if ids:
        wanted = [hashes[i] for i in ids]
        store.write_pack(key, wanted, index.packed())
        _attach_approx(index, store, key, wanted, report, progress)
    hashes_cache.save({it.rel for it in items})
    return index, report


def _with_withheld(catalog: Catalog, memo: HashCache, allow_removals: bool) -> tuple[list[Item], RemovalRefused | None]:
    """The catalog's items, plus those indexed last time (the file memo) whose files are gone when
    removing them needs a person's confirmation that ``allow_removals`` does not give."""
    listed = {item.rel for item in catalog.items}
    gone = {rel: entry for rel, entry in memo.entries.items() if rel not in listed and _valid(entry)}
    if allow_removals or not refused(len(gone), len(memo.entries)):
        return catalog.items, None
    withheld = RemovalRefused(len(gone), len(memo.entries), limit_percent(), printable(str(catalog.root)))
    items = list(catalog.items)
    for rel, (size, mtime_ns, _) in gone.items():
        shirt_id = printable(rel.rsplit(".", 1)[0])
        if catalog.get(shirt_id) is None:  # not renamed to another suffix: still this shirt
            items.append(Item(shirt_id, rel, size, mtime_ns, catalog.root))
    items.sort(key=lambda it: natural_key(it.id))
    return items, withheld


def _valid(entry: object) -> bool:
    return isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str)


def _attach_approx(
    index: SearchIndex,
    store: VectorStore,
    key: str,
    hashes: list[str],
    report: IndexReport,
    progress: ProgressFn | None,
) -> None:
    """Give a large catalog its approximate index: read back if stored, else built once and stored."""
    if len(index) < approx.APPROX_MIN_ITEMS:
        return
    data = store.read_pack_blob(key, hashes, ".ivf")
    report.problems.extend(store.problems)
    store.problems.clear()
    if data is not None:
        try:
            index.approx = approx.from_bytes(data)
        except RuntimeError:  # checksum fine but not a faiss index of this version: build anew
            index.approx = None
        if index.approx is not None and index.approx.ntotal == len(index) and index.approx.d == index.layout.dim:
            return
    if progress:  # about a minute per million items: say so rather than look stuck
        progress(0, 1, "building the approximate index")
    index.approx = approx.build_ivf(index.matrix)
    if progress:
        progress(1, 1, "building the approximate index")
    store.write_pack_blob(key, hashes, ".ivf", approx.to_bytes(index.approx))
