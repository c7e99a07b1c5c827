"""Where the server's share of a click goes: the Search page's run after a click on a browse tile,
timed part by part in-process (Streamlit's AppTest, the real engine), averaged over the clicks.

    python benchmarks/click_profile.py [--catalog DIR] [--cache DIR] [--clicks 12]

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

from common import DEMO, ROOT

PARTS = [  # (module, class or None, attribute, what it is)
    ("shirtsim.web.results", None, "show_results", "the query and its result tiles"),
    ("shirtsim.engine", "Engine", "lists", "  the search (engine.lists)"),
    ("shirtsim.engine", "Engine", "picture", "  pictures (thumbnail lookups), all tiles"),
    ("streamlit", None, "image", "  st.image (media registration), all tiles"),
    ("streamlit", None, "button", "  st.button, all tiles"),
    ("shirtsim.web.browse", None, "shirt_grid", "the browse grid"),
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
        at.button(key=f"pick-{shirt}").click().run()
    spent.clear()
    counts.clear()
    runs = []
    for shirt in ids[4 : 4 + args.clicks]:
        start = time.perf_counter()
        at.button(key=f"pick-{shirt}").click().run()
        runs.append(time.perf_counter() - start)
    n = len(runs)
    runs.sort()
    print(
        f"{n} clicks on {args.catalog}: the page's run p50 {runs[n // 2] * 1000:.0f} ms (AppTest's own share included)"
    )
    print(f"{'part':<46}{'ms per click':>12}{'calls':>7}")
    for *_, label in PARTS:
        print(f"{label:<46}{spent[label] / n * 1000:>12.1f}{counts[label] / n:>7.0f}")


if __name__ == "__main__":
    main()
