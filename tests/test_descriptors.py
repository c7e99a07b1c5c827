"""The style descriptor's arithmetic on hand-made inputs, where the right answer is known."""

import numpy as np
import pytest

from shirtsim.describe.descriptors import (
    COLOUR_DIM,
    COLOUR_START,
    HSV_BINS,
    LAB_BINS,
    MODES,
    PERIODICITY_DIM,
    PERIODICITY_SHARE,
    STYLE_KIND,
    TEXTURE_CHANNELS,
    TEXTURE_DIM,
    TextureBasis,
    colour_histograms,
    describe,
    periodicity,
    texture_gram,
)


def test_style_vectors_fit_the_4_kb_budget_and_parts_cover_them_in_order():
    assert STYLE_KIND.part_names == ("texture", "periodicity", "lab", "hsv")
    assert STYLE_KIND.part_lengths == pytest.approx((1.0, 0.4, 0.5**0.5, 0.5**0.5))
    assert STYLE_KIND.dim == TEXTURE_DIM + PERIODICITY_DIM + COLOUR_DIM == 528 + 31 + 245 + 192
    assert STYLE_KIND.dim * 4 <= 4096
    assert [(p.start, p.stop) for p in STYLE_KIND.parts] == [
        (0, 528),
        (528, 559),
        (559, 804),
        (804, 996),
    ]  # never open-ended: a projection appends parts


def test_modes_split_the_colour_weight_evenly_between_the_two_histograms():
    assert PERIODICITY_SHARE == 0.3  # of the texture side; the Gram has the rest
    assert MODES["balanced"].part_weights() == pytest.approx((0.455, 0.195, 0.175, 0.175))
    assert MODES["pattern"].part_weights() == pytest.approx((0.63, 0.27, 0.05, 0.05))
    assert MODES["colour"].part_weights() == pytest.approx((0.14, 0.06, 0.4, 0.4))
    assert MODES["seed"].part_weights() == (1.0,)


def test_texture_gram_is_the_signed_root_of_projected_second_moments():
    # Every garment cell holds the same activations a, so the Gram of the projection is p p^T.
    a = np.zeros(512, np.float32)
    a[:3] = [4.0, 9.0, 16.0]  # square-rooted to 2, 3, 4
    maps = np.broadcast_to(a, (1, 28, 28, 512))
    components = np.zeros((TEXTURE_CHANNELS, 512), np.float32)
    components[0, 0] = components[1, 1] = 1.0
    components[2, 2] = -1.0
    g = texture_gram(maps, TextureBasis(np.zeros(512, np.float32), components))
    assert g.shape == (1, TEXTURE_DIM)
    # upper triangle in row order: (0,0) (0,1) (0,2) ... (1,1) (1,2) ...
    assert g[0, :3].tolist() == pytest.approx([2.0, np.sqrt(6.0), -np.sqrt(8.0)])
    assert g[0, TEXTURE_CHANNELS : TEXTURE_CHANNELS + 2].tolist() == pytest.approx([3.0, -np.sqrt(12.0)])
    assert np.count_nonzero(g) == 6  # the other 29 channels project to zero


def test_texture_looks_at_the_garment_cells_only():
    basis = TextureBasis(np.zeros(512, np.float32), np.eye(TEXTURE_CHANNELS, 512, dtype=np.float32))
    maps = np.zeros((1, 28, 28, 512), np.float32)
    maps[0, :5, :, 0] = 100.0  # the head: above the garment box
    maps[0, 25:, :, 1] = 100.0  # the legs: below it
    assert not texture_gram(maps, basis).any()


def test_colour_histograms_put_a_plain_red_shirt_in_the_red_bins():
    red = np.zeros((224, 224, 3), np.uint8)
    red[..., 0] = 255
    h = colour_histograms(red)
    lab, hsv = h[: int(np.prod(LAB_BINS))], h[int(np.prod(LAB_BINS)) :]
    assert h.shape == (COLOUR_DIM,) and h.dtype == np.float32
    # HSV of pure red: hue 0, full saturation and value -> bin (0, 3, 3), all the mass, square-rooted.
    assert hsv.reshape(HSV_BINS)[0, 3, 3] == pytest.approx(1.0) and np.count_nonzero(hsv) == 1
    # Lab of pure red is about (53, 80, 67): the L bin 2, the top a and b bins; smoothing spreads it.
    assert np.unravel_index(lab.argmax(), LAB_BINS) == (2, 6, 6)
    assert (lab**2).sum() == pytest.approx(1.0, rel=1e-5)  # a smoothed histogram still sums to 1


