"""A real browser (Debian's chromium, driven by Playwright) against ``streamlit run app.py``."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import DEMO, ROOT
from shirtsim.engine import get_mode

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = pytest.mark.browser


def _need_browser():
    missing = not os.path.exists(CHROMIUM) or shutil.which("streamlit") is None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install chromium (apt) and playwright (pip)")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium and the playwright package")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(session_cache) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port with the session's warm cache; returns when healthy."""
    port = free_port()
    env = dict(os.environ, SHIRTSIM_CACHE_DIR=str(session_cache), SHIRTSIM_WEIGHTS="packaged")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("streamlit did not start: " + proc.stdout.read().decode()[-2000:])


@pytest.fixture(scope="module")
def server(demo_engine, session_cache):
    _need_browser()
    demo_engine.index(get_mode("balanced").kind)  # warm cache: the server starts in seconds
    proc, url = start_streamlit(session_cache)
    yield url
    proc.terminate()
    log = proc.communicate(timeout=30)[0].decode()
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(120_000)
        page.goto(server)
        page.wait_for_selector(READY)
        yield page
        browser.close()


def result_labels(page) -> list[str]:
    """Result button labels ("id · score") in page order; Streamlit nests a tooltip copy of each
    button that has help text, so each label is counted once."""
    texts = [b.inner_text().strip() for b in page.locator("[data-testid='stButton'] button").filter(has_text=" · ").all()]
    return list(dict.fromkeys(texts))


def test_click_a_shirt_then_upload_a_photo(page, demo_engine):
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_role("button", name="1009", exact=True).click()
    page.get_by_text("Most similar to 1009").wait_for()
    page.wait_for_selector(READY)
    expected = demo_engine.similar_to_id("1009", get_mode("balanced"), 10)
    # The grid is 5 columns x 2 rows filled row by row; the page lists it column by column.
    in_page_order = [expected[i] for col in range(5) for i in range(col, 10, 5)]
    assert result_labels(page) == [f"{m.id} · {m.score:.3f}" for m in in_page_order]
    assert "shirt=1009" in page.url
    page.screenshot(path=str(ARTIFACTS / "browser-selected.png"), full_page=False)

    page.locator("input[type=file]").set_input_files(str(DEMO / "1150.jpg"))
    page.get_by_text("Most similar to your photo").wait_for()
    page.wait_for_selector(READY)
    labels = result_labels(page)
    assert len(labels) == 10 and labels[0] == "1150 · 1.000"
    page.screenshot(path=str(ARTIFACTS / "browser-upload.png"), full_page=False)
