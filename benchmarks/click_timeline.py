"""Where a click's or an upload's time goes: the wire and the browser, seen from the page.

    python benchmarks/click_timeline.py [--catalog DIR] [--cache DIR] [--clicks 15] [--on browse|results]
                                        [--uploads 5] [--settle 20]

The catalog must be indexed in that cache first (``shirtsim index --catalog DIR``), as a served
catalog is; the default is the demo. It starts ``streamlit run app.py``, opens Debian's chromium,
waits ``--settle`` seconds (the model's warm-up, which a served page has long finished), then
clicks browse tiles (or, ``--on results``, a tile of the results shown each time, as a shopper
follows similar shirts), then uploads the catalog's last photos (each after a click, so the
heading appears anew), and records, in the page's own clock from the tile's click event or the
uploader's change event (the test driver's own time before that left out): the photo's upload
request, the websocket messages (count, bytes, first and last), the heading and the ten result
labels drawn, the run's end, the picture requests (count, first start, last end) and every
picture decoded; and, in the driver's clock, from Playwright's click or file choice until it has
the marks (what ``latency.py`` times, give or take its polling). Printed: the p50 of each over the
clicks after the first two, and the uploads.

First, the same server answers ten requests on one kept-alive connection before the page has run
once and ten after: Streamlit binds its socket so that Nagle's algorithm stays on, and every reply
on a reused connection waited for the browser's delayed acknowledgement (shirtsim.web.tcp turns
it off at the first run). The cost of the Playwright driver itself is what ``latency.py`` adds.
"""

import argparse
import functools
import http.client
import statistics
import tempfile
import time
from pathlib import Path

from common import DEMO, launch_chromium, streamlit_server
from playwright.sync_api import sync_playwright

GRID = 20  # shirts on a page of the browse grid
# The first page is there: its run is over and the browse grid's pictures are decoded.
GRID_PAINTED = """(n) => {
  const app = document.querySelector("[data-testid='stApp']");
  const images = [...document.images];
  return app?.getAttribute("data-test-script-state") === "notRunning" && images.length >= n
    && images.every((i) => i.complete && i.naturalWidth > 0);
}"""
# Counts the websocket messages the page receives (Streamlit sends one per element, or "delta").
WATCH_WEBSOCKET = """
window.__messages = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const ws = new NativeWebSocket(...args);
  ws.addEventListener("message", (e) =>
    window.__messages.push([performance.now(), e.data.byteLength || e.data.size || 0]));
  return ws;
};
window.WebSocket.prototype = NativeWebSocket.prototype;
Object.assign(window.WebSocket, NativeWebSocket);
"""
# Arms the page: at the next ``event`` (a tile's click, the uploader's change) the clock starts,
# and ``window.__timeline`` resolves, at the first frame where all is painted under ``heading``,
# with the marks in milliseconds after that event.
ARM = """([heading, event]) => {
  window.__timeline = new Promise((resolve) => {
    document.addEventListener(event, () => {
      window.__messages = [];
      performance.clearResourceTimings();
      const t0 = performance.now();
      const marks = {};
      function frame() {
        const t = performance.now() - t0;
        const app = document.querySelector("[data-testid='stApp']");
        const running = app.getAttribute("data-test-script-state") !== "notRunning";
        const shown = [...document.querySelectorAll("h1, h2, h3")]
          .some((h) => h.offsetParent !== null && h.innerText.trim() === heading);
        const labels = new Set([...document.querySelectorAll("[data-testid='stButton'] button, .shirtsim-grid button")]
          .map((b) => b.innerText.trim()).filter((s) => s.includes(" · ")));
        if (shown && !marks.heading) marks.heading = t;
        if (shown && labels.size === 10 && !marks.labels) marks.labels = t;
        if (marks.labels && !running && !marks.run_over) marks.run_over = t;
        const decoded = [...document.images].every((i) => i.complete && i.naturalWidth > 0);
        if (marks.run_over && decoded) {
          marks.painted = t;
          const resources = performance.getEntriesByType("resource");
          const media = resources.filter((r) => r.name.includes("/media/"));
          const upload = resources.filter((r) => r.name.includes("/_stcore/upload_file"));
          const messages = window.__messages.map(([at, n]) => [at - t0, n]);
          resolve({
            ...marks,
            messages: messages.length,
            message_kb: messages.reduce((s, m) => s + m[1], 0) / 1000,
            first_message: messages.length ? messages[0][0] : null,
            last_message: messages.length ? messages[messages.length - 1][0] : null,
            upload_sent: upload.length ? Math.max(...upload.map((r) => r.responseEnd - t0)) : null,
            pictures: media.length,
            pictures_start: media.length ? Math.min(...media.map((r) => r.startTime - t0)) : null,
            pictures_end: media.length ? Math.max(...media.map((r) => r.responseEnd - t0)) : null,
          });
          return;
        }
        requestAnimationFrame(frame);
      }
      requestAnimationFrame(frame);
    }, { capture: true, once: true });
  });
}"""
ROWS = [  # (key, what it is)
    ("upload_sent", "the photo sent (uploads)"),
    ("first_message", "first websocket message"),
    ("last_message", "last websocket message (the server's run sent)"),
    ("heading", "heading drawn"),
    ("labels", "ten result labels drawn"),
    ("run_over", "run over (the page says so)"),
    ("pictures_start", "first picture requested"),
    ("pictures_end", "last picture received"),
    ("painted", "painted: every picture decoded"),
    ("driver", "the test driver: its action until it sees painted"),
]
COUNTS = [
    ("messages", "websocket messages"),
    ("message_kb", "websocket kB"),
    ("pictures", "picture requests"),
]


