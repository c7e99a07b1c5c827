"""``python -m shirtsim bench`` as a user runs it, at a size that takes seconds, not minutes."""

import io
import json

import pytest
from test_cli import run

from shirtsim.bench import SEED_DIM, seed_nxn_limit
from shirtsim.descriptors import STYLE_KIND


@pytest.mark.slow
def test_bench_json_has_every_figure_the_readme_quotes():
    out = run("bench", "--images", "4", "--sizes", "1000,2000", "--cold-start-items", "3000", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    e = r["embed"]
    assert e["images"] == e["embedded"] == 4  # the demo photos' vectors ship with shirtsim: not used here
    for key in ("seed_img_s", "shirtsim_img_s", "forward_limit_img_s", "forward_limit_own_layers_img_s"):
        assert 0.1 < e[key] < 1000, (key, e[key])
    # The JSON rounds each rate to 2 decimals and the ratio is taken before rounding, so the
    # ratio of the printed rates may differ from it in the last digits (11.66 vs 11.68).
    assert abs(e["speedup_vs_seed"] / (e["shirtsim_img_s"] / e["seed_img_s"]) - 1) < 0.01
    assert abs(e["share_of_forward_limit"] / (e["shirtsim_img_s"] / e["forward_limit_own_layers_img_s"]) - 1) < 0.01
    assert set(r["query"]) == {"1000", "2000"}
    for q in r["query"].values():
        assert q["bytes_per_item"] == STYLE_KIND.dim * 4  # float32, nothing else per item at these sizes
        assert 0 < q["p50_ms"] <= q["p99_ms"]
    assert r["seed_nxn"]["1000"]["bytes"] == 1000 * SEED_DIM * 8 + 1000 * 1000 * 8
    assert r["seed_nxn_fits_up_to_items"] == seed_nxn_limit()
    assert r["upload"]["p50_ms"] == r["upload"]["photo"]["p50_ms"] > 0
    assert r["upload"]["phone"]["p50_ms"] > 0 and r["upload"]["phone"]["bytes"] > 2_000_000
    assert r["upload"]["phone_box"]["bytes"] == r["upload"]["phone"]["bytes"] and r["upload"]["phone_box"]["p50_ms"] > 0
    assert r["cold_start"]["items"] == 3000 and r["cold_start"]["seconds"] > 0


def test_seed_nxn_limit_is_where_features_plus_matrix_reach_the_budget(monkeypatch):
    monkeypatch.setattr("shirtsim.bench._total_memory", lambda: 10 * 1024**3)
    n = seed_nxn_limit(0.5)
    budget = 0.5 * 10 * 1024**3
    assert (n * SEED_DIM + n * n) * 8 <= budget < ((n + 1) * SEED_DIM + (n + 1) ** 2) * 8


def test_the_phone_photo_is_a_rotated_12_megapixel_jpeg_read_reduced(fake_model):
    from helpers import DEMO, FakeEmbedder
    from PIL import Image

    from shirtsim.bench import phone_jpeg
    from shirtsim.engine import read_photo

    data = phone_jpeg(DEMO / "1001.jpg")
    with Image.open(io.BytesIO(data)) as img:
        assert (img.format, img.size, img.getexif()[0x0112]) == ("JPEG", (4000, 3000), 6)
    upload = read_photo(FakeEmbedder(), STYLE_KIND, data, "phone.jpg")
    assert Image.open(io.BytesIO(upload.preview)).size == (384, 512)  # upright: portrait after EXIF
    assert upload.pixels.shape == (224, 224, 3) and upload.vector.shape == (STYLE_KIND.dim,)
