"""The approximate index large catalogs use, checked against the exact scan on the same vectors."""

import numpy as np

from shirtsim.cli.bench_data import _synthetic_raw
from shirtsim.describe.descriptors import MODES, STYLE_KIND
from shirtsim.index import approx
from shirtsim.index.search import SearchIndex


def indexes(n=4000):
    exact = SearchIndex.build(STYLE_KIND, [f"s{i}" for i in range(n)], _synthetic_raw(n, np.random.default_rng(5)))
    fast = SearchIndex(STYLE_KIND, exact.ids, exact.matrix, exact.mean, approx.build_ivf(exact.matrix))
    return exact, fast


def test_sizes_of_the_index_follow_the_catalog():
    assert (approx.lists_for(1_000_000), approx.probes_for(1000)) == (1000, 125)
    assert (approx.lists_for(4000), approx.probes_for(63)) == (63, 10)
    assert approx.lists_for(10) == 1 and approx.probes_for(1) == 1


def test_ivf_scanning_every_list_returns_exactly_the_exact_results_in_every_mode():
    exact, fast = indexes()
    fast.approx.nprobe = fast.approx.nlist  # all clusters: approximation off, the mapping is what is tested
    for mode in ("balanced", "pattern", "colour"):
        for shirt_id in exact.ids[:200:5]:
            want = exact.search(exact.stored(shirt_id), MODES[mode], 10, exclude=shirt_id)
            got = fast.search(fast.stored(shirt_id), MODES[mode], 10, exclude=shirt_id)
            assert [m.id for m in got] == [m.id for m in want]
            assert np.allclose([m.score for m in got], [m.score for m in want], atol=1e-5)


def test_ivf_with_its_default_probes_keeps_most_of_the_exact_top_10_on_clustered_vectors():
    # The recall figure that counts is bench's at 1,000,000 items; this guards against a
    # broken probe setting (1 probe out of 63 lists gives far less).
    exact, fast = indexes()
    assert fast.approx.nprobe == 10
    overlap = []
    for shirt_id in exact.ids[:400:4]:
        want = {m.id for m in exact.search(exact.stored(shirt_id), MODES["balanced"], 10, exclude=shirt_id)}
        got = fast.search(fast.stored(shirt_id), MODES["balanced"], 10, exclude=shirt_id)
        assert shirt_id not in [m.id for m in got] and len(got) == 10
        assert [m.score for m in got] == sorted((m.score for m in got), reverse=True)
        overlap.append(len(want & {m.id for m in got}) / 10)
    assert np.mean(overlap) >= 0.5, np.mean(overlap)


def test_serialised_index_answers_like_the_original():
    exact, fast = indexes(1000)
    again = approx.from_bytes(approx.to_bytes(fast.approx))
    assert (again.nlist, again.nprobe, again.ntotal) == (fast.approx.nlist, fast.approx.nprobe, 1000)
    q = exact.stored("s7")
    s1, r1 = approx.search_ivf(fast.approx, q, 10)
    s2, r2 = approx.search_ivf(again, q, 10)
    assert r1.tolist() == r2.tolist() and np.allclose(s1, s2)
    assert r1[0] == 7  # itself first


def test_memory_per_item_stays_under_4_kb():
    _, fast = indexes(2000)
    assert fast.memory_bytes() / len(fast) < 4096
    assert fast.memory_bytes() == 2000 * (STYLE_KIND.dim * 4 + 8) + fast.approx.nlist * STYLE_KIND.dim * 4
