import numpy as np
import pytest

from shirtsim.describe.descriptors import MODES, SEED_KIND, STYLE_KIND
from shirtsim.index.search import SearchIndex


def seed_index(rows):
    return SearchIndex.build(SEED_KIND, [f"s{i}" for i in range(len(rows))], np.array(rows, np.float32))


def test_exact_ids_scores_and_order_on_known_vectors():
    index = seed_index([[1, 0], [0.8, 0.6], [0, 1], [-1, 0], [0.6, 0.8]])
    got = index.search(index.stored("s0"), MODES["seed"], k=3, exclude="s0")
    assert [m.id for m in got] == ["s1", "s4", "s2"]
    assert [round(m.score, 6) for m in got] == [0.8, 0.6, 0.0]


def test_query_is_excluded_and_k_is_capped_by_catalog_size():
    index = seed_index([[1, 0], [0, 1], [1, 1]])
    got = index.search(index.stored("s2"), MODES["seed"], k=10, exclude="s2")
    assert [m.id for m in got] == ["s0", "s1"]  # equal scores: catalog order breaks the tie


def test_outside_query_is_normalised_like_the_catalog():
    index = seed_index([[3, 0], [0, 5]])
    got = index.search(index.prepare(np.array([0, 10.0])), MODES["seed"], k=1)
    assert got[0].id == "s1" and got[0].score == pytest.approx(1.0)


def test_style_modes_weigh_texture_against_colour_without_reindexing():
    def vec(tex, lab_bin, hsv_bin):  # as prepared vectors are stored: each part at its length
        v = np.zeros(STYLE_KIND.dim, np.float32)  # the Gram and the periodicity both follow ``tex``
        for part, at, length in zip(STYLE_KIND.parts, (tex, tex, lab_bin, hsv_bin), STYLE_KIND.part_lengths):
            v[part.start + at] = length
        return v

    # a: the query's texture in another colour; b: the query's colour with another texture;
    # d: the query's texture, and its colour by one histogram only (each colour part half the colour weight).
    ids = ["q", "a", "b", "c", "d"]
    index = SearchIndex(
        STYLE_KIND,
        ids,
        np.stack([vec(0, 0, 0), vec(0, 1, 1), vec(1, 0, 0), vec(2, 2, 2), vec(0, 0, 2)]),
        np.zeros(STYLE_KIND.dim, np.float32),
    )
    q = index.stored("q")
    pattern = index.search(q, MODES["pattern"], k=4, exclude="q")
    colour = index.search(q, MODES["colour"], k=4, exclude="q")
    balanced = index.search(q, MODES["balanced"], k=4, exclude="q")
    assert [(m.id, round(m.score, 6)) for m in pattern] == [("d", 0.95), ("a", 0.9), ("b", 0.1), ("c", 0.0)]
    assert [(m.id, round(m.score, 6)) for m in colour] == [("b", 0.8), ("d", 0.6), ("a", 0.2), ("c", 0.0)]
    assert [(m.id, round(m.score, 6)) for m in balanced] == [("d", 0.825), ("a", 0.65), ("b", 0.35), ("c", 0.0)]


def test_build_centres_style_vectors_on_the_catalog_mean():
    raw = np.ones((3, STYLE_KIND.dim), np.float32)
    raw[0, 0] = 2.0
    index = SearchIndex.build(STYLE_KIND, ["x", "y", "z"], raw)
    np.testing.assert_allclose(index.mean[:2], [4 / 3, 1.0], rtol=1e-6)
    # each part normalised on its own, to its stored length (a part all zeros after centring stays zero)
    assert [np.linalg.norm(index.stored("x")[p]) for p in STYLE_KIND.parts] == pytest.approx([1.0, 0.0, 0.0, 0.0])
    raw[:, -1] = [3.0, 1.0, 1.0]
    index = SearchIndex.build(STYLE_KIND, ["x", "y", "z"], raw)
    assert [np.linalg.norm(index.stored("x")[p]) for p in STYLE_KIND.parts] == pytest.approx([1.0, 0.0, 0.0, 0.5**0.5])


def test_unknown_mode_kind_is_refused():
    index = seed_index([[1, 0]])
    with pytest.raises(ValueError, match="needs style descriptors"):
        index.search(np.array([1.0, 0.0]), MODES["balanced"])


def test_the_in_memory_and_the_milvus_index_share_one_interface():
    from shirtsim.index.milvus import MilvusIndex
    from shirtsim.index.search import VectorIndex

    memory = SearchIndex.build(SEED_KIND, ["a", "b"], np.eye(2, 4, dtype=np.float32))
    milvus = MilvusIndex(None, "shirtsim_x", SEED_KIND, ["a", "b"], np.zeros(4, np.float32))
    assert isinstance(memory, VectorIndex) and isinstance(milvus, VectorIndex)
    assert not isinstance(object(), VectorIndex)
    # seed vectors are not centred: an outside vector is prepared the same way by both
    np.testing.assert_array_equal(memory.prepare(np.ones(4)), milvus.prepare(np.ones(4)))
