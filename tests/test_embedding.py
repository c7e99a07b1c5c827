"""The model's arithmetic: bfloat16 where the CPU has it, never for the seed's embedding."""

import numpy as np
from helpers import DEMO
from PIL import Image

from shirtsim.descriptors import SEED_KIND, STYLE_KIND
from shirtsim.embedding import bf16_supported, to_model_input
from shirtsim.index import fingerprint, uses_bfloat16
from shirtsim.texture import basis_id


def test_bfloat16_forward_matches_float32_closely(embedder):
    batch = np.stack([to_model_input(Image.open(DEMO / f"{n}.jpg")) for n in (1001, 1042, 1133)])
    exact = embedder.forward(batch, STYLE_KIND.layers)["block4_conv3"].mean(axis=(1, 2))
    fast = embedder.forward(batch, STYLE_KIND.layers, bfloat16=True)["block4_conv3"].mean(axis=(1, 2))
    assert fast.dtype == np.float32 and fast.shape == exact.shape == (3, 512)
    assert 0 < np.abs(fast - exact).max() / np.abs(exact).max() < 0.02  # different arithmetic, same picture


def test_only_the_style_kind_may_use_bfloat16_and_its_cache_says_so(weights, monkeypatch):
    assert not uses_bfloat16(SEED_KIND)
    assert uses_bfloat16(STYLE_KIND) == bf16_supported()
    basis = basis_id(weights)
    assert basis.startswith("tb") and len(basis) == 10  # the shipped basis, named by its digest
    assert fingerprint(weights, STYLE_KIND).endswith(f"-style5-{basis}-bf16") == bf16_supported()
    bf16_supported.cache_clear()
    monkeypatch.setenv("SHIRTSIM_FLOAT32", "1")
    try:
        assert not uses_bfloat16(STYLE_KIND) and fingerprint(weights, STYLE_KIND).endswith(f"-style5-{basis}")
    finally:
        monkeypatch.delenv("SHIRTSIM_FLOAT32")
        bf16_supported.cache_clear()
