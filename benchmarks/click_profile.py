"""Where the server's share of a click goes: the Search page's run after a click on a browse tile,
timed part by part in-process (Streamlit's AppTest, the real engine), averaged over the clicks;
then the same for uploads of the catalog's last photos, each after a click.

    python benchmarks/click_profile.py [--catalog DIR] [--cache DIR] [--clicks 12] [--uploads 5]

The catalog must be indexed in that cache first (``shirtsim index --catalog DIR``), as a served
catalog is; the default is the demo. It waits for the model's warm-up to finish, so the figures
are a quiet server's. What it cannot see: the websocket, the browser's drawing and its picture
requests (``benchmarks/latency.py`` times the whole click in chromium).
"""

import argparse
import collections
import functools
import os
import time
from pathlib import Path

from common import DEMO, ROOT, pick

PARTS = [  # (module, class or None, attribute, what it is)
    ("shirtsim.web.results", None, "show_results", "the query and its result tiles"),
    ("shirtsim.engine", "Engine", "lists", "  the search (engine.lists)"),
    ("shirtsim.engine", "Engine", "picture", "  pictures (thumbnail lookups), all tiles"),
    ("streamlit", None, "image", "  st.image (media registration), all tiles"),
    ("streamlit", None, "button", "  st.button, all tiles"),
    ("shirtsim.web.browse", None, "tile_grid", "the browse grid"),
    ("shirtsim.web.upload_box", None, "uploaded_photo", "uploads: the photo read (engine.read_upload)"),
    ("shirtsim.upload", None, "decode_image", "  decoding"),
    ("shirtsim.upload", None, "embed", "  the model and the descriptor (embed)"),
    ("shirtsim.upload", None, "make_thumbnail", "  the 512 px preview"),
    ("shirtsim.web.results", None, "box_editor", "uploads: the box editor"),
]


def timed(spent, counts, label, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start
            counts[label] += 1

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(DEMO))
    parser.add_argument("--cache", help="the cache folder the catalog was indexed in (default: the user's)")
    parser.add_argument("--clicks", type=int, default=12)
    parser.add_argument("--uploads", type=int, default=5)
    args = parser.parse_args()
    os.environ["SHIRTSIM_CATALOG"] = args.catalog
    if args.cache:
        os.environ["SHIRTSIM_CACHE_DIR"] = args.cache
    import importlib

    from streamlit.testing.v1 import AppTest

    spent, counts = collections.defaultdict(float), collections.Counter()
    for module, cls, attribute, label in PARTS:
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        setattr(owner, attribute, timed(spent, counts, label, getattr(owner, attribute)))
    ids = sorted(p.rsplit(".", 1)[0] for p in os.listdir(args.catalog) if p.lower().endswith(".jpg"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params["shirt"] = ids[0]
    at.run()
    time.sleep(15)  # the model's warm-up thread, which a served page has long finished
    for shirt in ids[1:4]:  # the first runs fill the caches a served page has warm
        pick(at, shirt)
    spent.clear()
    counts.clear()
    runs, totals = [], []
    for shirt in ids[4 : 4 + args.clicks]:
        start = time.perf_counter()
        pick(at, shirt)
        runs.append(time.perf_counter() - start)
    report("clicks", args.catalog, runs, spent, counts)
    spent.clear()
    counts.clear()
    runs = []
    for n, photo in enumerate(ids[-args.uploads :] if args.uploads else []):
        pick(at, ids[4 + n])  # back to a shirt: each upload is a new photo after a click, as on the page
        data = (Path(args.catalog) / f"{photo}.jpg").read_bytes()
        before = dict(spent), collections.Counter(counts)
        start = time.perf_counter()
        at.file_uploader[0].upload(f"{photo}.jpg", data, "image/jpeg").run()
        runs.append(time.perf_counter() - start)
        for label in list(spent):  # the click before it is not the upload's
            spent[label] -= before[0].get(label, 0.0)
            counts[label] -= before[1].get(label, 0)
        spent_uploads = {k: v for k, v in spent.items()}
        counted = collections.Counter(counts)
        spent.clear()
        counts.clear()
        totals.append((spent_uploads, counted))
    if runs:
        spent = collections.defaultdict(float)
        counts = collections.Counter()
        for one, many in totals:
            for label, value in one.items():
                spent[label] += value
            counts.update(many)
        report("uploads", args.catalog, runs, spent, counts)


def report(what, catalog, runs, spent, counts):
    n = len(runs)
    runs = sorted(runs)
    print(f"{n} {what} on {catalog}: the page's run p50 {runs[n // 2] * 1000:.0f} ms (AppTest's own share included)")
    print(f"{'part':<52}{'ms each':>9}{'calls':>7}")
    for *_, label in PARTS:
        if counts[label]:
            print(f"{label:<52}{spent[label] / n * 1000:>9.1f}{counts[label] / n:>7.0f}")


if __name__ == "__main__":
    main()