def test_describe_joins_texture_and_colour_in_part_order():
    basis = TextureBasis(np.zeros(512, np.float32), np.eye(TEXTURE_CHANNELS, 512, dtype=np.float32))
    inputs = np.full((2, 224, 224, 3), 128, np.uint8)
    maps = np.ones((2, 28, 28, 512), np.float32)
    out = describe(STYLE_KIND, {"block4_conv3": maps}, inputs, basis)
    assert out.shape == (2, STYLE_KIND.dim) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :TEXTURE_DIM], texture_gram(maps, basis))
    np.testing.assert_array_equal(out[0, TEXTURE_DIM:COLOUR_START], periodicity(inputs[0]))
    np.testing.assert_array_equal(out[0, COLOUR_START:], colour_histograms(inputs[0]))


def stripes(vertical: bool, horizontal: bool, period: int = 6) -> np.ndarray:
    """A 224x224 picture of dark and light bands ``period`` pixels apart; both ways, the bands
    add up, as a woven check's do."""
    x = (np.arange(224) // (period // 2)) % 2
    light = np.zeros((224, 224))
    if vertical:
        light = light + x[None, :]
    if horizontal:
        light = light + x[:, None]
    return np.repeat((40 + 95 * light).astype(np.uint8)[:, :, None], 3, axis=2)


def test_periodicity_says_how_fine_a_repeat_is_and_which_way_it_runs():
    # a 6-pixel repeat on the 224 picture: across the texture box (134 pixels wide, brought to
    # 128) about 0.18 cycles per pixel, band 4 of 6, direction 0 of 5; down it (101 pixels tall,
    # stretched to 128) 0.13, band 3, direction 2
    vertical, horizontal, check = stripes(True, False), stripes(False, True), stripes(True, True)
    assert periodicity(vertical).shape == (PERIODICITY_DIM,) == (31,)
    assert int(np.argmax(periodicity(vertical)[:30])) == 4 * 5 + 0
    assert int(np.argmax(periodicity(horizontal)[:30])) == 3 * 5 + 2
    assert sorted(np.argsort(periodicity(check)[:30])[-2:].tolist()) == [17, 20]
    chequer = np.where((stripes(True, False) > 100) ^ (stripes(False, True) > 100), 230, 40).astype(np.uint8)
    assert sorted(np.argsort(periodicity(chequer)[:30])[-2:].tolist()) == [21, 23]  # diagonal repeats
    coarse = stripes(True, False, period=24)  # four times as long: bands span 1.78x each, so band 1
    assert int(np.argmax(periodicity(coarse)[:30])) == 1 * 5 + 0
    # a plain shirt repeats nothing: every share and the contrast are zero
    assert not periodicity(np.full((224, 224, 3), 128, np.uint8)).any()
    # a stronger pattern has more contrast, the same shares
    faint = (stripes(True, False).astype(np.int16) // 4 + 100).astype(np.uint8)
    assert periodicity(vertical)[-1] > periodicity(faint)[-1]


def test_a_pictures_texture_part_does_not_depend_on_what_it_was_batched_with():
    # The same picture alone or in any batch of an index build gives the same vector bit for bit
    # (one BLAS product over a whole batch may round by its size).
    rng = np.random.default_rng(3)
    maps = rng.gamma(1.0, 1.0, (16, 28, 28, 512)).astype(np.float32)
    basis = TextureBasis(
        rng.normal(0, 1, 512).astype(np.float32), rng.normal(0, 1, (TEXTURE_CHANNELS, 512)).astype(np.float32)
    )
    batched = texture_gram(maps, basis)
    alone = np.concatenate([texture_gram(maps[i : i + 1], basis) for i in range(len(maps))])
    assert np.array_equal(batched, alone)
    assert np.array_equal(texture_gram(maps[5:12], basis), batched[5:12])
