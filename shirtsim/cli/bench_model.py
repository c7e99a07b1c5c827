"""``bench``'s model figures: embedding against the seed notebook, an upload as the app does it, and a
cold start of a large catalog whose cache is warm."""

from __future__ import annotations

import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import numpy as np
from PIL import Image

from shirtsim.catalog.folder import discover
from shirtsim.catalog.images import read_limited
from shirtsim.cli.bench_data import _synthetic_index, _synthetic_raw
from shirtsim.describe.descriptors import DEFAULT_MODE, MODES, SEED_KIND, STYLE_KIND
from shirtsim.describe.projection import resolve_projection
from shirtsim.engine import Engine, read_photo
from shirtsim.index.build import build_index, fingerprint, pack_key, uses_bfloat16
from shirtsim.index.search import SearchIndex
from shirtsim.model.arithmetic import arithmetic, uses_int8
from shirtsim.model.inputs import BATCH_SIZE
from shirtsim.model.vgg16 import Embedder
from shirtsim.model.weights import Weights
from shirtsim.settings import PROJECTION
from shirtsim.store import HashCache, VectorStore, content_hash


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
