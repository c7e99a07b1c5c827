"""One visitor's index build against another visitor's clicks, in a real browser.

    python benchmarks/concurrent_build.py [--clicks 8] [--workdir DIR]

One ``streamlit run app.py`` on 200 photos of 1800x2400 px made from ``real-shirts-dev`` (the
demo catalog when those are absent), its default index built ahead with ``shirtsim index``. Visitor
B clicks shirts of the browse grid while nothing else happens (idle), then visitor A picks the
``seed`` mode, whose index is not built yet: A's page builds it (the real VGG16, 200 photos) while
B goes on clicking. Printed: B's click-to-results p50 idle and during A's build, their ratio
(goal: at most 2), and how long A's build took. Wall clock: measure on a quiet machine.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEMO, REAL_SHIRTS, ROOT, catalog_env, launch_chromium, log, make_large_catalog, streamlit_server
from latency import GRID, STEP_MS, click_shirt, load_first_page, new_page
from playwright.sync_api import sync_playwright

GOAL = 2.0  # B's clicks during A's build, at most this many times their idle time


def seed_built(page) -> bool:
    """A's page has finished its run after the seed pick (its progress bar is gone)."""
    return page.evaluate(
        """() => {
          const app = document.querySelector("[data-testid='stApp']");
          return app && app.getAttribute("data-test-script-state") === "notRunning"
            && !document.querySelector("[data-testid='stProgress']");
        }"""
    )


def wait_for_model(server_log: Path, limit_s: float = 300) -> None:
    """Until the server has loaded VGG16 in the background (its log says so), and a little more."""
    deadline = time.monotonic() + limit_s
    while "VGG16 loaded" not in server_log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the model was not loaded within {limit_s:.0f} s; see {server_log}")
        time.sleep(0.5)
    time.sleep(3)


def measure(catalog: Path, workdir: Path, clicks: int) -> dict:
    cache = workdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    log(f"building the default index of {catalog} in a fresh cache…")
    subprocess.run(
        [sys.executable, "-m", "shirtsim", "index", "--catalog", str(catalog)],
        cwd=ROOT,
        env=catalog_env(catalog, cache),
        check=True,
        timeout=3600,
        stdout=subprocess.DEVNULL,
    )
    ids = sorted((p.stem for p in catalog.glob("*.jpg")), key=lambda s: (len(s), s))
    grid_size = min(GRID, len(ids))
    with sync_playwright() as p, streamlit_server(catalog, cache, workdir / "server.log") as url:
        browser = launch_chromium(p, timeout=60_000)
        try:
            visitor, _ = new_page(browser)
            load_first_page(visitor, url, grid_size)
            wait_for_model(workdir / "server.log")  # the first page warms the model up: not idle yet
            texts = {t.strip() for t in visitor.get_by_role("button").all_inner_texts()}
            grid = [i for i in ids if i in texts]
            click_shirt(visitor, grid[0], grid_size)  # the first click warms the page
            idle = [click_shirt(visitor, shirt, grid_size) for shirt in grid[1 : 1 + clicks]]
            builder, _ = new_page(browser)
            load_first_page(builder, url, grid_size)
            started = time.perf_counter()
            builder.get_by_text("seed (notebook)", exact=True).click()
            builder.locator("[data-testid='stProgress']").first.wait_for(timeout=STEP_MS)
            busy, n = [], 1 + clicks
            while not seed_built(builder):
                busy.append(click_shirt(visitor, grid[n % len(grid)], grid_size))
                n += 1
            build_s = time.perf_counter() - started
        finally:
            browser.close()
    return {
        "photos": len(ids),
        "idle_p50_s": statistics.median(idle),
        "busy_p50_s": statistics.median(busy) if busy else None,
        "busy_clicks": len(busy),
        "build_s": round(build_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=8, help="idle clicks timed before the build")
    parser.add_argument("--workdir", type=Path, help="keep the catalog, cache and log here (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shirtsim-concurrent-") as tmp:
        workdir = (args.workdir or Path(tmp)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        catalog = DEMO
        if REAL_SHIRTS.is_dir():
            catalog = workdir / "large-catalog"
            make_large_catalog(REAL_SHIRTS, catalog)
        r = measure(catalog, workdir, args.clicks)
    ratio = r["busy_p50_s"] / r["idle_p50_s"] if r["busy_p50_s"] else float("nan")
    print(f"{'figure':44}{'value':>10}   goal")
    print(f"{'click to results p50, nobody building (s)':44}{r['idle_p50_s']:>10.2f}")
    print(f"{'click to results p50, during the seed build (s)':44}{r['busy_p50_s'] or float('nan'):>10.2f}")
    print(f"{'ratio':44}{ratio:>10.2f}   <= {GOAL:g}{'' if ratio <= GOAL else '  MISS'}")
    print(f"{'clicks timed during the build':44}{r['busy_clicks']:>10}")
    print(f"{'seed index build of ' + str(r['photos']) + ' photos (s)':44}{r['build_s']:>10.1f}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
