"""Long work shared by visitors (index builds, re-indexing, overviews) never makes a visitor wait
for what they did not ask: one job per key in the background, askers of that key share it."""

import threading
import time

import pytest
from helpers import DEMO, ROOT, FakeEmbedder, grid_tiles, pick
from streamlit.testing.v1 import AppTest

from shirtsim.describe.descriptors import SEED_KIND, STYLE_KIND
from shirtsim.engine import Engine, get_mode
from shirtsim.errors import ShirtsimError
from shirtsim.jobs import Jobs


def test_one_job_per_key_shared_by_its_askers_and_other_keys_never_wait():
    jobs, runs, release = Jobs("test"), [], threading.Event()

    def slow(progress):
        runs.append("slow")
        progress(1, 2, "halfway")
        release.wait(5)
        return "built"

    answers, seen = [], []
    askers = [
        threading.Thread(target=lambda: answers.append(jobs.run("a", slow, lambda *r: seen.append(r))))
        for _ in range(3)
    ]
    for t in askers:
        t.start()
    time.sleep(0.5)
    started = time.perf_counter()
    assert jobs.run("b", lambda progress: "other") == "other"  # another key: no wait at all
    assert time.perf_counter() - started < 0.3
    assert jobs.running("a") and (1, 2, "halfway") in seen  # the askers see the job's progress
    release.set()
    for t in askers:
        t.join(5)
    assert answers == ["built"] * 3 and runs == ["slow"]  # three askers, one job
    assert not jobs.running("a")


def test_a_failed_job_is_reported_to_every_asker_and_the_next_ask_tries_again():
    jobs, calls = Jobs("test"), []

    def fails(progress):
        calls.append(1)
        time.sleep(0.3)
        raise ShirtsimError("the folder is gone")

    errors = []

    def ask():
        try:
            jobs.run("k", fails)
        except ShirtsimError as e:
            errors.append(str(e))

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for t in askers:
        t.start()
    for t in askers:
        t.join(5)
    assert errors == ["the folder is gone"] * 2 and len(calls) == 1
    with pytest.raises(ShirtsimError):
        jobs.run("k", fails)
    assert len(calls) == 2


class SlowEmbedder(FakeEmbedder):
    """Takes its time over the seed's wide layer, as VGG16 does over a real catalog."""

    def forward(self, batch, layers, bfloat16=False, int8=False):
        if "block5_pool" in layers:
            time.sleep(0.15 * len(batch))
        return super().forward(batch, layers, bfloat16, int8)


def test_a_visitor_building_the_seed_index_holds_up_nobody_else(small_catalog, tmp_path):
    engine = Engine(small_catalog, cache_dir=tmp_path, get_embedder=SlowEmbedder, index_backend="memory")
    engine.index(STYLE_KIND)
    building = threading.Thread(target=engine.index, args=(SEED_KIND,))
    building.start()
    time.sleep(0.3)
    assert building.is_alive()  # 6 photos at 0.15 s: the seed build takes 0.9 s
    started = time.perf_counter()
    results = engine.similar_to_id("1002", get_mode("balanced"), 5)
    index, _ = engine.index_with_report(STYLE_KIND)
    assert time.perf_counter() - started < 0.2 and len(results) == 5 and len(index) == 6
    building.join(10)
    assert len(engine.similar_to_id("1002", get_mode("seed"), 5)) == 5


def test_a_re_index_leaves_other_visitors_the_index_they_have(small_catalog, tmp_path):
    engine = Engine(small_catalog, cache_dir=tmp_path, get_embedder=SlowEmbedder, index_backend="memory")
    before = engine.index(SEED_KIND)
    (small_catalog / "1006.jpg").unlink()
    for n in (1150, 1151, 1152):  # new photos: the re-index embeds them, slowly
        (small_catalog / f"{n}.jpg").write_bytes((DEMO / f"{n}.jpg").read_bytes())
    rebuilding = threading.Thread(target=engine.index_with_report, args=(SEED_KIND,), kwargs={"rebuild": True})
    rebuilding.start()
    time.sleep(0.1)
    assert engine.index(SEED_KIND) is before and len(before) == 6  # still served while the new one is made
    rebuilding.join(10)
    assert len(engine.index(SEED_KIND)) == 8


def test_two_visitors_one_picks_seed_the_other_keeps_clicking(fake_model, small_catalog, tmp_path, monkeypatch):
    """Two sessions on one server: the first pick of seed builds its index (slowly); meanwhile the
    other session's clicks run as fast as when nobody builds (there was a lock every run waited on)."""
    monkeypatch.setattr("shirtsim.engine.Embedder", SlowEmbedder)
    monkeypatch.setenv("SHIRTSIM_CATALOG", str(small_catalog))
    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(tmp_path / "cache"))  # no seed vectors from other tests
    # Each AppTest run compiles the script; two at once in CPython 3.11.7 can fail in ast.parse
    # ("AST constructor recursion depth mismatch", fixed in later releases). Not what is tested here.
    from streamlit.runtime.scriptrunner import magic

    compiling, add_magic = threading.Lock(), magic.add_magic

    def one_at_a_time(*args, **kwargs):
        with compiling:
            return add_magic(*args, **kwargs)

    monkeypatch.setattr(magic, "add_magic", one_at_a_time)
    # And each AppTest run installs its own Runtime, then clears it when it ends: the other's run,
    # still going, would find none when it draws the browse grid (a component, which asks the
    # Runtime for its registry). A served page has one Runtime for all its sessions.
    from streamlit.runtime import Runtime

    seen = []

    def instance(cls):
        if cls._instance is not None:
            seen[:] = [cls._instance]
        return cls._instance or seen[0]

    monkeypatch.setattr(Runtime, "instance", classmethod(instance))
    builder, visitor = (AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run() for _ in range(2))
    pick(visitor, "1002")
    pick(builder, "1005")
    started = time.perf_counter()
    pick(visitor, "1003")
    idle = time.perf_counter() - started

    def pick_seed():
        builder.sidebar.radio(key="mode").set_value("seed").run()

    building = threading.Thread(target=pick_seed)
    building.start()
    time.sleep(0.4)
    assert building.is_alive()
    started = time.perf_counter()
    pick(visitor, "1004")
    busy = time.perf_counter() - started
    assert building.is_alive(), "the seed build ended before the visitor's click was timed"
    assert not visitor.error and len(grid_tiles(visitor, "res-grid")) == 5
    building.join(30)
    assert not builder.error and len(grid_tiles(builder, "res-grid")) == 5
    assert busy < max(2 * idle, 0.5), (idle, busy)
