"""Shared fixtures. Every test runs offline with the packaged weights and a private cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import DEMO

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

    return Engine(
        DEMO, weights=weights, cache_dir=session_cache, get_embedder=lambda w: embedder, index_backend="memory"
    )


@pytest.fixture
def small_catalog(tmp_path) -> Path:
    """Six tiny distinct images copied from the demo catalog (a writable catalog to edit)."""
    cat = tmp_path / "catalog"
    cat.mkdir()
    for shirt_id in ("1001", "1002", "1003", "1004", "1005", "1006"):
        shutil.copy(DEMO / f"{shirt_id}.jpg", cat / f"{shirt_id}.jpg")
    return cat
