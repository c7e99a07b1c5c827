"""Steering a query (shirtsim.describe.steer): like / unlike, and a colour from elsewhere."""

import numpy as np
import pytest

from shirtsim.describe.descriptors import COLOUR_START, MODES, STYLE_KIND, TEXTURE_DIM
from shirtsim.describe.steer import colour_swatch, combine, parse_hex, recoloured, with_colour_of
from shirtsim.errors import ShirtsimError
from shirtsim.index.search import SearchIndex


@pytest.fixture(scope="module")
def index():
    rng = np.random.default_rng(0)
    return SearchIndex.build(STYLE_KIND, [str(i) for i in range(20)], rng.normal(size=(20, STYLE_KIND.dim)))


def test_liked_and_unliked_follow_the_average_vector_rule_part_by_part(index):
    a, b, c = index.stored("1"), index.stored("2"), index.stored("3")
    got = combine(index.layout, [a, b], [c])
    for part, length in zip(index.layout.parts, index.layout.lengths):
        expected = 2 * (a[part] + b[part]) / 2 - c[part]
        assert np.allclose(got[part], expected / np.linalg.norm(expected) * length, atol=1e-6)
    assert np.allclose(combine(index.layout, [a], []), a, atol=1e-6)  # one liked shirt is itself
    with pytest.raises(ShirtsimError, match="Like at least one shirt"):
        combine(index.layout, [], [c])


def test_a_colour_from_elsewhere_replaces_the_colour_side_only(index):
    query, donor = index.stored("1"), index.stored("2")
    got = with_colour_of(index.layout, query, donor)
    assert np.array_equal(got[:COLOUR_START], query[:COLOUR_START])  # the Gram and the periodicity
    assert np.array_equal(got[COLOUR_START:], donor[COLOUR_START:])


def test_colours_are_written_as_hex_and_become_colour_parts():
    assert parse_hex("#1f3A93") == (31, 58, 147) and parse_hex(" 1f3a93 ") == (31, 58, 147)
    for bad in ("navy", "#12345", "#1234567", "#ggggggg", ""):
        with pytest.raises(ShirtsimError, match="write a colour as #rrggbb"):
            parse_hex(bad)
    red, blue = colour_swatch((200, 20, 20)), colour_swatch((20, 20, 200))
    assert not red[:COLOUR_START].any() and red[COLOUR_START:].any()
    assert float(red[COLOUR_START:] @ blue[COLOUR_START:]) < 0.7 * float(red[COLOUR_START:] @ red[COLOUR_START:])


def test_a_swatch_is_spread_like_a_photo_and_the_same_every_time():
    def cosine(a, b):
        a, b = colour_swatch(a)[COLOUR_START:], colour_swatch(b)[COLOUR_START:]
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert np.array_equal(colour_swatch((31, 58, 147)), colour_swatch((31, 58, 147)))
    assert cosine((31, 58, 147), (41, 68, 157)) > 0.8  # ten levels off: still mostly the same bins
    assert 0.2 < cosine((31, 58, 147), (31, 42, 84)) < 0.4  # navy: a darker neighbour, partly
    assert cosine((31, 58, 147), (200, 30, 30)) < 0.15


def test_a_recoloured_query_has_one_setting_whatever_the_mode():
    for name in ("balanced", "pattern", "colour"):
        names = ("texture", "periodicity", "lab", "hsv", "texture_learned", "colour_learned")
        weights = recoloured(MODES[name]).part_weights(names)
        assert weights == pytest.approx((0.5 * 0.85 * 0.7, 0.5 * 0.85 * 0.3, 0.25, 0.25, 0.5 * 0.15, 0.0))


def test_this_pattern_in_that_colour_meets_the_goal_on_the_demo_catalog(demo_engine):
    """The issue's measurement (benchmarks/steering.py, README): every demo shirt asked for in
    each of the 16 colour labels, balanced mode, k = 10, one setting for all queries."""
    from benchmarks.steering import GOAL, measure

    r = measure(demo_engine)
    assert r["queries"] == 3200 and r["colour_directions"] == "colour directions shipped for these weights"
    assert r["requested_colour"] >= GOAL["colour"] + 0.01 and r["query_pattern"] >= GOAL["pattern"] + 0.01
    assert (r["requested_colour"], r["query_pattern"]) == pytest.approx((0.567, 0.479), abs=0.003)


def test_only_a_colour_asked_for_makes_the_texture_colour_blind(demo_engine):
    from shirtsim.describe.colour_blind import SHIPPED_FILE, load_directions
    from shirtsim.engine import Steering

    directions, _ = load_directions(SHIPPED_FILE)
    balanced = MODES["balanced"]
    for steering in (Steering(("1009",), colour="#1f2a54"), Steering(("1009",), colour_of="1100")):
        vector, _ = demo_engine.steered_query(balanced, steering)
        assert np.abs(directions @ vector[:TEXTURE_DIM]).max() < 1e-5
    index = demo_engine.index(balanced.kind)
    plain, _ = demo_engine.steered_query(balanced, Steering(("1009", "1010"), ("1011",)))
    expected = combine(index.layout, [index.stored("1009"), index.stored("1010")], [index.stored("1011")])
    assert np.array_equal(plain, expected) and np.linalg.norm(directions @ plain[:TEXTURE_DIM]) > 0.1


def test_how_near_the_catalog_comes_to_a_colour(demo_engine):
    from shirtsim.catalog.demo import COLOURS
    from shirtsim.describe.steer import FAR_COLOUR

    def hex_of(rgb):
        return "#{:02x}{:02x}{:02x}".format(*rgb)

    nearest = {name: demo_engine.nearest_in_colour(hex_of(rgb)) for name, rgb in COLOURS.items()}
    assert min(nearest.values()) > 0.5 > FAR_COLOUR  # every drawing colour has its shirts
    assert nearest["brown"] == pytest.approx(0.97, abs=0.01) and nearest["purple"] == pytest.approx(0.54, abs=0.01)
    assert demo_engine.nearest_in_colour("#ff00ff") < 0.15 < FAR_COLOUR  # no demo shirt is magenta
