"""Retrieval quality on real product photos (../shared/data/real-shirts-dev), and the
evaluate command's arithmetic on a hand-made label set."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import REAL_SHIRTS, ROOT

from shirtsim.catalog import Labels
from shirtsim.descriptors import MODES, SEED_KIND
from shirtsim.evaluate import evaluate
from shirtsim.search import SearchIndex


def test_precision_and_chance_are_exact_on_a_tiny_labelled_set():
    # a, b, c point one way; d, e the other. Top-2 of a: b, c; of d: e and then one of a/b/c.
    vecs = np.array([[1, 0.0], [0.99, 0.1], [0.98, 0.2], [0, 1.0], [0.1, 0.99]], np.float32)
    index = SearchIndex.build(SEED_KIND, list("abcde"), vecs)
    labels = Labels(
        ["colour", "pattern"],
        {
            "a": {"colour": "red", "pattern": "check"},
            "b": {"colour": "red", "pattern": ""},
            "c": {"colour": "blue", "pattern": "check"},
            "d": {"colour": "blue", "pattern": "stripe"},
            "e": {"colour": "blue", "pattern": "stripe"},
        },
    )
    q = evaluate(index, labels, MODES["seed"], ["colour", "pattern"], k=2)
    # colour hits: a{b,c}=1, b{a,c}=1, c{b,a}=0, d{e,c}=2, e{d,c}=2 -> 6/10
    # pattern (b has none, skipped): a{b,c}=1, c{b,a}=1, d{e,c}=1, e{d,c}=1 -> 4/8
    assert q.precision == {"colour": 0.6, "pattern": 0.5, "mean": 0.55}
    # chance colour: red (1/4)x2, blue (2/4)x3 -> 0.4; pattern: check 1/4 x2, stripe 1/4 x2 -> 0.25
    assert q.chance == {"colour": 0.4, "pattern": 0.25}
    assert (q.k, q.n, q.mode) == (2, 5, "seed")


@pytest.mark.slow
def test_default_mode_on_real_photos_reaches_the_quality_goal():
    if not (REAL_SHIRTS / "labels.csv").is_file():
        pytest.skip(f"real product photos not found at {REAL_SHIRTS} (the project's shared data)")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "shirtsim",
            "evaluate",
            "--catalog",
            str(REAL_SHIRTS),
            "--columns",
            "articleType,baseColour,pattern",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1500,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    q = json.loads(out.stdout)
    assert q["n"] == 1691 and q["mode"] == "balanced"
    assert q["chance"] == {"articleType": 0.4124, "baseColour": 0.102, "pattern": 0.1696}
    # The goal, measured 0.825 / 0.462 / 0.515 / 0.600 (README, Quality); the seed
    # scores 0.713 / 0.137 / 0.400 / 0.417 on the same photos.
    p = q["precision"]
    assert p["mean"] >= 0.60 and p["baseColour"] >= 0.45 and p["pattern"] >= 0.50 and p["articleType"] >= 0.80


@pytest.mark.slow
def test_approximate_index_keeps_the_exact_top_10_on_real_photos(weights, embedder, session_cache):
    """Large catalogs are searched with IVF (shirtsim.approx); its recall is checked on real
    descriptors here, with the index sized for this catalog as it would be for any other."""
    if not (REAL_SHIRTS / "labels.csv").is_file():
        pytest.skip(f"real product photos not found at {REAL_SHIRTS} (the project's shared data)")
    from shirtsim import approx
    from shirtsim.engine import Engine

    engine = Engine(REAL_SHIRTS, weights=weights, cache_dir=session_cache, get_embedder=lambda w: embedder)
    index = engine.index(MODES["balanced"].kind)  # cached by the evaluate test above when run together
    ivf = approx.build_ivf(index.matrix)
    assert (ivf.nlist, ivf.nprobe) == (41, 10)
    fast = SearchIndex(index.kind, index.ids, index.matrix, index.mean, ivf)
    for mode, measured in (("balanced", 0.99), ("pattern", 0.96), ("colour", 0.98)):
        overlap = [
            len(
                {m.id for m in index.search(index.stored(i), MODES[mode], 10, exclude=i)}
                & {m.id for m in fast.search(fast.stored(i), MODES[mode], 10, exclude=i)}
            )
            / 10
            for i in index.ids
        ]
        assert np.mean(overlap) >= 0.95, (mode, np.mean(overlap), measured)
