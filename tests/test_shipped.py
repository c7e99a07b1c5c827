"""shirtsim.index.shipped: the demo's committed vectors, what they stand in for and when."""

import numpy as np
import pytest
from helpers import DEMO, FakeEmbedder

from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.engine import Engine
from shirtsim.index import shipped
from shirtsim.index.build import fingerprint
from shirtsim.store import content_hash

COMMITTED = shipped.FOLDER  # before conftest points it elsewhere for every test


@pytest.fixture
def committed(monkeypatch):
    monkeypatch.setattr(shipped, "FOLDER", COMMITTED)
    shipped._shipped.cache_clear()
    yield
    shipped._shipped.cache_clear()


def test_every_arithmetic_path_ships_a_vector_for_every_demo_photo(committed, weights):
    hashes = {content_hash(p.read_bytes()) for p in DEMO.glob("*.jpg")}
    base = fingerprint(weights, STYLE_KIND).removesuffix("-bf16")
    for fp in (base, base + "-bf16", base + "-int8c1"):
        assert set(shipped._shipped(COMMITTED, fp)) == hashes, fp
        assert shipped.shipped_vector(fp, next(iter(hashes))).shape == (STYLE_KIND.dim,)
    assert (
        shipped.shipped_vector(base, "0" * 64) is None and shipped.shipped_vector("other", next(iter(hashes))) is None
    )


@pytest.mark.slow
def test_the_shipped_vectors_are_what_this_machine_embeds(committed, demo_engine, embedder, weights, tmp_path):
    """Made by tools/ship_demo_vectors.py: stale after any change to the recipe, the
    basis or the weights, which this catches."""
    engine = Engine(DEMO, weights=weights, cache_dir=tmp_path, get_embedder=lambda w: embedder, projection="none")
    fp = fingerprint(weights, STYLE_KIND)
    ids = sorted(engine.catalog.ids)[::40]  # five photos, embedded here
    for shirt_id in ids:
        data = (DEMO / f"{shirt_id}.jpg").read_bytes()
        fresh = engine.read_upload(data, shirt_id, STYLE_KIND).vector
        np.testing.assert_allclose(shipped.shipped_vector(fp, content_hash(data)), fresh, atol=2e-3, rtol=0)


def test_a_first_start_takes_the_shipped_vectors_and_needs_no_model(committed, weights, tmp_path):
    def no_model(_weights):
        raise AssertionError("the model was loaded")

    engine = Engine(DEMO, weights=weights, cache_dir=tmp_path, get_embedder=no_model)
    index, report = engine.index_with_report(STYLE_KIND)
    assert (report.embedded, report.reused, report.shipped) == (0, 0, 200) and len(index) == 200
    assert report.summary() == "0 embedded, 0 reused, 200 shipped with shirtsim, 0 skipped"
    again = Engine(DEMO, weights=weights, cache_dir=tmp_path, get_embedder=no_model)
    assert again.index_with_report(STYLE_KIND)[1].summary() == "0 embedded, 200 reused, 0 skipped"  # now cached


def test_a_photo_not_in_the_shipped_set_is_embedded(committed, weights, small_catalog, tmp_path):
    (small_catalog / "1003.jpg").write_bytes(b"")  # unreadable: skipped, as before
    from PIL import Image

    Image.new("RGB", (200, 250), (10, 200, 30)).save(small_catalog / "green.jpg")  # a new photo
    fake = FakeEmbedder()
    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path, get_embedder=lambda w: fake)
    _, report = engine.index_with_report(STYLE_KIND)
    assert (report.embedded, report.shipped, fake.images, len(report.skipped)) == (1, 5, 1, 1)


def test_a_damaged_shipped_file_is_ignored(weights, tmp_path, monkeypatch):
    fp = fingerprint(weights, STYLE_KIND)
    (tmp_path / f"{fp}.vec").write_bytes(b"SHIRTSIM garbage")
    (tmp_path / f"{fp}.hashes").write_text("a\n")
    monkeypatch.setattr(shipped, "FOLDER", tmp_path)
    shipped._shipped.cache_clear()
    assert shipped.shipped_vector(fp, "a") is None
    shipped._shipped.cache_clear()
