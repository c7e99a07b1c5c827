"""``python -m shirtsim bench`` as a user runs it, at a size that takes seconds, not minutes."""

import io
import json
import re
import subprocess
import sys
import time

import pytest
from helpers import ROOT, run

from shirtsim.cli.bench_memory import (
    MODEL_BYTES,
    check_memory,
    cold_start_peak_bytes,
    export_peak_bytes,
    query_peak_bytes,
    usable_memory,
)
from shirtsim.cli.bench_query import SEED_DIM, bench_seed_nxn, seed_nxn_limit
from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.errors import ShirtsimError

# `python -m shirtsim` with TensorFlow and Keras unimportable: loading the model would fail loudly.
WITHOUT_MODEL = (
    "import runpy, sys; sys.modules.update(tensorflow=None, keras=None); "
    "sys.argv[0] = 'shirtsim'; runpy.run_module('shirtsim', run_name='__main__', alter_sys=True)"
)


@pytest.mark.slow
def test_bench_json_has_every_figure_the_readme_quotes():
    out = run(
        "bench",
        "--images",
        "4",
        "--sizes",
        "1000,2000",
        "--cold-start-items",
        "3000",
        "--export-items",
        "3000",
        "--json",
    )
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
    x = r["export"]
    assert (x["items"], x["k"], x["method"]) == (3000, 10, "all-pairs") and x["seconds"] > 0
    assert 0 < x["peak_above_index_mb"] < 200 and x["output_mb"] > 1


def test_seed_nxn_limit_is_where_features_plus_matrix_reach_the_budget(monkeypatch):
    monkeypatch.setattr("shirtsim.cli.bench_query._total_memory", lambda: 10 * 1024**3)
    n = seed_nxn_limit(0.5)
    budget = 0.5 * 10 * 1024**3
    assert (n * SEED_DIM + n * n) * 8 <= budget < ((n + 1) * SEED_DIM + (n + 1) ** 2) * 8


def test_the_phone_photo_is_a_rotated_12_megapixel_jpeg_read_reduced(fake_model):
    from helpers import DEMO, FakeEmbedder
    from PIL import Image

    from shirtsim.cli.bench_model import phone_jpeg
    from shirtsim.engine import read_photo

    data = phone_jpeg(DEMO / "1001.jpg")
    with Image.open(io.BytesIO(data)) as img:
        assert (img.format, img.size, img.getexif()[0x0112]) == ("JPEG", (4000, 3000), 6)
    upload = read_photo(FakeEmbedder(), STYLE_KIND, data, "phone.jpg")
    assert Image.open(io.BytesIO(upload.preview)).size == (384, 512)  # upright: portrait after EXIF
    assert upload.pixels.shape == (224, 224, 3) and upload.vector.shape == (STYLE_KIND.dim,)


def one_line_refusal(done: subprocess.CompletedProcess) -> str:
    assert (done.returncode, done.stdout) == (2, ""), done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("shirtsim: bench ")
    return done.stderr


def test_a_size_too_large_for_memory_is_refused_in_one_line_before_the_model_loads():
    need = MODEL_BYTES + query_peak_bytes(10_000_000)
    usable, limit = usable_memory()
    if usable > need:
        pytest.skip(f"this machine may really use {usable / 1e9:.0f} GB")
    for command in ([sys.executable, "-m", "shirtsim"], [sys.executable, "-c", WITHOUT_MODEL]):
        started = time.monotonic()
        done = subprocess.run([*command, "bench", "--sizes", "1000,10000000"], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)  # fmt: skip
        assert time.monotonic() - started < 10
        line = one_line_refusal(done)
        said = re.fullmatch(
            r"shirtsim: bench --sizes: 10,000,000 items need about (\d+) GB with the model loaded; "
            r"this process may use ([\d.,]+) GB \((.*)\)\. Use smaller sizes\.\n",
            line,
        )
        assert said, line
        assert int(said[1]) == round(need / 1e9) and said[3] == limit
        assert 0 < float(said[2].replace(",", "")) * 1e9 < need


def test_under_an_address_space_limit_that_limit_is_what_is_reported():
    """ulimit -v 3,000,000 KB: TensorFlow alone would need most of it; the check runs before it loads."""
    if usable_memory()[0] < 3_000_000 * 1024:
        pytest.skip("less memory available than the address-space limit tried here")
    for args, option, need, advice in (
        (["--sizes", "1000000"], "--sizes", query_peak_bytes(1_000_000), "Use smaller sizes"),
        (["--sizes", "1000", "--cold-start-items", "1000000"], "--cold-start-items", cold_start_peak_bytes(10**6),
         "Use fewer items"),
    ):  # fmt: skip
        command = " ".join(["ulimit -v 3000000; exec", sys.executable, "-c", f'"{WITHOUT_MODEL}"', "bench", *args])
        line = one_line_refusal(subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT,
                                               timeout=60))  # fmt: skip
        said = re.fullmatch(
            rf"shirtsim: bench {option}: 1,000,000 items need about ([\d.]+) GB with the model loaded; "
            rf"this process may use ([\d.]+) GB \(address-space limit, ulimit -v\)\. {advice}\.\n",
            line,
        )
        assert said, line
        assert float(said[1]) == round((MODEL_BYTES + need) / 1e9) and 2.0 < float(said[2]) < 3.1


