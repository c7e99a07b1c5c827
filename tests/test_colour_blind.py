"""Colour-blind texture (shirtsim.describe.colour_blind): the directions a colour change moves the texture
part along, and a query without them."""

import numpy as np
import pytest
from PIL import Image

from shirtsim.describe import colour_blind
from shirtsim.describe.colour_blind import (
    COLOURINGS,
    DIRECTIONS,
    ColourDirectionsError,
    directions_for,
    drawn_variants,
    fit_colour_directions,
    hue_turned,
    key_of,
    load_directions,
    save_directions,
    source,
)
from shirtsim.describe.descriptors import COLOUR_START, TEXTURE_DIM
from shirtsim.describe.steer import remove_colour, with_colour_of
from shirtsim.model.weights import Weights, packaged_weights


def test_removing_directions_leaves_the_rest_at_the_same_length():
    rng = np.random.default_rng(0)
    directions = np.linalg.qr(rng.normal(size=(TEXTURE_DIM, 3)))[0].T  # 3 orthonormal rows
    texture = rng.normal(size=TEXTURE_DIM)
    got = remove_colour(texture, directions)
    assert np.allclose(directions @ got, 0, atol=1e-5)
    assert np.linalg.norm(got) == pytest.approx(np.linalg.norm(texture), rel=1e-5)
    kept = texture - directions.T @ (directions @ texture)
    assert np.allclose(got, kept / np.linalg.norm(kept) * np.linalg.norm(texture), atol=1e-5)
    inside = directions[0] * 2.0  # nothing but colour: no pattern to keep (zeros, not NaN)
    assert np.array_equal(remove_colour(inside, directions), np.zeros(TEXTURE_DIM, np.float32))


def test_a_hue_turn_moves_colours_and_leaves_white_and_black():
    img = Image.new("RGB", (3, 1))
    img.putdata([(255, 255, 255), (0, 0, 0), (200, 30, 30)])
    white, black, red = hue_turned(img, 120, 1.0).getdata()
    assert white == (255, 255, 255) and black == (0, 0, 0)
    assert red[1] > 150 and red[0] < 60 and red[2] < 60  # red turned a third of the way round: green
    unturned = np.asarray(hue_turned(img, 0, 1.0), int)  # HSV and back: within one step of rounding
    assert np.abs(unturned - np.asarray(img, int)).max() <= 1
    assert max(hue_turned(img, 0, 0.5).getdata()[2]) == 100  # brightness halved


def test_a_drawn_shirt_comes_in_other_colours_with_the_same_cut():
    first, second = drawn_variants(2)
    again = next(drawn_variants(1))
    assert first.shape == (COLOURINGS, 224, 224, 3) and np.array_equal(first, again)  # deterministic
    shirt = first.astype(int).sum(axis=3) < 600  # not the light studio backdrop
    assert (shirt[0] == shirt[1]).mean() > 0.9  # same cut and place...
    assert np.abs(first[0].astype(int) - first[1].astype(int)).mean() > 10  # ...other colours
    assert not np.array_equal(first[0], second[0])
    hue = next(drawn_variants(1, hue=True))
    assert hue.shape == first.shape and not np.array_equal(hue, first)


class ColourMixer:
    """A model whose texture part is a pattern code plus the photo's mean colour times a fixed
    matrix: the colour directions are known (the span of that matrix)."""

    def __init__(self):
        rng = np.random.default_rng(1)
        self.colour_map = rng.normal(size=(3, TEXTURE_DIM))
        self.weights = Weights("file", None, "colour-mixer", "test")

    def forward(self, batch, layers, bfloat16=False, int8=False):
        raise AssertionError("fit_colour_directions reads descriptors through shirtsim.describe.embed.embed")


def test_fitting_finds_the_directions_colour_moves_along(monkeypatch):
    model = ColourMixer()
    pattern = np.random.default_rng(2).normal(size=TEXTURE_DIM) * 20

    def embed(embedder, kind, batch):
        colour = batch.reshape(len(batch), -1, 3).mean(axis=1) / 255
        out = np.zeros((len(batch), kind.dim))
        out[:, :TEXTURE_DIM] = pattern + colour @ model.colour_map
        return out

    monkeypatch.setattr(colour_blind, "embed", embed)
    directions = fit_colour_directions(model, [drawn_variants(4)])
    assert directions.shape == (DIRECTIONS, TEXTURE_DIM)
    assert np.allclose(directions @ directions.T, np.eye(DIRECTIONS), atol=1e-8)
    span = np.linalg.qr(model.colour_map.T)[0]  # (TEXTURE_DIM, 3)
    captured = np.linalg.norm(directions @ span, axis=1)  # the three leading ones lie in it (up to
    assert captured[:3] == pytest.approx([1.0, 1.0, 1.0], abs=0.01)  # each photo at unit length)
    assert captured[3:].max() < 0.1  # a random direction: about 0.08
    assert np.array_equal(directions, fit_colour_directions(model, [drawn_variants(4)]))  # signs fixed


