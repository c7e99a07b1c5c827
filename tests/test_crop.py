"""shirtsim.catalog.crop: the proposed box, the background made white, the box's checks."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from shirtsim.catalog import crop
from shirtsim.catalog.crop import WHOLE, check_box, cut_out, draw_box, parse_box, propose_box, studio_shot

RED, GREEN, NAVY, WHITE = (200, 30, 40), (60, 160, 70), (20, 30, 90), (255, 255, 255)


def striped_shirt(size=(120, 160)) -> Image.Image:
    """A stand-in garment: red and navy stripes, nothing near white."""
    img = Image.new("RGB", size, RED)
    draw = ImageDraw.Draw(img)
    for y in range(0, size[1], 20):
        draw.rectangle((0, y, size[0], y + 9), fill=NAVY)
    return img


def scene(background=GREEN, at=(300, 100), noise=12.0, size=(600, 450), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    field = np.array(background)[None, None] + rng.normal(0, noise, (size[1], size[0], 3))
    img = Image.fromarray(np.clip(np.rint(field), 0, 255).astype(np.uint8))
    img.paste(striped_shirt(), at)
    return img


def test_a_box_is_four_fractions_inside_the_picture():
    assert parse_box("0.1,0.2,0.8,0.9") == (0.1, 0.2, 0.8, 0.9)
    assert parse_box(" 0, 0 ,1,1") == WHOLE
    with pytest.raises(
        ValueError, match=r"^a box is four fractions x0,y0,x1,y1 \(for example 0.1,0.2,0.8,0.9\), not '1,2'$"
    ):
        parse_box("1,2")
    with pytest.raises(ValueError, match="not 'a,b,c,d'"):
        parse_box("a,b,c,d")
    with pytest.raises(ValueError, match="not 'nan,0,1,1'"):
        parse_box("nan,0,1,1")
    with pytest.raises(ValueError, match=r"^a box needs 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, not 0.5,0,0.4,1$"):
        parse_box("0.5,0,0.4,1")
    with pytest.raises(ValueError, match="not 0,0,1.5,1"):
        check_box((0, 0, 1.5, 1))
    with pytest.raises(ValueError, match=r"^a box must be at least 0.05 of the picture wide and high$"):
        check_box((0.1, 0.1, 0.12, 0.9))


def test_the_proposed_box_holds_the_garment_with_a_small_margin():
    box = propose_box(scene())  # the shirt: x 300..420 of 600, y 100..260 of 450
    truth = (300 / 600, 100 / 450, 420 / 600, 260 / 450)
    margin = (crop.MARGIN * 0.2, crop.MARGIN * 160 / 450)
    assert box[0] < truth[0] and box[1] < truth[1] and box[2] > truth[2] and box[3] > truth[3]
    assert np.allclose(
        box, (truth[0] - margin[0], truth[1] - margin[1], truth[2] + margin[0], truth[3] + margin[1]), atol=0.012
    )


def test_a_room_of_two_colours_is_background_both():
    img = scene()
    ImageDraw.Draw(img).rectangle((0, 330, 600, 450), fill=(120, 90, 60))  # a floor under the wall
    box = propose_box(img)
    assert np.allclose(box, propose_box(scene()), atol=0.012)


def test_nothing_but_background_proposes_the_whole_picture():
    plain = Image.new("RGB", (300, 200), GREEN)
    assert propose_box(plain) == WHOLE


def test_the_cut_out_is_the_box_on_white_padded_square():
    img = scene()
    box = (0.45, 0.16, 0.75, 0.64)  # pixels 270..450 x 72..288 of the scene
    out = np.asarray(cut_out(img, box))
    assert out.shape == (216, 216, 3)  # 180 x 216, padded to a square: 18 px each side
    assert (out[:, :18] == 255).all() and (out[:, -18:] == 255).all()
    # the shirt (scene 300..420 x 100..260) is what it was, a seam of a pixel or two aside
    shirt = out[28 + 3 : 188 - 3, 48 + 3 : 168 - 3]
    assert (shirt == np.asarray(striped_shirt())[3:-3, 3:-3]).all()
    # and the green around it is white
    inside = np.asarray(img.crop((270, 72, 450, 288))).astype(int)
    green = lambda a: (np.abs(a - GREEN).max(axis=2) < 50).sum()  # noqa: E731
    assert green(inside) > 10_000 and green(out.astype(int)) == 0


def test_a_box_that_cuts_through_the_shirt_keeps_it():
    # the box's own edge is mostly shirt: only the picture's edge says what background is
    out = np.asarray(cut_out(scene(), (0.55, 0.3, 0.65, 0.5)))  # 60 x 90 px, all shirt
    assert out.shape == (90, 90, 3) and (out[:, 15:75] == np.asarray(scene())[135:225, 330:390]).all()


def test_a_shirt_in_the_walls_colour_inside_the_box_stays():
    img = scene()
    ImageDraw.Draw(img).rectangle((340, 150, 380, 200), fill=GREEN)  # a green pocket, not joined to the wall
    out = np.asarray(cut_out(img, (0.45, 0.16, 0.75, 0.64)))
    pocket = out[78 + 2 : 128 - 2, 88 + 2 : 128 - 2]  # scene 340..380 x 150..200, in the cut-out
    assert (pocket == GREEN).all()


def test_a_close_up_is_not_whitened_away():
    img = Image.new("RGB", (300, 400), NAVY)  # the shirt fills the photo: its colour is the edge's
    ImageDraw.Draw(img).rectangle((140, 120, 160, 140), fill=WHITE)  # a small logo
    out = np.asarray(cut_out(img, WHOLE))
    assert (out[:, 50:350] == np.asarray(img)).all()


def test_a_studio_shot_is_recognised_and_a_scene_is_not():
    studio = Image.new("RGB", (300, 400), (244, 242, 238))
    studio.paste(striped_shirt(), (90, 120))
    assert studio_shot(studio)
    assert not studio_shot(scene())
    assert studio_shot(scene(background=(230, 230, 230), noise=4.0))  # a light grey backdrop is one


def test_the_flood_reaches_exactly_what_pils_floodfill_reaches():
    rng = np.random.default_rng(5)
    for _ in range(25):
        near = rng.random((40, 50)) < 0.58  # a maze: many turns, the hardest case for sweeps
        framed = np.full((42, 52), 255, np.uint8)
        framed[1:-1, 1:-1] = np.where(near, 255, 0)
        flood = Image.fromarray(framed).copy()
        ImageDraw.floodfill(flood, (0, 0), 128)
        expected = np.asarray(flood)[1:-1, 1:-1] == 128
        reached = crop.joined_to_edge(near, sweeps=2000)
        assert (reached == expected).all()


def test_the_drawn_box_marks_its_corners():
    img = draw_box(Image.new("RGB", (101, 101), (0, 0, 0)), (0.2, 0.2, 0.8, 0.8), width=3)
    pixels = np.asarray(img)
    assert tuple(pixels[20, 50]) == (230, 30, 90) and tuple(pixels[50, 50]) == (0, 0, 0)


def test_a_proposed_box_is_always_a_box_cut_out_accepts():
    rng = np.random.default_rng(3)
    for _ in range(300):
        h, w = int(rng.integers(20, 400)), int(rng.integers(20, 400))
        mask = np.ones((h, w), bool)
        x0, y0 = int(rng.integers(0, w - 1)), int(rng.integers(0, h - 1))
        mask[y0 : y0 + int(rng.integers(1, 40)), x0 : x0 + int(rng.integers(1, 40))] = False  # a thin garment
        box = propose_box(Image.new("RGB", (w, h)), mask)
        assert check_box(box) == box
        assert cut_out(Image.new("RGB", (w, h)), box, mask).size[0] >= 1


def test_boxes_at_the_edge_of_a_tiny_picture_stay_inside_it():
    img = Image.new("RGB", (3, 1000), RED)
    out = np.asarray(cut_out(img, (0.95, 0.95, 1.0, 1.0)))
    assert (out[out.shape[0] // 2] == RED).any() and not (out == 0).all(axis=2).any()  # no black padding
    assert check_box((0.25, 0.0, 0.30, 1.0)) == (0.25, 0.0, 0.30, 1.0)  # 0.05 wide, whatever binary says
