"""The command line as a user runs it: real subprocesses, real model, the demo catalog."""

import json
import subprocess
import sys

import pytest
from helpers import DEMO, ROOT
from PIL import Image

from shirtsim.engine import get_mode


def run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "shirtsim", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.fixture(scope="module")
def indexed(demo_engine):
    demo_engine.index(get_mode("balanced").kind)  # shares the session cache with the subprocesses
    return demo_engine


def test_index_reports_reuse_on_a_warm_cache(indexed):
    out = run("index")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"catalog {DEMO}: 200 image files; 0 embedded, 200 reused, 0 skipped")


def test_similar_json_matches_the_library_best_first_query_excluded(indexed):
    out = run("similar", "1001", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = indexed.similar_to_id("1001", get_mode("balanced"), 10)
    assert [r["id"] for r in got] == [m.id for m in expected]
    assert [r["score"] for r in got] == [round(m.score, 6) for m in expected]
    assert len(got) == 10 and "1001" not in [r["id"] for r in got]
    assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)


def test_pattern_mode_finds_the_same_pattern_on_the_demo(indexed):
    # 1009 is a vertical stripe shirt (labels.csv); the demo has 29 of them among 200 shirts.
    got = json.loads(run("similar", "1009", "--mode", "pattern", "-k", "5", "--json").stdout)
    labels = {r.split(",")[0]: r.split(",")[2] for r in (DEMO / "labels.csv").read_text().splitlines()[1:]}
    assert labels["1009"] == "stripe-vertical"
    assert [labels[r["id"]] for r in got] == ["stripe-vertical"] * 5


def test_an_image_file_query_finds_its_own_catalog_twin(indexed, tmp_path):
    twin = tmp_path / "photo.png"
    Image.open(DEMO / "1002.jpg").save(twin)  # same pixels, other format and name
    out = run("similar", str(twin), "-k", "3", "--json")
    got = json.loads(out.stdout)
    assert got[0]["id"] == "1002" and got[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert out.stderr == ""  # TensorFlow's start-up chatter is held back


@pytest.mark.parametrize(
    "query, make, message",
    [
        ("no-such-shirt", None, "shirtsim: 'no-such-shirt' is neither a catalog id nor an image file."),
        ("notes.jpg", b"just some text", "shirtsim: notes.jpg: this is a text file, not a JPEG, PNG or WebP image."),
        ("empty.png", b"", "shirtsim: empty.png: the file is empty."),
    ],
)
def test_bad_queries_exit_2_with_one_line(indexed, tmp_path, query, make, message):
    if make is not None:
        (tmp_path / query).write_bytes(make)
        query = str(tmp_path / query)
    out = run("similar", query)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [message]
    assert "Traceback" not in out.stderr


def test_unknown_mode_and_missing_catalog_are_one_line_errors(tmp_path):
    out = run("similar", "1001", "--mode", "fuzzy")
    assert out.returncode == 2 and out.stderr.strip() == (
        "shirtsim: Unknown mode 'fuzzy': choose one of balanced, pattern, colour, seed."
    )
    out = run("index", "--catalog", str(tmp_path / "nope"))
    assert out.returncode == 2 and out.stderr.strip() == f"shirtsim: Catalog folder not found: {tmp_path / 'nope'}"


def test_evaluate_reports_bad_labels_in_one_line(tmp_path, indexed):
    out = run("evaluate", "--labels", str(tmp_path / "missing.csv"))
    assert (
        out.returncode == 2
        and out.stderr.strip() == f"shirtsim: No labels file: {tmp_path / 'missing.csv'} (pass --labels CSV)."
    )
    out = run("evaluate", "--columns", "pattern,sleeve")
    assert out.returncode == 2 and out.stderr.strip() == (
        "shirtsim: labels.csv has no column 'sleeve'; it has style, pattern, colour."
    )


def test_evaluate_json_on_the_demo_catalog(indexed):
    out = run("evaluate", "--columns", "pattern", "--mode", "pattern", "--json")
    q = json.loads(out.stdout)
    assert (q["k"], q["mode"], q["n"]) == (10, "pattern", 200)
    assert q["chance"] == {"pattern": 0.1386}
    assert q["precision"]["pattern"] == q["precision"]["mean"] > 0.7  # README: 0.753


def test_make_demo_catalog_is_deterministic_and_matches_the_committed_labels(tmp_path):
    for out_dir in ("a", "b"):
        done = run("make-demo-catalog", str(tmp_path / out_dir), "--count", "4")
        assert done.returncode == 0 and done.stdout.strip() == f"drew 4 shirts into {tmp_path / out_dir}"
    for name in ("1001.jpg", "1004.jpg", "labels.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    committed = (DEMO / "labels.csv").read_text().splitlines()[:5]
    assert (tmp_path / "a" / "labels.csv").read_text().splitlines() == committed
    assert Image.open(tmp_path / "a" / "1001.jpg").size == (200, 250)
