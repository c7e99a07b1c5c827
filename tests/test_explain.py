"""Why a result matched (shirtsim.describe.explain): part scores, palettes, texture agreement."""

import io

import numpy as np
import pytest
from PIL import Image

from shirtsim.describe.descriptors import MODES, SEED_KIND, STYLE_KIND, TEXTURE_CHANNELS, TextureBasis
from shirtsim.describe.explain import heat_map, palette, part_scores, swatch_strip, texture_agreement
from shirtsim.index.search import SearchIndex


def test_part_scores_add_up_to_the_search_score_in_every_mode():
    rng = np.random.default_rng(0)
    index = SearchIndex.build(STYLE_KIND, [str(i) for i in range(30)], rng.normal(size=(30, STYLE_KIND.dim)))
    query = index.stored("3")
    for name in ("balanced", "pattern", "colour"):
        found = index.search(query, MODES[name], 5, exclude="3")
        for match in found:
            parts = part_scores(index.layout, MODES[name], query, index.stored(match.id))
            assert [p.name for p in parts] == ["texture", "colour"]  # lab and hsv as one, Gram and periodicity
            assert sum(p.contribution for p in parts) == pytest.approx(match.score, abs=1e-5)
            assert sum(p.weight for p in parts) == pytest.approx(1.0)
    # the colour entry is the weight-averaged cosine of the two histograms
    other = index.stored("4")
    lab, hsv = STYLE_KIND.parts[2], STYLE_KIND.parts[3]
    cos = [float(query[p] @ other[p]) / 0.5 for p in (lab, hsv)]
    texture, colour = part_scores(index.layout, MODES["balanced"], query, other)
    assert colour.cosine == pytest.approx(np.mean(cos), abs=1e-6) and colour.weight == pytest.approx(0.35)
    # and the texture entry weighs the Gram 0.7, the periodicity 0.3 (stored at length 0.4)
    gram, repeats = float(query[:528] @ other[:528]), float(query[528:559] @ other[528:559]) / 0.4**2
    assert texture.cosine == pytest.approx(0.7 * gram + 0.3 * repeats, abs=1e-6)
    assert texture.weight == pytest.approx(0.65)


def test_seed_mode_has_one_part():
    index = SearchIndex.build(SEED_KIND, ["a", "b"], np.array([[1.0, 0.0], [0.6, 0.8]], np.float32))
    (part,) = part_scores(index.layout, MODES["seed"], index.stored("a"), index.stored("b"))
    assert (part.name, part.weight) == ("seed", 1.0) and part.cosine == pytest.approx(0.6)


def test_palette_finds_the_shirt_colours_and_their_shares():
    picture = np.full((224, 224, 3), 255, np.uint8)
    picture[:, :112] = (31, 58, 147)  # left half navy, right half white, inside the garment box too
    swatches = palette(Image.fromarray(picture))
    rgb = [[int(s.hex[i : i + 2], 16) for i in (1, 3, 5)] for s in swatches]
    assert np.abs(np.array(rgb) - [[31, 58, 147], [255, 255, 255]]).max() <= 2  # quantised: within 2 levels
    assert [s.share for s in swatches] == [pytest.approx(0.5, abs=0.03)] * 2
    strip = Image.open(io.BytesIO(swatch_strip(swatches)))
    assert strip.getpixel((10, 10)) == tuple(rgb[0]) and strip.getpixel((310, 10)) == tuple(rgb[1])


def test_texture_agreement_lights_the_cells_that_share_the_other_texture():
    rng = np.random.default_rng(1)
    basis = TextureBasis(np.zeros(512, np.float32), np.eye(TEXTURE_CHANNELS, 512, dtype=np.float32))
    maps = np.zeros((28, 28, 512), np.float32)
    maps[..., :TEXTURE_CHANNELS] = rng.random((28, 28, TEXTURE_CHANNELS)) * 0.1
    maps[10:14, 10:14, 0] = maps[10:14, 10:14, 1] = 4.0  # one patch fires channels 0 and 1 together
    other = np.zeros(TEXTURE_CHANNELS * (TEXTURE_CHANNELS + 1) // 2, np.float32)
    other[1] = 1.0  # the other picture's texture: channels 0 and 1 together (upper-triangle entry 1)
    agreement = texture_agreement(maps, other, basis)
    assert agreement.shape == (13, 17) and agreement.min() == 0.0 and agreement.max() == 1.0
    brightest = np.argwhere(agreement > 0.9)
    # the texture box starts at row 5 and column 5 of the 28x28 map: the patch is box cells 5-8
    assert {(int(r), int(c)) for r, c in brightest} == {(r, c) for r in range(5, 9) for c in range(5, 9)}
    jpeg = heat_map(Image.new("RGB", (224, 224), (200, 200, 200)), agreement)
    lit = np.asarray(Image.open(io.BytesIO(jpeg)))
    assert lit.shape == (512, 512, 3) and lit[10, 10].mean() < 60 and lit[:, :, 0].max() > 180
