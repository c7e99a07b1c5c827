"""The README's first command on a fresh machine: how long until the demo grid shows.

    python benchmarks/first_start.py [--json]

For each arithmetic path this CPU has (bfloat16 where native, int8 through LiteRT, float32;
``SHIRTSIM_ARITHMETIC``): a fresh cache, ``SHIRTSIM_WEIGHTS=auto`` (offline here, so ImageNet's
download fails and the packaged weights are used, as on a first start without network),
``streamlit run app.py`` on the bundled demo catalog; then, from the moment its health check
answers, chromium opens the page and the clock runs until the browse grid's 20 pictures are
painted, and then until a click on a shirt shows its ten results. Needs Debian's chromium.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import DEMO, launch_chromium, streamlit_server  # run as a script, so benchmarks/ is on sys.path
from latency import GRID, click_shirt, load_first_page, new_page
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shirtsim.model.arithmetic import bf16_supported  # noqa: E402


def first_start(browser, workdir: Path, name: str, env: dict) -> dict:
    cache = workdir / f"cache-{name}"
    with streamlit_server(DEMO, cache, workdir / f"{name}.log", SHIRTSIM_WEIGHTS="auto", **env) as url:
        page, _ = new_page(browser)
        grid = load_first_page(page, url, GRID)
        t0 = time.perf_counter()
        click = click_shirt(page, "1009", GRID)
        return {"grid_s": grid, "click_s": click, "grid_then_click_s": round(grid + (time.perf_counter() - t0), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = (["bfloat16"] if bf16_supported() else []) + ["int8", "float32"]
    paths = {name: {"SHIRTSIM_ARITHMETIC": name, "SHIRTSIM_FLOAT32": ""} for name in names}
    out = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = launch_chromium(p)
        for name, env in paths.items():
            out[name] = first_start(browser, Path(tmp), name, env)
        browser.close()
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print("first start, fresh cache, no network   grid painted (s)   first click's results (s)")
    for name, r in out.items():
        print(f"  {name:<36} {r['grid_s']:>16.2f}   {r['click_s']:>25.2f}")
    print("goal: the grid and its images <= 10 s after the health check answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
