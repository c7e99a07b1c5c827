"""The catalog map (shirtsim.overview.catalog_map): an exact PCA of what a mode compares, placed and
selected like the app does, cached per index and mode."""

import numpy as np
import pytest

from shirtsim.describe.descriptors import MODES, STYLE_KIND
from shirtsim.describe.projection import PACKAGED_FILE, load_projection
from shirtsim.index.search import weigh
from shirtsim.overview.catalog_map import make_map, value_scales

LAYOUT = load_projection(PACKAGED_FILE).layout


def structured(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 4)) @ rng.normal(size=(4, LAYOUT.dim)) * 2 + rng.normal(size=(n, LAYOUT.dim))).astype(
        np.float32
    )


def test_the_map_is_the_exact_pca_of_the_weighted_vectors():
    vectors = structured()
    layout_map = make_map([str(i) for i in range(len(vectors))], vectors, LAYOUT, MODES["balanced"])
    x = vectors * value_scales(LAYOUT, MODES["balanced"])
    x -= x.mean(axis=0)
    values, directions = np.linalg.eigh(x.T @ x)
    for n in (0, 1):
        assert abs(directions[:, -1 - n] @ layout_map.axes[n]) == pytest.approx(1.0, abs=1e-6)
        assert layout_map.explained[n] == pytest.approx(values[-1 - n] / values.sum(), rel=1e-6)
    np.testing.assert_allclose(layout_map.xy, x @ layout_map.axes.T, atol=1e-4)
    again = make_map([str(i) for i in range(len(vectors))], vectors, LAYOUT, MODES["balanced"])
    assert np.array_equal(again.xy, layout_map.xy)  # the same every time, signs included


def test_distances_on_the_weighted_vectors_follow_the_modes_score(fake_model, fake_demo_engine):
    for name in ("balanced", "colour"):
        mode = MODES[name]
        index = fake_demo_engine.index(STYLE_KIND)
        a, b = index.stored("1001"), index.stored("1077")
        score = float(np.dot(weigh(index.layout, a, mode), b))
        scales = value_scales(index.layout, mode)
        assert float(np.sum(((a - b) * scales) ** 2)) == pytest.approx(2 - 2 * score, abs=1e-5)


def test_the_engine_makes_one_map_per_index_and_mode_and_places_an_upload_on_it(fake_model, fake_demo_engine):
    balanced = fake_demo_engine.catalog_map(MODES["balanced"])
    assert balanced is fake_demo_engine.catalog_map(MODES["balanced"])
    colour = fake_demo_engine.catalog_map(MODES["colour"])
    assert colour is not balanced and not np.allclose(colour.xy, balanced.xy)
    index = fake_demo_engine.index(STYLE_KIND)
    assert balanced.ids == index.ids and balanced.xy.shape == (200, 2)
    row = balanced.ids.index("1050")
    assert balanced.place(index.stored("1050")) == pytest.approx(tuple(balanced.xy[row]), abs=1e-4)


def test_a_rectangle_selects_the_shirts_inside_it_in_catalog_order():
    vectors = structured(n=50)
    layout_map = make_map([f"s{i}" for i in range(50)], vectors, LAYOUT, MODES["pattern"])
    x, y = layout_map.xy[:, 0], layout_map.xy[:, 1]
    xs, ys = (float(np.median(x)), float(x.max())), (float(y.min()), float(np.median(y)))
    inside = [f"s{i}" for i in range(50) if xs[0] <= x[i] <= xs[1] and ys[0] <= y[i] <= ys[1]]
    assert layout_map.ids_in(xs, ys) == inside and 0 < len(inside) < 50
    assert layout_map.ids_in(xs[::-1], ys[::-1]) == inside  # dragged the other way
    assert layout_map.ids_in((1e6, 2e6), ys) == []


def test_a_catalog_too_small_for_directions_sits_at_the_origin():
    layout_map = make_map(["a", "b"], structured(n=2), LAYOUT, MODES["balanced"])
    assert layout_map.xy.tolist() == [[0.0, 0.0], [0.0, 0.0]] and layout_map.explained == (0.0, 0.0)


def test_a_large_catalog_finds_its_directions_on_a_spread_sample_and_places_every_shirt(monkeypatch):
    monkeypatch.setattr("shirtsim.overview.catalog_map.FIT_ROWS", 500)
    rng = np.random.default_rng(1)
    directions = np.linalg.qr(rng.normal(size=(LAYOUT.dim, 2)))[0].T  # two clearly leading directions
    vectors = (rng.normal(size=(3000, 2)) * [8.0, 4.0] @ directions + rng.normal(size=(3000, LAYOUT.dim))).astype(
        np.float32
    )
    layout_map = make_map([str(i) for i in range(3000)], vectors, LAYOUT, MODES["balanced"])
    x = vectors * value_scales(LAYOUT, MODES["balanced"])
    x -= x.mean(axis=0)
    _, directions = np.linalg.eigh(x.T @ x)
    assert abs(directions[:, -1] @ layout_map.axes[0]) > 0.95  # found on 500 of them: close, not exact
    centred = vectors * layout_map.scales - layout_map.centre
    np.testing.assert_allclose(layout_map.xy, centred @ layout_map.axes.T, atol=1e-4)  # all 3,000 placed
