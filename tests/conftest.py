"""Shared fixtures. Every test runs offline with the packaged weights and a private cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# One thread for numpy's BLAS and faiss in each test worker (and the servers and commands tests
# start): two workers on two cores keep both busy, and a threaded BLAS or faiss call on a busy
# CPU waits at its threads' barriers. One exact search of 1,691 shirts took 5.2 ms instead of
# 0.6 ms beside another busy process (2026-12-04). Set before numpy is first imported (by helpers).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402
from helpers import DEMO, FakeEmbedder  # noqa: E402

os.environ.setdefault("SHIRTSIM_WEIGHTS", "packaged")


MODEL_FIXTURES = {"embedder", "demo_engine", "real_model_in_process"}  # they load the real VGG16 (~20 s)


def pytest_collection_modifyitems(items):
    """A test that needs the real model is slow, whatever its file says: the fast tier never loads it."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory, worker_id) -> Path:
    """One embedding cache for the whole run, so the demo catalog and the real photos are
    embedded once: with two test workers, one cache for both (its writes are atomic renames of
    content-addressed files, made for two indexers at once: docs/reliability.md)."""
    if worker_id == "master":
        return tmp_path_factory.mktemp("cache")
    shared = tmp_path_factory.getbasetemp().parent / "shared-cache"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, session_cache):
    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("SHIRTSIM_WEIGHTS", "packaged")
    monkeypatch.delenv("SHIRTSIM_CATALOG", raising=False)
    monkeypatch.delenv("SHIRTSIM_INDEX", raising=False)
    monkeypatch.delenv("SHIRTSIM_PROJECTION", raising=False)
    monkeypatch.delenv("SHIRTSIM_CURATION", raising=False)
    monkeypatch.delenv("SHIRTSIM_EDITOR_PASSWORD", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(session_cache.parent / "data-home"))  # curation files
    # The demo's shipped vectors (shirtsim.index.shipped) would stand in for the fake model's, and
    # count as embedding: in-process tests embed for themselves; tests/test_shipped.py uses them.
    monkeypatch.setattr("shirtsim.index.shipped.FOLDER", session_cache / "no-shipped-vectors")


@pytest.fixture(scope="session")
def weights():
    from shirtsim.model.weights import packaged_weights

    return packaged_weights()


@pytest.fixture(scope="session")
def embedder(weights):
    """The real VGG16 with the packaged weights, loaded once for the session."""
    from shirtsim.model.vgg16 import Embedder

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


@pytest.fixture(scope="session")
def fake_cache(tmp_path_factory) -> Path:
    """The fake model's own cache: its vectors carry the real weights' fingerprint, so they must
    never share a cache with real ones."""
    return tmp_path_factory.mktemp("fake-cache")


@pytest.fixture
def fake_model(monkeypatch, fake_cache) -> Path:
    """Whatever builds an Engine in this process (the app under AppTest, the CLI called in-process)
    gets :class:`FakeEmbedder` instead of VGG16, with the fake cache: seconds instead of minutes."""
    monkeypatch.setattr("shirtsim.engine.Embedder", FakeEmbedder)
    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(fake_cache))
    # The packaged projection learned real photos: on the fake model's vectors its texture part
    # says the same for every shirt. The real-model tests run with it (auto).
    monkeypatch.setenv("SHIRTSIM_PROJECTION", "none")
    return fake_cache


@pytest.fixture(scope="session")
def fake_demo_engine(weights, fake_cache):
    """An engine on the demo catalog with the fake model: what the app and CLI see under ``fake_model``."""
    from shirtsim.engine import Engine

    return Engine(
        DEMO,
        weights=weights,
        cache_dir=fake_cache,
        get_embedder=FakeEmbedder,
        index_backend="memory",
        projection="none",
    )


@pytest.fixture
def real_model_in_process(monkeypatch, embedder, session_cache) -> Path:
    """Whatever builds an Engine in this process gets the session's real VGG16 and cache (no
    second model load, no subprocess start-up): for CLI tests whose figures need the real model."""
    monkeypatch.setattr("shirtsim.engine.Embedder", lambda weights: embedder)
    return session_cache


@pytest.fixture
def fake_indexed(fake_model, fake_demo_engine):
    """The demo catalog indexed (balanced) by the fake model, for CLI calls in this process."""
    from shirtsim.engine import get_mode

    fake_demo_engine.index(get_mode("balanced").kind)
    return fake_demo_engine


@pytest.fixture
def cli(capsys):
    """``cli(*args)`` -> (exit status, stdout, stderr) of ``shirtsim ARGS`` in this process."""
    from shirtsim.cli.main import main

    def call(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's own exits
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return call
