"""Many users at once: 20 browser sessions (Debian's chromium via Playwright) against one
``streamlit run app.py``, each clicking shirts and uploading a photo at the same time; once on the
demo catalog and once on 200 real photos of 1800x2400 px (``tests/support/catalogs.py``), the size a
store's photos have.

Every session must see exactly the library's results; the model must load once; the server's
memory must stay bounded and its log free of errors. Prints the figures the README quotes:
``python -m pytest tests/test_load.py -s``.
"""

import asyncio
import os
import random
import re
import statistics
import threading
import time
from types import SimpleNamespace

import pytest
from helpers import DEMO, READY, REAL_SHIRTS, RESULT_BUTTONS, launch_chromium, need_browser, start_streamlit

from shirtsim.engine import Engine, get_mode
from shirtsim.settings import LOAD_SESSIONS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = int(LOAD_SESSIONS.get())
CLICKS_PER_SESSION = 3
MAX_SERVER_RSS = 1536 * 1024**2  # one model (~850 MB with TF) and 20 sessions: measured peak 927-1,001 MB


def page_order(matches) -> list[str]:
    """Result labels as the page lists them: a tile grid, in rank order."""
    return [f"{m.id} · {m.score:.3f}" for m in matches]


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


@pytest.fixture(scope="module")
def large_catalog(tmp_path_factory):
    if not REAL_SHIRTS.is_dir():
        pytest.skip(f"the large catalog is made from real photos, absent here: {REAL_SHIRTS}")
    from support.catalogs import make_large_catalog

    dest = tmp_path_factory.mktemp("large-catalog")
    make_large_catalog(REAL_SHIRTS, dest)
    return dest


@pytest.fixture(params=["demo", "large"])
def catalog(request, demo_engine, weights, embedder, session_cache):
    """The catalog under load: its name, folder, an engine on it sharing the session's model and
    cache (the expected results), and the server's environment."""
    need_browser()
    if request.param == "demo":
        return SimpleNamespace(name="demo", dir=DEMO, engine=demo_engine, env={})
    folder = request.getfixturevalue("large_catalog")
    engine = Engine(
        folder, weights=weights, cache_dir=session_cache, get_embedder=lambda w: embedder, index_backend="memory"
    )
    return SimpleNamespace(name="large", dir=folder, engine=engine, env={"SHIRTSIM_CATALOG": str(folder)})


@pytest.fixture
def server(catalog, session_cache):
    catalog.engine.index(get_mode("balanced").kind)  # warm cache: what a demo machine has
    proc, url = start_streamlit(session_cache, **catalog.env)
    peak = [0]
    stop_watching = threading.Event()

    def watch_memory():
        while not stop_watching.is_set():
            try:
                peak[0] = max(peak[0], rss_bytes(proc.pid))
            except (OSError, AttributeError):
                return
            stop_watching.wait(0.2)

    watcher = threading.Thread(target=watch_memory, daemon=True)
    watcher.start()

    def stop() -> str:
        """Shut the server down and return everything it printed."""
        stop_watching.set()
        if proc.poll() is None:
            proc.terminate()
        return proc.communicate(timeout=30)[0].decode()

    yield SimpleNamespace(url=url, peak=peak, stop=stop, pid=proc.pid)
    stop()


async def one_session(context, url, folder, n, expected_click, expected_upload, latencies, errors):
    rng = random.Random(n)
    page = await context.new_page()
    page.set_default_timeout(180_000)
    try:
        await page.goto(url)
        await page.wait_for_selector(READY)
        for shirt in rng.sample(sorted(expected_click), CLICKS_PER_SESSION):
            t0 = time.perf_counter()
            await page.get_by_role("button", name=shirt, exact=True).click()
            await page.get_by_text(f"Most similar to {shirt}").wait_for()
            await page.wait_for_selector(READY)
            latencies.append(time.perf_counter() - t0)
            if await labels(page) != expected_click[shirt]:
                errors.append(f"session {n}: wrong results for {shirt}")
        photo = sorted(expected_upload)[n % len(expected_upload)]
        t0 = time.perf_counter()
        await page.locator("input[type=file]").set_input_files(str(folder / photo))
        await page.get_by_text("Most similar to your photo").wait_for()
        await page.wait_for_selector(READY)
        latencies.append(time.perf_counter() - t0)
        if await labels(page) != expected_upload[photo]:
            errors.append(f"session {n}: wrong results for upload {photo}")
        if await page.locator("[data-testid='stException'], [data-testid='stAlert']").count():
            errors.append(f"session {n}: an error or warning was shown")
    finally:
        await page.close()


async def labels(page) -> list[str]:
    texts = [(await b.inner_text()).strip() for b in await page.locator(RESULT_BUTTONS).filter(has_text=" · ").all()]
    return list(dict.fromkeys(texts))


async def run_sessions(url, folder, expected_click, expected_upload):
    from playwright.async_api import async_playwright

    latencies, errors = [], []
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        # One browser profile, a tab per session (each tab is a session of its own on the server, as
        # a shopper's tabs are): the tabs share the browser's cache of Streamlit's scripts.
        context = await browser.new_context(viewport={"width": 1400, "height": 1800})
        try:
            await asyncio.gather(
                *(
                    one_session(context, url, folder, n, expected_click, expected_upload, latencies, errors)
                    for n in range(SESSIONS)
                )
            )
        finally:
            await browser.close()
    return latencies, errors


def test_twenty_concurrent_sessions_click_and_upload(server, catalog):
    url, peak, stop = server.url, server.peak, server.stop
    engine, mode = catalog.engine, get_mode("balanced")
    ids = engine.index(mode.kind).ids  # in the browse grid's order
    expected_click = {s: page_order(engine.similar_to_id(s, mode, 10)) for s in ids[:20]}  # its first page
    photos = [f"{i}.jpg" for i in ids[149:154]]  # past the first page (the demo's 1150-1154)
    expected_upload = {
        p: page_order(engine.similar_to_image_bytes((catalog.dir / p).read_bytes(), p, mode, 10)) for p in photos
    }

    t0 = time.perf_counter()
    latencies, errors = asyncio.run(run_sessions(url, catalog.dir, expected_click, expected_upload))
    wall = time.perf_counter() - t0
    with open(f"/proc/{server.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    server_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    log = stop()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))] if ms else float("nan")
    print(
        f"\nload test ({catalog.name} catalog): {SESSIONS} concurrent sessions, {len(latencies)} requests "
        f"({SESSIONS * CLICKS_PER_SESSION} clicks, {SESSIONS} uploads) in {wall:.0f} s; "
        f"click/upload-to-results p50 {statistics.median(ms) if ms else float('nan'):.0f} ms, "
        f"p99 {p99:.0f} ms; server peak RSS {peak[0] / 1024**2:.0f} MB, server CPU {server_cpu:.0f} s"
    )
    assert errors == []
    assert len(latencies) == SESSIONS * (CLICKS_PER_SESSION + 1)
    assert log.count("VGG16 loaded") == 1, log[-3000:]  # one model for every session
    assert 0 < peak[0] < MAX_SERVER_RSS
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
