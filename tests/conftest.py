"""Shared fixtures. Every test runs offline with the packaged weights and a private cache."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "assets" / "demo-catalog"
REAL_SHIRTS = ROOT.parent / "shared" / "data" / "real-shirts-dev"

os.environ.setdefault("SHIRTSIM_WEIGHTS", "packaged")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One embedding cache for the whole run, so the demo catalog is embedded once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, session_cache):
    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("SHIRTSIM_WEIGHTS", "packaged")
    monkeypatch.delenv("SHIRTSIM_CATALOG", raising=False)
    monkeypatch.delenv("SHIRTSIM_INDEX", raising=False)


@pytest.fixture(scope="session")
def weights():
    from shirtsim.weights import packaged_weights

    return packaged_weights()


@pytest.fixture(scope="session")
def embedder(weights):
    """The real VGG16 with the packaged weights, loaded once for the session."""
    from shirtsim.embedding import Embedder

    return Embedder(weights)


@pytest.fixture(scope="session")
def demo_engine(weights, embedder, session_cache):
    """An engine on the bundled demo catalog, sharing the session's model and cache."""
    from shirtsim.engine import Engine

    return Engine(DEMO, weights=weights, cache_dir=session_cache, get_embedder=lambda w: embedder,
                  index_backend="memory")


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def small_catalog(tmp_path) -> Path:
    """Six tiny distinct images copied from the demo catalog (a writable catalog to edit)."""
    cat = tmp_path / "catalog"
    cat.mkdir()
    for shirt_id in ("1001", "1002", "1003", "1004", "1005", "1006"):
        shutil.copy(DEMO / f"{shirt_id}.jpg", cat / f"{shirt_id}.jpg")
    return cat


class FakeEmbedder:
    """Stands in for VGG16 in cache tests: block4_conv3-shaped output from the input's colours.

    Counts how many images it was asked to embed, which is what cache tests check.
    """

    def __init__(self, weights=None):
        from shirtsim.weights import packaged_weights

        self.weights = weights or packaged_weights()  # which texture basis it gets (shirtsim.texture)
        self.calls = 0
        self.images = 0

    def forward(self, batch: np.ndarray, layers, bfloat16=False):
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
