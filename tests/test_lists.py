"""shirtsim.feed.lists and .scan: lists under rules and curation, exact whichever way they are made."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import ANGLES, LABELS, circle

from shirtsim.catalog.labels import Labels
from shirtsim.describe.descriptors import MODES, SEED_KIND, STYLE_KIND
from shirtsim.feed.curation import parse_curation
from shirtsim.feed.lists import ListMaker, Request
from shirtsim.feed.rules import Rules, parse_rules
from shirtsim.feed.scan import best_pairs
from shirtsim.index.search import SearchIndex


def made(k: int = 3, rules: Rules | None = None, curation: str = "", query: str = "q"):
    index = circle()
    cur = parse_curation("query_id,action,target_id,position\n" + curation, "c.csv", set(ANGLES))
    assert not cur.problems
    maker = ListMaker(index, LABELS, MODES["seed"], k, rules, cur)
    return maker.make([Request(index.stored(query), query)])[0]


def ids(result) -> list[str]:
    return [e.id for e in result.entries]


def test_a_list_is_the_nearest_shirts_in_order_with_their_real_scores():
    result = made(k=3)
    assert ids(result) == ["a", "b", "c"] and not result.short
    cosines = [math.cos(math.radians(a)) for a in (5, 10, 15)]
    assert [e.score for e in result.entries] == pytest.approx(cosines, abs=1e-6)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (parse_rules(["colour=blue"]), ["b", "e"]),
        (parse_rules(["colour=blue", "colour=red", "group=g2"]), ["b", "c"]),
        (parse_rules(same=["group"]), ["a", "g"]),
        (parse_rules(one_per=["group"]), ["b", "d", "e", "f"]),  # not a, g (q's g1), nor c (b's g2)
        (parse_rules(near=["price=10"]), ["a", "b", "e", "f"]),  # 18..22; d has no price
        (parse_rules(["colour=red"], same=["group"], near=["price=20"]), ["a", "g"]),
    ],
)
def test_each_rule_shapes_the_list_and_a_short_list_says_so(rules, expected):
    result = made(k=4, rules=rules)
    assert ids(result) == expected
    assert result.short == (len(expected) < 4)


def test_rules_that_leave_nothing_give_an_empty_short_list():
    result = made(k=4, rules=parse_rules(["colour=green"]))
    assert result.entries == [] and result.short


def test_a_pin_is_at_its_place_with_its_real_score_even_against_a_rule():
    result = made(k=3, rules=parse_rules(["colour=red"]), curation="q,pin,e,2\n")
    assert ids(result) == ["a", "e", "c"]
    assert result.entries[1].pinned and not result.entries[0].pinned
    assert result.entries[1].score == pytest.approx(math.cos(math.radians(25)), abs=1e-6)


def test_blocks_leave_shirts_out_and_star_blocks_keep_their_own_list():
    assert ids(made(k=3, curation="q,block,a,\n*,block,c,\n")) == ["b", "d", "e"]
    assert ids(made(k=2, curation="*,block,c,\n", query="c")) == ["b", "d"]  # c's own list
    assert ids(made(k=3, curation="q,pin,g,1\nq,block,g,\n")) == ["a", "b", "c"]  # blocks win


def test_pins_count_toward_k_and_a_short_list_takes_its_pins_last():
    assert ids(made(k=3, curation="q,pin,g,1\nq,pin,f,3\n")) == ["g", "a", "f"]
    assert ids(made(k=4, rules=parse_rules(["colour=blue"]), curation="q,pin,g,4\n")) == ["b", "e", "g"]


def test_equal_scores_keep_catalog_order():
    vectors = np.array([[1, 0], [0.8, 0.6], [0.8, 0.6], [0.8, 0.6], [0.6, 0.8]], np.float32)
    index = SearchIndex.build(SEED_KIND, ["q", "z", "y", "x", "w"], vectors)
    result = ListMaker(index, None, MODES["seed"], 3).make([Request(index.stored("q"), "q")])[0]
    assert ids(result) == ["z", "y", "x"]


def clustered(n: int, seed: int = 3) -> tuple[SearchIndex, Labels]:
    rng = np.random.default_rng(seed)
    centres = rng.random((12, STYLE_KIND.dim), dtype=np.float32)
    raw = centres[rng.integers(0, 12, n)] + 0.4 * rng.random((n, STYLE_KIND.dim), dtype=np.float32)
    raw[5] = raw[4] = raw[3]  # exact twins: ties at every depth
    ids = [f"s{i}" for i in range(n)]
    labels = Labels(
        ["group", "colour", "price"],
        {
            i: {"group": f"g{rng.integers(0, 40)}", "colour": ["red", "blue", ""][rng.integers(0, 3)], "price": f"{p}"}
            for i, p in zip(ids, rng.integers(5, 100, n))
        },
    )
    return SearchIndex.build(STYLE_KIND, ids, raw), labels


RULE_SETS = [
    Rules(),
    parse_rules(one_per=["group"]),
    parse_rules(["colour=red"]),
    parse_rules(same=["colour"], near=["price=15"]),
]


@pytest.mark.parametrize("rules", RULE_SETS, ids=lambda r: r.describe() or "no rules")
def test_the_whole_catalog_at_once_equals_one_query_at_a_time(rules):
    index, labels = clustered(1500)
    blocks = "".join(f"s{q},block,s{q + 1},\n" for q in range(0, 60, 2)) + "*,block,s7,\n"
    pins = "s0,pin,s1400,1\ns3,pin,s9,4\n"
    curation = parse_curation("query_id,action,target_id,position\n" + blocks + pins, "c", set(index.ids))
    maker = ListMaker(index, labels, MODES["balanced"], 10, rules, curation)
    whole = [r for _, lists in maker.catalog(700) for r in lists]
    one = [maker.make([Request(index.stored(i), i)])[0] for i in index.ids[:100] + index.ids[-50:]]
    assert [r.entries for r in whole[:100] + whole[-50:]] == [r.entries for r in one]
    # and both are the true ranking, ties by catalog order
    for q in (0, 3, 4, 40):
        scores = index.matrix.astype(np.float64) @ maker._weigh(index.matrix[q])
        truth = [i for i in np.lexsort((np.arange(len(scores)), -scores)) if i != q]
        allowed = maker.columns.mask(maker.columns.query_values(labels, index.ids[q]))
        truth = [i for i in truth if (allowed is None or allowed[i]) and index.ids[i] not in curation.blocked(f"s{q}")]
        truth = maker.columns.one_per_pass(maker.columns.query_values(labels, index.ids[q]), truth)
        unpinned = [e.id for e in whole[q].entries if not e.pinned]
        assert unpinned == [index.ids[i] for i in truth if index.ids[i] not in {"s1400", "s9"}][: len(unpinned)]
    assert [e.id for e in whole[0].entries][0] == "s1400" and whole[0].entries[0].pinned
    assert all("s7" not in [e.id for e in r.entries] for r in whole) and whole[7].entries


def test_many_blocks_widen_the_search_and_stay_exact():
    index, labels = clustered(1500)
    maker = ListMaker(index, labels, MODES["balanced"], 5)
    order = np.argsort(-(index.matrix.astype(np.float64) @ maker._weigh(index.matrix[0])), kind="stable")
    blocked = [index.ids[i] for i in order[1:80]]  # the 79 best: far more than fetched at first
    curation = parse_curation(
        "query_id,action,target_id,position\n" + "".join(f"s0,block,{b},\n" for b in blocked), "c", set(index.ids)
    )
    result = ListMaker(index, labels, MODES["balanced"], 5, None, curation).make([Request(index.stored("s0"), "s0")])[0]
    assert ids(result) == [index.ids[i] for i in order[80:85]]


def test_best_pairs_finds_each_rows_best_without_the_whole_matrix(monkeypatch):
    monkeypatch.setattr("shirtsim.feed.scan.PAIR_BLOCK", 128)  # many blocks on a small catalog
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((700, 16)).astype(np.float32)
    vals, rows = best_pairs(vectors, 7)
    truth = np.sort(vectors @ vectors.T, axis=1)[:, ::-1][:, :7]
    assert np.allclose(np.sort(vals, axis=1)[:, ::-1], truth, atol=1e-5)
    chosen = np.take_along_axis(vectors @ vectors.T, rows, axis=1)
    assert np.allclose(chosen, vals, atol=1e-5)
    assert (rows >= 0).all()


def test_an_approximate_index_falls_back_to_the_exact_scan_past_its_candidate_limit(monkeypatch):
    """A rule so rare that the approximate index's widest answer holds too few: the exact scan."""
    from shirtsim.index.approx import build_ivf

    monkeypatch.setattr("shirtsim.feed.lists.MAX_REMOTE", 40)
    index, _ = clustered(1500)
    rare = {f"s{i}" for i in range(0, 1500, 97)}  # 16 shirts, scattered
    labels = Labels(["colour"], {i: {"colour": "rare" if i in rare else "common"} for i in index.ids})
    exact = ListMaker(index, labels, MODES["balanced"], 10, parse_rules(["colour=rare"]))
    want = exact.make([Request(index.stored("s1"), "s1")])[0]
    index.approx = build_ivf(index.matrix)
    got = ListMaker(index, labels, MODES["balanced"], 10, parse_rules(["colour=rare"])).make(
        [Request(index.stored("s1"), "s1")]
    )[0]
    assert ids(got) == ids(want) and len(ids(got)) == 10 and set(ids(got)) <= rare


def test_many_shirts_blocked_everywhere_are_masked_out_not_fetched():
    index, labels = clustered(1500)
    blocked = {f"s{i}" for i in range(1, 1500, 3)}  # 500 of them
    text = "query_id,action,target_id,position\n" + "".join(f"*,block,{b},\n" for b in sorted(blocked))
    maker = ListMaker(index, labels, MODES["balanced"], 10, None, parse_curation(text, "c", set(index.ids)))
    assert maker._todo(Request(index.stored("s0"), "s0")).fetch < 50  # not 500 more candidates per query
    whole = {i: r for chunk, lists in maker.catalog(700) for i, r in zip(chunk, lists)}
    for q in ("s0", "s1", "s2", "s1499"):
        scores = index.matrix.astype(np.float64) @ maker._weigh(index.stored(q))
        truth = [index.ids[i] for i in np.lexsort((np.arange(len(scores)), -scores)) if index.ids[i] not in blocked]
        assert ids(whole[q]) == [i for i in truth if i != q][:10], q