def test_the_first_size_that_does_not_fit_is_named_with_what_it_needs(monkeypatch):
    monkeypatch.setattr("shirtsim.cli.bench_memory.usable_memory", lambda: (6_000_000_000, "available memory"))
    check_memory([1000, 100_000], 100_000)  # about 2.7 and 2.9 GB with the model: they fit
    with pytest.raises(ShirtsimError) as e:
        check_memory([1000, 500_000, 2_000_000], 100_000)
    need = (MODEL_BYTES + query_peak_bytes(500_000)) / 1e9
    assert str(e.value) == (
        f"bench --sizes: 500,000 items need about {need:.1f} GB with the model loaded; this process may use "
        "6.0 GB (available memory). Use smaller sizes."
    )
    with pytest.raises(ShirtsimError, match=r"^bench --cold-start-items: 400,000 items need about 8\.\d GB with"):
        check_memory([1000], 400_000)
    # milvus: no model, no cold start
    check_memory([100_000], None, with_model=False)
    with pytest.raises(ShirtsimError, match=r"^bench --sizes: 1,000,000 items need about 12 GB; this process"):
        check_memory([1_000_000], None, with_model=False)


def test_usable_memory_is_the_smaller_of_available_memory_and_the_address_space_left(monkeypatch):
    import resource

    status = {"/proc/meminfo": 8_000_000, "/proc/self/status": 1_000_000}  # kB: MemAvailable, VmSize
    monkeypatch.setattr("shirtsim.cli.bench_memory._proc_bytes", lambda path, field: status[path] * 1024)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert usable_memory() == (8_000_000 * 1024, "available memory")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (3_000_000 * 1024, resource.RLIM_INFINITY))
    assert usable_memory() == (2_000_000 * 1024, "address-space limit, ulimit -v")
    status["/proc/meminfo"] = 1_500_000
    assert usable_memory() == (1_500_000 * 1024, "available memory")


def test_the_seed_matrix_is_not_made_when_its_peak_does_not_fit(monkeypatch):
    features, matrix = 500 * SEED_DIM * 8, 500 * 500 * 8
    monkeypatch.setattr("shirtsim.cli.bench_query.usable_memory", lambda: (2 * features, "available memory"))
    assert bench_seed_nxn(500) is None  # the features twice (their squares, the unit copy) and the matrix: over
    monkeypatch.setattr("shirtsim.cli.bench_query.usable_memory", lambda: (2 * features + matrix, "available memory"))
    assert bench_seed_nxn(500)["bytes"] == features + matrix


MEASURE = r"""
import json, sys
from shirtsim.cli.bench_model import bench_cold_start
from shirtsim.cli.bench_query import bench_query

def status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

what, n = sys.argv[1], int(sys.argv[2])
if what == "cold_start":
    from shirtsim.describe.projection import resolve_projection
    from shirtsim.model.weights import packaged_weights
    weights = packaged_weights()
    resolve_projection("auto", weights)  # its modules loaded: idle memory
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM back to the current RSS (else the peak includes the imports': an overestimate)
except OSError:
    pass
idle = status_kb("VmRSS")
if what == "query":
    bench_query(n, queries=20)
elif what == "export":
    from shirtsim.cli.bench_export import bench_export
    bench_export(n)
else:
    bench_cold_start(weights, n)
print(json.dumps({"growth": (status_kb("VmHWM") - idle) * 1024}))
"""


@pytest.mark.parametrize(
    "what, n, estimate",
    [
        ("query", 20_000, query_peak_bytes),
        pytest.param("export", 20_000, export_peak_bytes, marks=pytest.mark.slow),
        pytest.param("cold_start", 20_000, cold_start_peak_bytes, marks=pytest.mark.slow),
    ],
)
def test_the_memory_estimate_covers_the_measured_peak_without_much_to_spare(what, n, estimate):
    done = subprocess.run([sys.executable, "-c", MEASURE, what, str(n)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout)["growth"]
    print(f"\n{what} {n:,}: measured {measured / 1e6:.0f} MB, estimated {estimate(n) / 1e6:.0f} MB")
    assert measured <= estimate(n) <= 1.5 * measured