def kept_alive_ms(url: str, requests: int = 10) -> float:
    """p50 of ``requests`` health checks on one kept-alive connection."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        connection.request("GET", "/_stcore/health")
        connection.getresponse().read()
        times.append((time.perf_counter() - start) * 1000)
    connection.close()
    return statistics.median(times)


def timeline(page, heading: str, event: str, action) -> dict:
    """The marks of one action, from ``event`` until painted under ``heading``."""
    page.evaluate(ARM, [heading, event])
    start = time.perf_counter()
    action()
    marks = page.evaluate("window.__timeline")
    return {**marks, "driver": (time.perf_counter() - start) * 1000}


def p50(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if r.get(key) is not None]
    return f"{statistics.median(values):.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(DEMO))
    parser.add_argument("--cache", help="the cache folder the catalog was indexed in (default: the user's)")
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--on", choices=["browse", "results"], default="browse", help="the tiles clicked")
    parser.add_argument("--uploads", type=int, default=5, help="of the catalog's last photos, each after a click")
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    catalog = Path(args.catalog)
    cache = Path(args.cache) if args.cache else Path.home() / ".cache" / "shirtsim"
    ids = sorted((p.stem for p in catalog.glob("*.jpg")), key=lambda s: (len(s), s))
    clicks, uploads = [], []
    with tempfile.TemporaryDirectory() as work, streamlit_server(catalog, cache, Path(work) / "server.log") as url:
        before = kept_alive_ms(url)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
            page.add_init_script(WATCH_WEBSOCKET)
            page.goto(url)
            page.wait_for_function(GRID_PAINTED, arg=min(GRID, len(ids)), timeout=120_000)
            after = kept_alive_ms(url)
            time.sleep(args.settle)
            shown = {t.strip() for t in page.get_by_role("button").all_inner_texts()}
            grid = [i for i in ids if i in shown]

            def click(shirt):
                tile = page.get_by_role("button", name=shirt, exact=True)
                return timeline(page, f"Most similar to {shirt}", "click", tile.click)

            if args.on == "results":
                click(grid[0])  # results to start from
            for n in range(args.clicks):
                if args.on == "browse":
                    clicks.append(click(grid[n % len(grid)]))
                else:  # the n-th result of the shown list: a shopper following similar shirts
                    labels = page.locator(".shirtsim-grid button").filter(has_text=" · ")
                    label = labels.nth(n % 10).inner_text().strip()
                    tile = page.get_by_role("button", name=label, exact=True)
                    clicks.append(timeline(page, f"Most similar to {label.split(' · ')[0]}", "click", tile.click))
                time.sleep(0.5)
            files = page.locator("input[type=file]")
            for n, photo in enumerate(ids[-args.uploads :] if args.uploads else []):
                click(grid[n % len(grid)])  # back to a shirt, so the upload's heading appears anew
                time.sleep(0.5)
                send = functools.partial(files.set_input_files, str(catalog / f"{photo}.jpg"))
                uploads.append(timeline(page, "Most similar to your photo", "change", send))
                time.sleep(0.5)
            browser.close()
    kept = clicks[2:] or clicks
    print(f"one kept-alive connection, per request: {before:.1f} ms before the page's first run, {after:.1f} ms after")
    print(f"{catalog}: p50 in ms after the click or the upload's change event, in the page's clock")
    print(f"  {'part':<50}{f'{len(kept)} clicks':>10}{f'{len(uploads)} uploads':>11}")
    for key, label in ROWS + COUNTS:
        print(f"  {label:<50}{p50(kept, key):>10}{p50(uploads, key):>11}")


if __name__ == "__main__":
    main()
