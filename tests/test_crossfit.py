"""The cross-fitted quality measurement (benchmarks/crossfit.py, run as a user runs it): every
setting judged on one half of real-shirts-dev after fitting on the other. Its VGG16 pass also
fills the session's embedding cache, so it runs first of the tests on real photos."""

import json

import numpy as np
import pytest
from helpers import DEMO, REAL_SHIRTS, need_real_photos, run_script

from shirtsim.catalog.images import decode_image
from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.describe.embed import embed
from shirtsim.engine import Engine
from shirtsim.index.build import fingerprint
from shirtsim.model.arithmetic import uses_int8
from shirtsim.model.inputs import to_model_input
from shirtsim.store import VectorStore, content_hash

# The real-photo tests' worker (test_quality.py, REAL_PHOTOS): this file's name sorts first, so the
# others read the 1,691 photos' vectors from the session cache instead of embedding them again.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-photos")]


def test_cross_fitted_quality_of_the_learned_projection(tmp_path, session_cache, weights, embedder):
    """The issue's protocol (benchmarks/crossfit.py): every setting chosen on two halves of
    real-shirts-dev, fitted on one and scored on the other, both ways, the texture basis refitted
    per half. In-sample figures (fitted and scored on the same photos) would overstate it."""
    need_real_photos()
    cache_args = ["--cache", str(tmp_path), "--embedding-cache", str(session_cache)]
    out = run_script("benchmarks/crossfit.py", "--quick", "--json", *cache_args, timeout=1800)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r["dim"] == 1020 and [p[0] for p in r["parts"]] == [
        "texture",
        "periodicity",
        "lab",
        "hsv",
        "texture_learned",
        "colour_learned",
    ]
    balanced, base = r["modes"]["balanced"], r["baseline"]["balanced"]["average"]
    got = balanced["average"]
    # docs/quality.md: 0.850 / 0.490 / 0.557, mean 0.633, against 0.796 / 0.420 / 0.479, mean 0.565
    # (before the periodicity part: 0.851 / 0.475 / 0.549, mean 0.625)
    assert got["articleType"] >= 0.84 and got["baseColour"] >= 0.48 and got["pattern"] >= 0.55
    assert got["mean"] >= 0.627
    assert all(got[c] >= base[c] + 0.05 for c in ("articleType", "baseColour", "pattern", "mean"))
    assert all(d["mean"] >= 0.622 for d in balanced["per_direction"].values())  # each half, not one lucky one
    assert r["modes"]["pattern"]["average"]["pattern"] >= 0.565  # 0.575
    assert r["modes"]["colour"]["average"]["baseColour"] >= 0.525  # 0.533
    recall = r["ivf_recall"]
    (learned,) = [v for k, v in recall.items() if k != "today"]
    assert all(learned[m] >= recall["today"][m] for m in ("balanced", "pattern", "colour")), recall
    # and about the product's before the periodicity part (docs/quality.md): 0.992, 0.973, 0.984.
    # The converged fit (projection_fit.fit_softmax) gives 0.995 / 0.980 / 0.9837: colour 5 of
    # 16,910 results under 0.984, so its floor is 0.983.
    assert learned["balanced"] >= 0.992 and learned["pattern"] >= 0.973 and learned["colour"] >= 0.983, recall
    # Its VGG16 pass is the session's: the same vectors shirtsim index computes, kept in its cache.
    # A picture's vector does not depend on its batch (texture_gram), so the kept-activation route
    # is the library's bit for bit wherever the forward pass is too; where a CPU's convolution
    # kernels round by batch size, nothing is kept and the export test embeds the photos itself.
    if uses_int8(STYLE_KIND):
        assert r["embedding_cache_filled"] == 0
    else:
        assert r["check_gap"] < 1e-4
        assert r["embedding_cache_filled"] == (1691 + 200 if r["check_gap"] == 0 else 0)
    if r["embedding_cache_filled"]:
        store = VectorStore(session_cache, fingerprint(weights, STYLE_KIND))
        paths = [REAL_SHIRTS / "15970.jpg", REAL_SHIRTS / "20258.jpg", DEMO / "1001.jpg"]
        direct = embed(embedder, STYLE_KIND, np.stack([to_model_input(decode_image(p.read_bytes())) for p in paths]))
        kept = np.stack([store.get(content_hash(p.read_bytes())) for p in paths])
        assert np.array_equal(kept, direct)

        def no_model(weights):
            raise AssertionError("the cache has every real photo: nothing to embed")

        engine = Engine(REAL_SHIRTS, weights=weights, cache_dir=session_cache, get_embedder=no_model)
        _, report = engine.index_with_report(STYLE_KIND)
        assert (report.embedded, report.reused + report.shipped) == (0, 1691)
