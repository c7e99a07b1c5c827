"""The README's screenshots of the app (assets/screenshots/), taken in chromium on the demo catalog.

    python tools/screenshots.py [--only search|overview|feed]

Starts ``streamlit run app.py`` with the packaged weights and the default cache, then takes:
the results of a shirt, its "Why?" dialog, the same pattern in another colour, two modes
side by side, and an upload of a shirt in a scene with its proposed box (``search``); the
catalog map with a drag across it, the near-duplicates of the demo catalog with three copies
added (a temporary copy of it), and the quality page (``overview``); the editor's tiles, the
visitor's list after a reload and the Curation page, from the browser test that checks them
(``feed``: tests/test_browser_feed.py). Needs Debian's chromium (``apt-get install chromium``).
"""

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from PIL import Image  # noqa: E402

from shirtsim.store import default_cache_dir  # noqa: E402
from tests.support.chromium import launch_chromium  # noqa: E402

OUT = ROOT / "assets" / "screenshots"
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
SHIRT = "1009"


def save(page, name):
    time.sleep(1.5)  # pictures fade in
    png = page.screenshot(full_page=False)
    Image.open(io.BytesIO(png)).convert("RGB").save(OUT / f"{name}.jpg", quality=80, optimize=True)
    print(f"wrote {OUT / name}.jpg")


def open_shirt(playwright, url):
    """Chromium on the app's page for SHIRT, once it has run: (browser, page)."""
    browser = launch_chromium(playwright)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    page.goto(f"{url}/?shirt={SHIRT}")
    page.wait_for_selector(READY)
    return browser, page


def make_scene(path: Path) -> None:
    """A demo shirt (its backdrop cut away) on a noisy sofa-coloured scene, as a phone might see it."""
    shirt = Image.open(ROOT / "assets" / "demo-catalog" / f"{SHIRT}.jpg").convert("RGB")
    noise = np.random.default_rng(0).normal(0, 10, (700, 900, 3))
    scene = Image.fromarray(np.clip(np.array([96, 112, 140]) + noise, 0, 255).astype(np.uint8))
    scene.paste(shirt, (420, 260), Image.eval(shirt.convert("L"), lambda v: 0 if v > 225 else 255))
    scene.save(path, quality=90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("search", "overview", "feed"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "search"):
        search_pages()
    if args.only in (None, "overview"):
        overview_pages()
    if args.only in (None, "feed"):
        feed_pages()


def feed_pages():
    """The browser test of the merchandiser's feed takes these itself, once its assertions hold."""
    import subprocess

    test = [sys.executable, "-m", "pytest", "-n0", "-q", "tests/test_browser_feed.py"]
    subprocess.run(test, cwd=ROOT, check=True)
    for name in ("feed-editor", "feed-visitor", "feed-curation"):
        Image.open(ROOT / "test-artifacts" / f"{name}.png").convert("RGB").save(OUT / f"{name}.jpg", quality=80)
        print(f"wrote {OUT / name}.jpg")


def overview_pages():
    from helpers import start_streamlit
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "demo-with-copies"
        shutil.copytree(ROOT / "assets" / "demo-catalog", catalog)
        for shirt_id, way in (("1009", "mirror"), ("1077", "resize"), ("1150", "crop")):
            img = Image.open(catalog / f"{shirt_id}.jpg").convert("RGB")
            w, h = img.size
            img = {
                "mirror": img.transpose(Image.FLIP_LEFT_RIGHT),
                "resize": img.resize((w // 2, h // 2)),
                "crop": img.crop((w // 20, h // 20, w, h)),
            }[way]
            img.save(catalog / f"{shirt_id}-{way}.jpg", quality=60)
        proc, url = start_streamlit(default_cache_dir(), SHIRTSIM_CATALOG=str(catalog))
        try:
            with sync_playwright() as p:
                browser, page = open_shirt(p, url)
                page.get_by_text("Catalog map", exact=True).click()
                chart = page.locator("[data-testid='stVegaLiteChart']")
                chart.locator("g.role-mark.view_1_marks").wait_for()
                page.wait_for_selector(READY)
                area = chart.locator("g.role-mark.view_1_marks").bounding_box()
                page.mouse.move(area["x"] + 0.05 * area["width"], area["y"] + 0.55 * area["height"])
                page.mouse.down()
                page.mouse.move(area["x"] + 0.35 * area["width"], area["y"] + 0.98 * area["height"], steps=10)
                page.mouse.up()
                page.get_by_text("shirt(s) selected").wait_for()
                page.wait_for_selector(READY)
                page.mouse.wheel(0, 420)
                save(page, "map")
                page.get_by_text("Near-duplicates", exact=True).click()
                page.get_by_text("Group 3").wait_for()
                page.wait_for_selector(READY)
                save(page, "duplicates")
                page.get_by_text("Quality", exact=True).click()
                page.get_by_text("Worst queries").wait_for()
                page.wait_for_selector(READY)
                save(page, "quality")
                browser.close()
        finally:
            proc.terminate()


def search_pages():
    from helpers import start_streamlit  # tests/helpers.py: the one way the project starts the app
    from playwright.sync_api import sync_playwright

    proc, url = start_streamlit(default_cache_dir())
    try:
        with sync_playwright() as p:
            browser, page = open_shirt(p, url)
            page.get_by_text("Steer and explain results").click()
            page.wait_for_selector(READY)
            save(page, "results")
            page.locator("[class*='st-key-why-res-'] button").first.click()
            page.locator("[data-testid='stDialog']").get_by_text("bright where").first.wait_for()
            save(page, "why")
            page.keyboard.press("Escape")
            page.get_by_text("This pattern in another colour").click()
            page.wait_for_selector(READY)
            save(page, "colour")
            page.get_by_text("This pattern in another colour").click()
            page.wait_for_selector(READY)
            page.locator("[data-testid='stSelectbox']").first.click()
            page.get_by_role("option", name="pattern").click()
            page.wait_for_selector(READY)
            save(page, "compare")
            page.goto(url)
            page.wait_for_selector(READY)
            with tempfile.TemporaryDirectory() as tmp:
                scene = Path(tmp) / "on the sofa.jpg"
                make_scene(scene)
                page.locator("input[type=file]").set_input_files(str(scene))
                page.get_by_text("Most similar to your photo").wait_for()
                page.wait_for_selector(READY)
            save(page, "upload")
            browser.close()
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
