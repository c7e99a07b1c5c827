"""Helpers shared by the tests (fixtures live in conftest.py; no test module imports another)."""

from __future__ import annotations

import io
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.apptest import (  # noqa: F401 (for the tests)
    browse_picture,
    browse_tiles,
    grid_data,
    grid_notes,
    grid_tiles,
    pick,
    send,
)
from support.chromium import CHROMIUM, launch_chromium  # noqa: F401 (the benchmarks' launcher too)

from shirtsim.catalog.labels import Labels
from shirtsim.describe.descriptors import SEED_KIND
from shirtsim.index.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "assets" / "demo-catalog"
REAL_SHIRTS = ROOT.parent / "shared" / "data" / "real-shirts-dev"
ARTIFACTS = ROOT / "test-artifacts"
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


# Shirt names that are markdown, HTML, links, a colour directive, an emoji code and maths.
HOSTILE = [
    "[sale](https:evil.example)",
    "**bold**",
    "![x](https:evil.example.png)",
    ":red[alert] :smile:",
    "$x^2$",
    "<b>html<b> <img src=x onerror=alert(1)>",
    "www.evil.example",
]


def make_hostile_catalog(cat: Path) -> Path:
    """Demo shirts under :data:`HOSTILE` names, one more whose name is not valid UTF-8 (its id is
    ``caf%E9``), and a ``labels.csv`` whose column names and values are markdown too."""
    cat.mkdir(parents=True)
    for n, name in enumerate(HOSTILE):
        shutil.copy(DEMO / f"{1001 + n}.jpg", cat / f"{name}.jpg")
    with open(os.fsencode(cat) + b"/caf\xe9.jpg", "wb") as f:
        f.write((DEMO / "1020.jpg").read_bytes())
    # Two values a column, so each can serve as a filter (a column with one value says nothing).
    rows = "".join(
        f'"{name}",**loud**,[x](https:evil.example)\n' if n % 2 == 0 else f'"{name}",__quiet__,<i>y</i>\n'
        for n, name in enumerate(HOSTILE)
    )
    (cat / "labels.csv").write_text("id,**Colour**,[col](https:evil.example)\n" + rows, encoding="utf-8")
    return cat


def need_real_photos() -> None:
    """Skip when the project's shared real product photos are not beside the checkout."""
    if not (REAL_SHIRTS / "labels.csv").is_file():
        pytest.skip(f"real product photos not found at {REAL_SHIRTS} (the project's shared data)")


def need_browser() -> None:
    """Skip (locally) or fail (in CI) when Debian's chromium or playwright is missing."""
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


def start_streamlit(cache_dir, **env) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port with ``cache_dir`` and the packaged weights (plus
    ``env``, such as ``SHIRTSIM_CATALOG``); returns once its health check answers."""
    port = free_port()
    env = dict(os.environ, SHIRTSIM_CACHE_DIR=str(cache_dir), SHIRTSIM_WEIGHTS="packaged", **env)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
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


class FakeEmbedder:
    """Stands in for VGG16 in cache tests: block4_conv3-shaped output from the input's colours.

    Counts how many images it was asked to embed, which is what cache tests check.
    """

    def __init__(self, weights=None, cache_dir=None):  # Embedder's signature
        from shirtsim.model.weights import packaged_weights

        self.weights = weights or packaged_weights()  # which texture basis it gets (shirtsim.describe.texture)
        self.calls = 0
        self.images = 0

    def forward(self, batch: np.ndarray, layers, bfloat16=False, int8=False):
        self.calls += 1
        self.images += len(batch)
        means = batch.reshape(len(batch), -1, 3).mean(axis=1)  # (B, 3)
        base = np.repeat(means, 171, axis=1)[:, :512]
        out = {}
        for layer in layers:
            if layer == "block5_pool":
                out[layer] = np.broadcast_to(base[:, None, None, :], (len(batch), 7, 7, 512)).copy()
            else:
                out[layer] = np.broadcast_to(base[:, None, None, :], (len(batch), 28, 28, 512)).copy()
        return out


def run(*args, timeout=600):
    """``python -m shirtsim ARGS`` in a subprocess, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "shirtsim", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def run_script(script, *args, timeout=600):
    """``python SCRIPT ARGS`` in a subprocess, from the checkout (a benchmark, as a user runs it)."""
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def serve(cache_dir, **env):
    """``streamlit run app.py`` for a module's tests; afterwards its log must hold no traceback."""
    proc, url = start_streamlit(cache_dir, **env)
    yield url
    proc.terminate()
    # Stopping took 1-2 s alone, but once over 30 s in a full run with the other worker busy (the
    # log said "Stopping...", then nothing; not reproduced since): 90 s before it counts as a hang.
    log = proc.communicate(timeout=90)[0].decode()
    assert "Traceback" not in log, log[-3000:]


@contextmanager
def open_page(url):
    """Chromium at ``url``, once the app has run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_selector(READY)
        yield page
        browser.close()


RESULT_BUTTONS = "[data-testid='stButton'] button, .shirtsim-grid button"  # tools on; tools off (a tile grid)


def result_labels(page) -> list[str]:
    """Result button labels ("id · score") in page order: rank order in a tile grid (the steering
    tools off), column by column with the tools on; Streamlit nests a tooltip copy of each button
    that has help text, so each label is counted once."""
    texts = [b.inner_text().strip() for b in page.locator(RESULT_BUTTONS).filter(has_text=" · ").all()]
    return list(dict.fromkeys(texts))


# Shirts on a circle: the score of two is the cosine of the angle between them, so every list is known.
ANGLES = {"q": 0, "a": 5, "b": 10, "c": 15, "d": 20, "e": 25, "f": 30, "g": 35}
LABELS = Labels(
    ["colour", "group", "price"],
    {
        "q": {"colour": "red", "group": "g1", "price": "20"},
        "a": {"colour": "red", "group": "g1", "price": "20"},
        "b": {"colour": "blue", "group": "g2", "price": "21"},
        "c": {"colour": "red", "group": "g2", "price": "40"},
        "d": {"colour": "red", "group": "g3", "price": ""},
        "e": {"colour": "blue", "group": "", "price": "19"},
        "f": {"colour": "red", "group": "", "price": "18"},
        "g": {"colour": "red", "group": "g1", "price": "23"},
    },
)


def circle() -> SearchIndex:
    ids = list(ANGLES)
    vectors = np.array([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in ANGLES.values()], np.float32)
    return SearchIndex.build(SEED_KIND, ids, vectors)
