"""The model's arithmetic: bfloat16 where the CPU has it, else int8 through LiteRT; never for the
seed's embedding."""

import numpy as np
import pytest
from helpers import DEMO
from PIL import Image

from shirtsim.describe.descriptors import SEED_KIND, STYLE_KIND
from shirtsim.describe.texture import basis_id
from shirtsim.index.build import fingerprint, uses_bfloat16
from shirtsim.model.arithmetic import bf16_supported
from shirtsim.model.inputs import to_model_input


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
    assert fingerprint(weights, STYLE_KIND).endswith(f"-style6-{basis}-bf16") == bf16_supported()
    bf16_supported.cache_clear()
    monkeypatch.setenv("SHIRTSIM_FLOAT32", "1")
    try:
        assert not uses_bfloat16(STYLE_KIND) and fingerprint(weights, STYLE_KIND).endswith(f"-style6-{basis}")
    finally:
        monkeypatch.delenv("SHIRTSIM_FLOAT32")
        bf16_supported.cache_clear()


def test_int8_is_chosen_by_setting_and_named_in_the_cache(weights, monkeypatch):
    from shirtsim.errors import ShirtsimError
    from shirtsim.model.arithmetic import arithmetic, uses_int8

    basis = basis_id(weights)
    monkeypatch.setenv("SHIRTSIM_ARITHMETIC", "int8")
    assert arithmetic() == ("int8", "SHIRTSIM_ARITHMETIC=int8")
    assert uses_int8(STYLE_KIND) and not uses_int8(SEED_KIND) and not uses_bfloat16(STYLE_KIND)
    assert fingerprint(weights, STYLE_KIND).endswith(f"-style6-{basis}-int8c1")  # the conversion named
    assert fingerprint(weights, SEED_KIND) == f"vgg16-{weights.fingerprint}-seed2"  # the notebook's, always
    monkeypatch.setenv("SHIRTSIM_FLOAT32", "1")  # the older switch still means float32
    assert arithmetic()[0] == "float32" and fingerprint(weights, STYLE_KIND).endswith(f"-style6-{basis}")
    monkeypatch.delenv("SHIRTSIM_FLOAT32")
    monkeypatch.setenv("SHIRTSIM_ARITHMETIC", "fp8")
    with pytest.raises(ShirtsimError, match=r"^SHIRTSIM_ARITHMETIC='fp8': use auto, bfloat16, int8 or float32\.$"):
        arithmetic()
    monkeypatch.setenv("SHIRTSIM_ARITHMETIC", "auto")
    assert arithmetic()[0] == ("bfloat16" if bf16_supported() else "int8")  # LiteRT is a dev requirement


@pytest.mark.slow
def test_the_int8_network_is_close_to_float32_and_converted_once(weights, tmp_path, monkeypatch):
    from shirtsim.model import int8 as int8
    from shirtsim.model.vgg16 import Embedder

    batch = np.stack([to_model_input(Image.open(DEMO / f"{n}.jpg")) for n in (1001, 1042, 1133)])
    first = Embedder(weights, tmp_path)
    exact = first.forward(batch, STYLE_KIND.layers)["block4_conv3"]
    fast = first.forward(batch, STYLE_KIND.layers, int8=True)["block4_conv3"]
    assert fast.dtype == np.float32 and fast.shape == exact.shape == (3, 28, 28, 512)
    assert 0 < np.linalg.norm(fast - exact) / np.linalg.norm(exact) < 0.08  # measured 0.047
    (cached,) = (tmp_path / "v1" / "models").iterdir()
    assert cached.name == f"vgg16-{weights.fingerprint}-block4_conv3-int8c1.tflite"

    conversions = []
    real_convert = int8.convert
    monkeypatch.setattr(int8, "convert", lambda *a: conversions.append(a) or real_convert(*a))
    again = Embedder(weights, tmp_path).forward(batch, STYLE_KIND.layers, int8=True)["block4_conv3"]
    np.testing.assert_array_equal(again, fast)  # read back from the cache: the same network
    assert conversions == []
    cached.write_bytes(b"SHIRTBLB damaged")  # a damaged cached network is converted again
    Embedder(weights, tmp_path).forward(batch[:1], STYLE_KIND.layers, int8=True)
    assert len(conversions) == 1
