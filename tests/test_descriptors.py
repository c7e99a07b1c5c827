"""The style descriptor's arithmetic on hand-made inputs, where the right answer is known."""

import numpy as np
import pytest

from shirtsim.descriptors import (
    COLOUR_DIM,
    HSV_BINS,
    LAB_BINS,
    MODES,
    STYLE_KIND,
    TEXTURE_CHANNELS,
    TEXTURE_DIM,
    TextureBasis,
    colour_histograms,
    describe,
    texture_gram,
)


def test_style_vectors_fit_the_4_kb_budget_and_parts_cover_them_in_order():
    assert STYLE_KIND.part_lengths == pytest.approx((1.0, 0.5**0.5, 0.5**0.5))
    assert STYLE_KIND.dim == TEXTURE_DIM + COLOUR_DIM == 528 + 245 + 192 and STYLE_KIND.dim * 4 <= 4096
    assert [(p.start, p.stop) for p in STYLE_KIND.parts] == [
        (0, 528),
        (528, 773),
        (773, 965),
    ]  # never open-ended: a projection appends parts


def test_modes_split_the_colour_weight_evenly_between_the_two_histograms():
    assert MODES["balanced"].part_weights() == (0.65, 0.175, 0.175)
    assert MODES["pattern"].part_weights() == pytest.approx((0.9, 0.05, 0.05))
    assert MODES["colour"].part_weights() == pytest.approx((0.2, 0.4, 0.4))
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
    np.testing.assert_array_equal(out[0, TEXTURE_DIM:], colour_histograms(inputs[0]))
