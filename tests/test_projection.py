"""The learned projection (shirtsim.describe.projection): fitting, applying, files, choosing one."""

import hashlib
import io
import zipfile

import numpy as np
import pytest
from helpers import REAL_SHIRTS

from shirtsim.describe.descriptors import COLOUR_START, MODES, STYLE_KIND, TEXTURE_DIM
from shirtsim.describe.projection import (
    PACKAGED_FILE,
    Projection,
    ProjectionError,
    descriptor_id,
    load_projection,
    resolve_projection,
)
from shirtsim.describe.projection_fit import fit_head, fit_projection, parse_columns
from shirtsim.index.search import SearchIndex, weigh
from shirtsim.model.weights import Weights, packaged_weights
from shirtsim.store import content_hash

COLUMNS = [("pattern", "texture"), ("colour", "colour")]


def synthetic(n=120, seed=0):
    """Raw vectors whose pattern shows in texture dim 0 and whose colour shows in colour dim 0
    (plus noise everywhere), with their labels."""
    rng = np.random.default_rng(seed)
    pattern = np.array(["check", "stripe", "solid"])[np.arange(n) % 3]
    colour = np.array(["red", "blue"])[(np.arange(n) // 3) % 2]
    raw = rng.normal(0, 1, (n, STYLE_KIND.dim)).astype(np.float32)
    raw[:, 0] += 3.0 * (np.searchsorted(["check", "solid", "stripe"], pattern) - 1)
    raw[:, COLOUR_START] += 3.0 * (colour == "red")
    return raw, {"pattern": pattern.tolist(), "colour": colour.tolist()}


@pytest.fixture(scope="module")
def fitted():
    raw, labels = synthetic(n=600)
    return fit_projection(raw, labels, COLUMNS, "test-descriptor", "synthetic (600)"), raw, labels


def test_learned_parts_follow_the_raw_parts_and_keep_them_unchanged(fitted):
    projection, raw, _ = fitted
    out = projection.apply(raw)
    layout = projection.layout
    assert layout.names == ("texture", "periodicity", "lab", "hsv", "texture_learned", "colour_learned")
    assert layout.dim == STYLE_KIND.dim + 3 + 2 == out.shape[1]
    assert [(p.start, p.stop) for p in layout.parts[4:]] == [(996, 999), (999, 1001)]
    assert np.array_equal(out[:, : STYLE_KIND.dim], raw)
    assert [(h.column, h.side, h.classes) for h in projection.heads] == [
        ("pattern", "texture", ("check", "solid", "stripe")),
        ("colour", "colour", ("blue", "red")),
    ]


def test_each_learned_part_separates_its_own_labels_from_its_own_side(fitted):
    projection, _, _ = fitted
    raw, labels = synthetic(seed=1)  # photos the heads have not seen
    out = projection.apply(raw)

    def precision_at_5(block, column):
        block = (block - block.mean(axis=0)) / np.linalg.norm(block - block.mean(axis=0), axis=1, keepdims=True)
        nearest = np.argsort(-(block @ block.T), axis=1)[:, 1:6]
        values = np.array(labels[column])
        return (values[nearest] == values[:, None]).mean()

    layout = projection.layout
    # the raw parts drown the one telling dimension in noise (0.47 and 0.59); the learned parts
    # find it (0.71 and 0.84; chance 0.33 and 0.50)
    assert precision_at_5(out[:, layout.parts[0]], "pattern") < 0.55
    assert precision_at_5(out[:, layout.parts[4]], "pattern") > 0.65
    assert precision_at_5(out[:, COLOUR_START : STYLE_KIND.dim], "colour") < 0.65
    assert precision_at_5(out[:, layout.parts[5]], "colour") > 0.8
    # the texture head does not see colour: moving only the colour side leaves it unchanged
    moved = raw.copy()
    moved[:, COLOUR_START:] += 3.0
    assert np.array_equal(projection.apply(moved)[:, 996:999], out[:, 996:999])
    # and it does see the periodicity part: the texture side is the Gram and the periodicity
    moved = raw.copy()
    moved[:, TEXTURE_DIM:COLOUR_START] += 3.0
    assert not np.allclose(projection.apply(moved)[:, 996:999], out[:, 996:999])


def test_a_file_round_trips_exactly_and_names_the_same_projection(fitted, tmp_path):
    projection, raw, _ = fitted
    projection.save(tmp_path / "p.npz")
    again = load_projection(tmp_path / "p.npz")
    assert again.id == projection.id and again.descriptor == "test-descriptor"
    assert np.array_equal(again.apply(raw), projection.apply(raw))
    assert not list(tmp_path.glob("*.partial"))


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "p.npz: no such projection file."),
        (b"not a zip", "p.npz: not a projection file (not an .npz archive)."),
        (b"PK\x03\x04 but no archive", "p.npz: not a projection file ("),
        (
            _npz(format=np.array([{"a": 1}], dtype=object)),
            "p.npz: not a projection file (member format.npy holds Python objects, which are never loaded).",
        ),
        (_npz(format=np.array("other-format")), "p.npz: a damaged projection file (format 'other-format'"),
        (
            _npz(format=np.array("shirtsim-projection-1")),
            "p.npz: written by another version of shirtsim (shirtsim-projection-1): "
            "refit it with `shirtsim fit-projection`.",
        ),
    ],
)
def test_unusable_files_are_refused_with_what_is_wrong(tmp_path, content, message):
    if content is not None:
        (tmp_path / "p.npz").write_bytes(content)
    with pytest.raises(ProjectionError) as e:
        load_projection(tmp_path / "p.npz")
    assert str(e.value).startswith(message)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("0.weights", np.zeros((559, 2), np.float32), "0.weights has shape (559, 2), expected (559, 3)"),
        ("0.in_scale", np.float32(1.0), "0.in_scale has shape (), expected (559,)"),  # a format-1 scale
        ("1.in_scale", np.zeros(437, np.float32), "head 1 is degenerate"),
        ("1.bias", np.array([np.nan, 0.0], np.float32), "head 1 bias is not finite"),
        ("heads", np.array(["elsewhere:pattern"]), "head 0 learns from 'elsewhere'"),
    ],
)
def test_damaged_numbers_are_refused(fitted, tmp_path, key, value, message):
    projection, _, _ = fitted
    with np.load(io.BytesIO(projection.to_bytes()), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[key] = value
    (tmp_path / "p.npz").write_bytes(_npz(**arrays))
    with pytest.raises(ProjectionError, match="p.npz: a damaged projection file") as e:
        load_projection(tmp_path / "p.npz")
    assert message in str(e.value)


def test_a_column_with_one_usable_label_cannot_be_learned():
    raw, _ = synthetic()
    values = ["check"] * 100 + ["stripe"] * 5 + [""] * 15  # 5 stripes: under the 8 a label needs
    with pytest.raises(ValueError, match="column 'pattern' has 1 label"):
        fit_head(raw, values, "pattern", "texture")


def test_columns_take_a_side_from_a_prefix_or_from_their_name():
    available = ["id", "name", "pattern", "baseColour", "fit"]
    assert parse_columns("pattern,colour:fit,texture:baseColour", available) == [
        ("pattern", "texture"),
        ("fit", "colour"),
        ("baseColour", "texture"),
    ]
    assert parse_columns(None, available) == [("pattern", "texture"), ("baseColour", "colour"), ("fit", "texture")]
    with pytest.raises(ProjectionError, match="No label column 'sleeve'; the labels have id, name, pattern"):
        parse_columns("sleeve", available)
    with pytest.raises(ProjectionError, match="the prefix is texture: or colour:"):
        parse_columns("shape:pattern", available)


def test_search_through_a_projection_is_the_weighed_sum_of_part_cosines(fitted):
    projection, raw, _ = fitted
    ids = [str(i) for i in range(len(raw))]
    index = SearchIndex.build(STYLE_KIND, ids, raw, projection)
    mode = MODES["balanced"]
    weights = mode.part_weights(index.layout.names)
    assert weights == pytest.approx((0.196, 0.084, 0.06, 0.06, 0.42, 0.18)) and sum(weights) == pytest.approx(1.0)
    x = projection.apply(raw)
    x = x - x.mean(axis=0)
    expected = np.zeros(len(raw))
    for part, w in zip(index.layout.parts, weights):
        p = x[:, part] / np.linalg.norm(x[:, part], axis=1, keepdims=True)
        expected += w * (p @ p[7])
    expected[7] = -np.inf
    order = np.argsort(-expected, kind="stable")[:10]
    got = index.search(index.stored("7"), mode, 10, exclude="7")
    assert [m.id for m in got] == [ids[i] for i in order]
    assert [m.score for m in got] == pytest.approx(expected[order], abs=1e-5)
    # an upload of the same photo is prepared exactly like the catalog's copy
    assert np.allclose(index.prepare(raw[7]), index.stored("7"), atol=1e-6)
    assert np.allclose(weigh(index.layout, index.stored("7"), mode) @ index.stored("7"), 1.0, atol=1e-5)


def test_modes_give_a_missing_learned_part_back_to_its_side():
    balanced = MODES["balanced"]
    # no projection: the raw-part weights, the texture side split 0.7 / 0.3 with the periodicity
    assert balanced.part_weights() == pytest.approx((0.455, 0.195, 0.175, 0.175))
    assert balanced.part_weights(("texture", "periodicity", "lab", "hsv", "texture_learned")) == pytest.approx(
        (0.196, 0.084, 0.15, 0.15, 0.42)
    )
    assert MODES["seed"].part_weights() == (1.0,)


def test_auto_is_the_packaged_projection_for_the_packaged_weights_only(tmp_path):
    weights = packaged_weights()
    choice = resolve_projection("auto", weights)
    assert choice.projection is not None and choice.note == ""
    assert choice.projection.descriptor == descriptor_id(weights)  # the shipped file matches today's recipe
    assert choice.label == "packaged: fitted on real-shirts-dev (1,691 labelled product photos)"
    assert [(h.column, h.side, len(h.classes)) for h in choice.projection.heads] == [
        ("articleType", "texture", 3),
        ("pattern", "texture", 4),
        ("baseColour", "colour", 17),
    ]
    assert choice.projection.layout.dim == 1020 and choice.projection.layout.dim * 4 <= 4096
    other = Weights("file", tmp_path / "mine.h5", "file-0123")
    choice = resolve_projection("auto", other)
    assert choice.projection is None and choice.label == "none (unprojected descriptor)"
    assert "No learned projection for file mine.h5" in choice.note and "fit-projection" in choice.note
    assert resolve_projection("none", weights).projection is None


def test_a_file_fitted_for_other_vectors_is_refused(fitted, tmp_path):
    projection, _, _ = fitted
    projection.save(tmp_path / "theirs.npz")
    with pytest.raises(ProjectionError) as e:
        resolve_projection(str(tmp_path / "theirs.npz"), packaged_weights())
    assert str(e.value).startswith("theirs.npz was fitted on test-descriptor vectors, but these weights give vgg16-")
    assert str(e.value).endswith("or use SHIRTSIM_PROJECTION=none.")


def test_the_packaged_file_holds_plain_arrays_only():
    with zipfile.ZipFile(PACKAGED_FILE) as z:
        names = z.namelist()
    assert "format.npy" in names and "fitted.npy" in names and len(names) == 5 + 3 * 7
    assert isinstance(load_projection(PACKAGED_FILE), Projection)


def test_a_projection_remembers_the_photos_it_was_fitted_on_without_changing_its_id(fitted, tmp_path):
    projection, raw, labels = fitted
    hashes = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(600)]
    with_photos = fit_projection(raw, labels, COLUMNS, "test-descriptor", "synthetic (600)", hashes)
    assert with_photos.id == projection.id  # which photos it saw changes no vector
    with_photos.save(tmp_path / "p.npz")
    again = load_projection(tmp_path / "p.npz")
    others = [hashlib.sha256(f"other {n}".encode()).hexdigest() for n in range(5)]
    assert again.fitted_on(hashes[:10] + others) == 10
    assert again.fitted_on(others) == 0 and projection.fitted_on(hashes) == 0


def test_the_packaged_projection_knows_it_saw_every_real_shirts_dev_photo():
    packaged = load_projection(PACKAGED_FILE)
    assert len(packaged.fitted) == 1691
    if (REAL_SHIRTS / "labels.csv").is_file():  # the shared photos themselves, when present
        hashes = [content_hash(p.read_bytes()) for p in sorted(REAL_SHIRTS.glob("*.jpg"))]
        assert packaged.fitted_on(hashes) == 1691