def test_the_packaged_weights_use_the_shipped_file_and_others_fit_once(monkeypatch, tmp_path):
    shipped, key = load_directions(colour_blind.SHIPPED_FILE)
    assert shipped.shape == (DIRECTIONS, TEXTURE_DIM) and key == key_of(packaged_weights())
    assert np.allclose(shipped @ shipped.T, np.eye(DIRECTIONS), atol=1e-5)

    def no_model():
        raise AssertionError("the shipped directions need no model")

    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.array_equal(directions_for(packaged_weights(), no_model), shipped)

    fits = []
    monkeypatch.setattr(colour_blind, "fit_colour_directions", lambda model, sources: fits.append(model) or shipped * 2)
    other = Weights("file", None, "other-weights", "test")
    assert np.array_equal(directions_for(other, lambda: "model"), shipped * 2)
    assert np.array_equal(directions_for(other, no_model), shipped * 2)  # once per process
    assert fits == ["model"]

    stale = tmp_path / "directions.npz"  # a file fitted for other weights is not used for these
    save_directions(stale, shipped, other)
    assert load_directions(stale)[1] == key_of(other) == "vgg16-other-weights-style6-tbdemo/cd1"
    monkeypatch.setattr(colour_blind, "SHIPPED_FILE", stale)
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.array_equal(directions_for(packaged_weights(), lambda: "packaged model"), shipped * 2)
    assert fits == ["model", "packaged model"]


