"""The export on real product photos with a store's columns (stock, price, product group), every
rule and a curation file: each row keeps the rules, has its pins and no blocked shirt, equals
``similar`` with the same flags, and equals a plain re-ranking of every shirt by its score."""

from __future__ import annotations

import csv
import json
import random

import pytest
from helpers import REAL_SHIRTS, need_real_photos

from shirtsim.engine import Engine, get_mode
from shirtsim.feed.curation import Curation, Entry, load_curation
from shirtsim.feed.rules import number, parse_rules

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-photos")]  # see REAL_PHOTOS in test_quality.py
K = 10
NEAR = 25.0
FLAGS = ["--filter", "stock=in", "--same", "articleType", "--one-per", "group", "--near", f"price={NEAR:g}"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The real photos (linked, not copied) with labels a store's feed would add: a price (some
    blank), stock in/out (some blank) and a product group, the name, which variants share."""
    need_real_photos()
    root = tmp_path_factory.mktemp("store")
    with (REAL_SHIRTS / "labels.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(7)
    for row in rows:
        (root / f"{row['id']}.jpg").symlink_to(REAL_SHIRTS / f"{row['id']}.jpg")
        row["group"] = row["name"]
        row["price"] = "" if rng.random() < 0.05 else f"{rng.uniform(9, 90):.2f}"
        row["stock"] = rng.choice(["in"] * 8 + ["out", ""])
    with (root / "labels.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root, {row["id"]: row for row in rows}


def test_every_row_of_a_real_export_keeps_rules_pins_and_blocks_and_equals_similar(
    store, real_model_in_process, weights, embedder, session_cache, cli, tmp_path
):
    root, labels = store
    mode = get_mode("balanced")
    engine = Engine(root, weights=weights, cache_dir=session_cache, get_embedder=lambda w: embedder)
    engine.index(mode.kind)
    ids = sorted(labels)
    q1, q2, q3 = ids[10], ids[500], ids[1200]
    out_of_stock = next(i for i in ids if labels[i]["stock"] == "out" and i != q1)
    plain = {q: [e.id for e in engine.similar_to_id(q, mode, 3)] for q in (q1, q2, q3)}
    everywhere = plain[q1][1]  # a shirt that some lists would show
    curation = tmp_path / "curation.csv"
    curation.write_text(
        "query_id,action,target_id,position\n"
        f"{q1},pin,{out_of_stock},1\n"  # a pin wins over the rules (stock=out)
        f"{q2},block,{plain[q2][0]},\n"
        f"{q3},pin,{plain[q3][2]},2\n"
        f"{q3},block,{plain[q3][2]},\n"  # a block wins over a pin
        f"*,block,{everywhere},\n",
        encoding="utf-8",
    )
    out = tmp_path / "feed.jsonl"
    code, _, err = cli("export", "--catalog", root, "-k", K, *FLAGS, "--curation", curation, "--out", out)
    assert code == 0, err
    assert f"exported {len(ids):,} lists of up to {K} (balanced)" in err
    rows = {line["id"]: line["similar"] for line in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert sorted(rows) == ids  # the blocked shirt keeps its own row

    for query, found in rows.items():
        assert len(found) <= K and everywhere not in [e["id"] for e in found]
        for e in found:
            if not e["pinned"]:
                assert_keeps_the_rules(labels[query], labels[e["id"]])
        groups = [labels[e["id"]]["group"] for e in found if not e["pinned"]]
        assert len(groups) == len(set(groups))
    assert rows[q1][0]["id"] == out_of_stock and rows[q1][0]["pinned"]
    assert plain[q2][0] not in [e["id"] for e in rows[q2]]
    assert plain[q3][2] not in [e["id"] for e in rows[q3]] and not any(e["pinned"] for e in rows[q3])
    assert sum(e["pinned"] for found in rows.values() for e in found) == 1
    assert sum(len(found) < K for found in rows.values()) > 0  # the rules do leave some lists short

    rules = parse_rules(["stock=in"], ["articleType"], ["group"], [f"price={NEAR:g}"])
    loaded = load_curation(curation, set(ids))
    for query in ids:  # the library call `similar` makes
        assert rows[query] == [e.as_json() for e in engine.similar_to_id(query, mode, K, rules=rules, curation=loaded)]
    for query in [q1, q2, q3, *random.Random(1).sample(ids, 9)]:  # and the command itself
        code, alone, _ = cli("similar", query, "--catalog", root, "-k", K, *FLAGS, "--curation", curation, "--json")
        assert code == 0 and json.loads(alone) == rows[query], query

    # An independent re-ranking: every shirt's score, sorted, the rules applied one by one.
    maker = engine.list_maker(mode, K, rules, loaded)
    index = engine.index(mode.kind)
    for query in [q1, q2, q3, *random.Random(2).sample(ids, 60)]:
        request = engine_request(index, query)
        scored = sorted(((maker.score(request, s), s) for s in ids if s != query), key=lambda p: -p[0])
        expected = by_hand(query, scored, labels, loaded)
        assert [e["id"] for e in rows[query]] == [e.id for e in expected], query
        assert [e["score"] for e in rows[query]] == pytest.approx([e.score for e in expected], abs=2e-6)


def engine_request(index, query):
    from shirtsim.feed.lists import Request

    return Request(index.stored(query), query)


def assert_keeps_the_rules(query: dict, found: dict) -> None:
    assert found["stock"] == "in"
    if query["articleType"]:
        assert found["articleType"] == query["articleType"]
    if query["group"]:
        assert found["group"] != query["group"]
    price = number(query["price"])
    if price is not None:
        assert number(found["price"]) is not None
        assert abs(number(found["price"]) - price) <= NEAR / 100 * abs(price) + 1e-9


def by_hand(query: str, scored: list[tuple[float, str]], labels: dict, curation) -> list[Entry]:
    """What the list must be: best first, blocked and pinned shirts out, the rules kept, then pins."""
    left_out = curation.blocked(query) | {t for _, t in curation.pinned(query)}
    kept: list[Entry] = []
    groups: set[str] = set()
    for score, shirt in scored:
        row = labels[shirt]
        if shirt in left_out or row["stock"] != "in":
            continue
        if labels[query]["articleType"] and row["articleType"] != labels[query]["articleType"]:
            continue
        price, own = number(labels[query]["price"]), number(row["price"])
        if price is not None and (own is None or abs(own - price) > NEAR / 100 * abs(price)):
            continue
        if row["group"] and (row["group"] == labels[query]["group"] or row["group"] in groups):
            continue
        groups.add(row["group"])
        kept.append(Entry(shirt, score))
        if len(kept) == K:
            break
    scores = dict((s, v) for v, s in scored)
    return curation.apply(query, kept, K, scores.__getitem__)


def test_a_real_export_without_rules_is_each_shirts_own_top_k(
    store, real_model_in_process, weights, embedder, session_cache, cli
):
    """No rules, no curation: the whole-catalog pair scan, checked against plain re-ranking."""
    root, labels = store
    mode = get_mode("pattern")
    engine = Engine(root, weights=weights, cache_dir=session_cache, get_embedder=lambda w: embedder)
    index = engine.index(mode.kind)
    empty = Curation()
    code, out, _ = cli("export", "--catalog", root, "-k", K, "--mode", "pattern")
    assert code == 0
    rows = {line["id"]: line["similar"] for line in map(json.loads, out.splitlines())}
    assert len(rows) == len(labels) and all(len(found) == K for found in rows.values())
    maker = engine.list_maker(mode, K, None, empty)
    ids = sorted(labels)
    for query in random.Random(3).sample(ids, 40):
        request = engine_request(index, query)
        scored = sorted(((maker.score(request, s), s) for s in ids if s != query), key=lambda p: -p[0])
        assert [e["score"] for e in rows[query]] == pytest.approx([v for v, _ in scored[:K]], abs=2e-6)
        assert {e["id"] for e in rows[query]} <= {s for v, s in scored if v >= scored[K - 1][0] - 2e-6}, query
