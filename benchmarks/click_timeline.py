"""Where a click's time goes after the server's run: the wire and the browser, seen from the page.

    python benchmarks/click_timeline.py [--catalog DIR] [--cache DIR] [--clicks 15] [--settle 20]

The catalog must be indexed in that cache first (``shirtsim index --catalog DIR``), as a served
catalog is; the default is the demo. It starts ``streamlit run app.py``, opens Debian's chromium,
waits ``--settle`` seconds (the model's warm-up, which a served page has long finished), then
clicks browse tiles from inside the page (no test driver in the way) and records, in the page's
own clock from the click: the websocket messages (count, bytes, first and last), the heading and
the ten result labels drawn, the run's end, the picture requests (count, first start, last end)
and every picture decoded. Printed: the p50 of each over the clicks after the first two.

First, the same server answers ten requests on one kept-alive connection before the page has run
once and ten after: Streamlit binds its socket so that Nagle's algorithm stays on, and every reply
on a reused connection waited for the browser's delayed acknowledgement (shirtsim.web.tcp turns
it off at the first run). The cost of the Playwright driver itself is what ``latency.py`` adds.
"""

import argparse
import http.client
import statistics
import tempfile
import time
from pathlib import Path

from common import DEMO, launch_chromium, streamlit_server
from playwright.sync_api import sync_playwright

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
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
# Clicks the browse tile ``shirt`` and resolves, at the first frame where all is painted, with the
# marks in milliseconds after the click.
CLICK = """async (shirt) => {
  const heading = "Most similar to " + shirt;
  const tile = [...document.querySelectorAll("[data-testid='stButton'] button")]
    .find((b) => b.offsetParent !== null && b.innerText.trim() === shirt);
  window.__messages = [];
  performance.clearResourceTimings();
  const t0 = performance.now();
  tile.click();
  const marks = {};
  return await new Promise((resolve) => {
    function frame() {
      const t = performance.now() - t0;
      const app = document.querySelector("[data-testid='stApp']");
      const running = app.getAttribute("data-test-script-state") !== "notRunning";
      const shown = [...document.querySelectorAll("h1, h2, h3")]
        .some((h) => h.offsetParent !== null && h.innerText.trim() === heading);
      const labels = new Set([...document.querySelectorAll("[data-testid='stButton'] button")]
        .map((b) => b.innerText.trim()).filter((s) => s.includes(" · ")));
      if (shown && !marks.heading) marks.heading = t;
      if (shown && labels.size === 10 && !marks.labels) marks.labels = t;
      if (marks.labels && !running && !marks.run_over) marks.run_over = t;
      const decoded = [...document.images].every((i) => i.complete && i.naturalWidth > 0);
      if (marks.run_over && decoded) {
        marks.painted = t;
        const media = performance.getEntriesByType("resource").filter((r) => r.name.includes("/media/"));
        const messages = window.__messages.map(([at, n]) => [at - t0, n]);
        resolve({
          ...marks,
          messages: messages.length,
          message_kb: messages.reduce((s, m) => s + m[1], 0) / 1000,
          first_message: messages.length ? messages[0][0] : null,
          last_message: messages.length ? messages[messages.length - 1][0] : null,
          pictures: media.length,
          pictures_start: media.length ? Math.min(...media.map((r) => r.startTime - t0)) : null,
          pictures_end: media.length ? Math.max(...media.map((r) => r.responseEnd - t0)) : null,
        });
        return;
      }
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  });
}"""
ROWS = [  # (key, what it is)
    ("first_message", "first websocket message"),
    ("last_message", "last websocket message (the server's run sent)"),
    ("heading", "heading drawn"),
    ("labels", "ten result labels drawn"),
    ("run_over", "run over (the page says so)"),
    ("pictures_start", "first picture requested"),
    ("pictures_end", "last picture received"),
    ("painted", "painted: every picture decoded"),
]
COUNTS = [("messages", "websocket messages"), ("message_kb", "websocket kB"), ("pictures", "picture requests")]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(DEMO))
    parser.add_argument("--cache", help="the cache folder the catalog was indexed in (default: the user's)")
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    catalog = Path(args.catalog)
    cache = Path(args.cache) if args.cache else Path.home() / ".cache" / "shirtsim"
    ids = sorted((p.stem for p in catalog.glob("*.jpg")), key=lambda s: (len(s), s))
    with tempfile.TemporaryDirectory() as work, streamlit_server(catalog, cache, Path(work) / "server.log") as url:
        before = kept_alive_ms(url)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
            page.add_init_script(WATCH_WEBSOCKET)
            page.goto(url)
            page.wait_for_selector(READY)
            after = kept_alive_ms(url)
            time.sleep(args.settle)
            shown = {t.strip() for t in page.locator("[data-testid='stButton'] button").all_inner_texts()}
            clicks = []
            for shirt in [i for i in ids if i in shown][: args.clicks]:
                clicks.append(page.evaluate(CLICK, shirt))
                time.sleep(0.5)
            browser.close()
    kept = clicks[2:] or clicks
    print(f"one kept-alive connection, per request: {before:.1f} ms before the page's first run, {after:.1f} ms after")
    print(f"{len(kept)} clicks on {catalog} (p50, ms after the click, in the page's clock)")
    for key, label in ROWS:
        print(f"  {label:<50}{statistics.median(c[key] for c in kept):>8.0f}")
    for key, label in COUNTS:
        print(f"  {label:<50}{statistics.median(c[key] for c in kept):>8.1f}")


if __name__ == "__main__":
    main()