def test_a_shipped_file_for_another_basis_or_a_missing_one_is_not_used_and_a_damaged_one_is_an_error(
    monkeypatch, tmp_path
):
    import shirtsim.describe.texture

    shipped, _ = load_directions(colour_blind.SHIPPED_FILE)
    shipped_bytes = colour_blind.SHIPPED_FILE.read_bytes()
    fits = []
    monkeypatch.setattr(colour_blind, "fit_colour_directions", lambda model, sources: fits.append(model) or -shipped)
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert source(packaged_weights()) == "colour directions shipped for these weights"
    with monkeypatch.context() as m:  # same weights, a refitted texture basis: the file is stale
        m.setattr(shirtsim.describe.texture, "basis_id", lambda weights: "tb-refitted")
        assert np.array_equal(directions_for(packaged_weights(), lambda: "refit"), -shipped)
    shipped_file = tmp_path / "colour_directions.npz"
    monkeypatch.setattr(colour_blind, "SHIPPED_FILE", shipped_file)  # not there: fitted as for any weights
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.array_equal(directions_for(packaged_weights(), lambda: "missing"), -shipped)
    assert source(packaged_weights()).startswith("colour directions fitted from 24 drawn shirts")
    # damaged (refits are written whole, so never by an interrupted one): a broken install, said in one line
    shipped_file.write_bytes(shipped_bytes[:5000])
    monkeypatch.setattr(colour_blind, "_fitted", {})
    for ask in (lambda: directions_for(packaged_weights(), lambda: "damaged"), lambda: source(packaged_weights())):
        with pytest.raises(ColourDirectionsError) as e:
            ask()
        assert str(e.value) == (
            "colour_directions.npz: not a colour-directions file (no zip end record at the end of the file: "
            "truncated?). It ships with shirtsim: reinstall shirtsim, or refit it with "
            "`python -m shirtsim fit-colour-directions --weights packaged`."
        )
    assert fits == ["refit", "missing"]
    save_directions(shipped_file, shipped, packaged_weights())  # written whole: readable again
    assert np.allclose(load_directions(shipped_file)[0], shipped, atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["colour_directions.npz"]


def test_directions_fitted_on_first_use_are_kept_in_the_cache_for_the_next_process(monkeypatch, tmp_path):
    fitted = np.linalg.qr(np.random.default_rng(4).normal(size=(TEXTURE_DIM, DIRECTIONS)))[0].T
    fits = []
    monkeypatch.setattr(colour_blind, "fit_colour_directions", lambda model, sources: fits.append(model) or fitted)
    other = Weights("file", None, "other-weights", "test")
    for _process in range(3):  # a command line run per query: each starts with nothing in memory
        monkeypatch.setattr(colour_blind, "_fitted", {})
        assert np.allclose(directions_for(other, lambda: "model", tmp_path), fitted, atol=1e-6)
    assert fits == ["model"]
    (stored,) = (tmp_path / "colour-directions").iterdir()
    stored.write_bytes(stored.read_bytes()[:-10])  # damaged: fitted again and rewritten, no error
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.allclose(directions_for(other, lambda: "model", tmp_path), fitted, atol=1e-6)
    assert fits == ["model", "model"] and len(stored.read_bytes()) > 1000
    monkeypatch.setattr(colour_blind, "_fitted", {})  # another set of weights has its own file
    directions_for(Weights("file", None, "third-weights", "test"), lambda: "third", tmp_path)
    assert fits[-1] == "third" and len(list((tmp_path / "colour-directions").iterdir())) == 2


def test_a_cached_file_with_the_wrong_shape_is_fitted_again(monkeypatch, tmp_path):
    import io

    from shirtsim.store import write_blob

    fitted = np.linalg.qr(np.random.default_rng(5).normal(size=(TEXTURE_DIM, DIRECTIONS)))[0].T
    monkeypatch.setattr(colour_blind, "fit_colour_directions", lambda model, sources: fitted)
    monkeypatch.setattr(colour_blind, "_fitted", {})
    other = Weights("file", None, "other-weights", "test")
    directions_for(other, lambda: "model", tmp_path)
    (stored,) = (tmp_path / "colour-directions").iterdir()
    buffer = io.BytesIO()  # a whole, checksummed file of the right key but three directions only
    np.savez(buffer, directions=fitted[:3].astype(np.float32), key=np.array(key_of(other)))
    write_blob(stored, buffer.getvalue())
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.allclose(directions_for(other, lambda: "model", tmp_path), fitted, atol=1e-6)
    assert load_directions(io.BytesIO(colour_blind.read_blob(stored)))[0].shape == (DIRECTIONS, TEXTURE_DIM)


def test_a_recoloured_query_has_a_colour_blind_texture_part():
    from shirtsim.describe.descriptors import STYLE_KIND
    from shirtsim.index.search import SearchIndex

    rng = np.random.default_rng(3)
    index = SearchIndex.build(STYLE_KIND, [str(i) for i in range(6)], rng.normal(size=(6, STYLE_KIND.dim)))
    directions, _ = load_directions(colour_blind.SHIPPED_FILE)
    query, donor = index.stored("1"), index.stored("2")
    got = with_colour_of(index.layout, query, donor, directions)
    assert np.allclose(directions @ got[:TEXTURE_DIM], 0, atol=1e-5)
    assert np.array_equal(got[TEXTURE_DIM:COLOUR_START], query[TEXTURE_DIM:COLOUR_START])  # periodicity: kept
    assert np.array_equal(got[COLOUR_START:], donor[COLOUR_START:])
    assert np.allclose(got[:TEXTURE_DIM], remove_colour(query[:TEXTURE_DIM], directions), atol=1e-6)


@pytest.mark.slow
def test_the_fit_command_writes_directions_for_its_weights_and_refuses_in_one_line(tmp_path, embedder):
    from helpers import DEMO, run

    out = tmp_path / "directions.npz"
    done = run("fit-colour-directions", "--every", "40", "--drawings", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"fitted on 5 photos of {DEMO} and 2 drawn shirts; wrote {out}\n"
    directions, key = load_directions(out)
    assert directions.shape == (DIRECTIONS, TEXTURE_DIM) and key == load_directions(colour_blind.SHIPPED_FILE)[1]
    assert np.allclose(directions @ directions.T, np.eye(DIRECTIONS), atol=1e-5)
    shipped = load_directions(colour_blind.SHIPPED_FILE)[0]  # fitted on far fewer photos: close, not equal
    assert not np.allclose(directions, shipped) and np.linalg.norm(directions[:4] @ shipped.T, axis=1).min() > 0.5

    weights = tmp_path / "my.weights.h5"
    embedder.vgg.save_weights(str(weights))
    done = run("fit-colour-directions", "--weights", str(weights))
    assert (done.returncode, done.stderr) == (
        2,
        "shirtsim: The shipped colour directions are for the packaged weights, not file my.weights.h5: pass --out "
        "FILE.\n",
    )
    assert run("fit-colour-directions", "--drawings", "0").stderr == (
        "shirtsim: fit-colour-directions: argument --drawings: 0 is out of range: use 1 to 10,000 (see --help)\n"
    )
