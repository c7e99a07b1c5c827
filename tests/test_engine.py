"""The engine shared by every app session: one model and one index build, however many ask at once."""

import io
import shutil
import threading
import time

import pytest
from helpers import FakeEmbedder
from PIL import Image

from shirtsim.descriptors import MODES
from shirtsim.engine import Engine, get_mode
from shirtsim.errors import BadImageError, ShirtsimError
from shirtsim.thumbnails import PREVIEW


def test_many_sessions_asking_at_once_load_the_model_once(small_catalog, tmp_path, weights):
    loads = []

    def slow_model(w):
        loads.append(w)
        time.sleep(0.3)  # a real load takes seconds: every other session arrives meanwhile
        return FakeEmbedder()

    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=slow_model)
    got = []
    threads = [threading.Thread(target=lambda: got.append(engine.embedder)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len(got) == 12 and all(e is got[0] for e in got)


def test_concurrent_first_queries_build_the_index_once(small_catalog, tmp_path, weights):
    fakes = []

    def model(w):
        fakes.append(FakeEmbedder())
        return fakes[-1]

    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=model)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append([m.id for m in engine.similar_to_id("1001", MODES["balanced"], 3)])
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fakes) == 1 and fakes[0].images == 6  # six images embedded once, not once per session
    assert len(results) == 8 and all(r == results[0] for r in results) and "1001" not in results[0]


def test_pictures_come_from_the_cache_and_survive_a_deleted_file(small_catalog, tmp_path, weights):
    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=FakeEmbedder)
    engine.index(MODES["balanced"].kind)  # indexing makes the pictures
    made = sorted(p.name for p in (tmp_path / "c" / "v1" / "thumbs").rglob("*.jpg"))
    assert len(made) == 12  # six images, two sizes
    (small_catalog / "1002.jpg").unlink()
    tile = engine.picture("1002")
    assert Image.open(io.BytesIO(tile)).size == (200, 250) and engine.stale == {}  # demo files are 200x250
    assert engine.picture("1002", PREVIEW) == engine.thumbnails.get(engine._contents["1002"], PREVIEW)
    assert not engine.file_present("1002") and engine.stale == {"1002": "its file is missing or unreadable"}


def test_a_picture_missing_from_the_cache_is_made_on_first_use_or_is_none(small_catalog, tmp_path, weights):
    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=FakeEmbedder)
    engine.index(MODES["balanced"].kind)
    shutil.rmtree(tmp_path / "c" / "v1" / "thumbs")
    assert Image.open(io.BytesIO(engine.picture("1001"))).size == (200, 250)  # made again from the file
    (small_catalog / "1003.jpg").write_bytes((small_catalog / "1004.jpg").read_bytes())  # replaced
    (small_catalog / "1005.jpg").unlink()
    assert engine.picture("1003") == engine.picture("1004") and engine.picture("1005") is None
    assert engine.stale == {"1003": "its file changed", "1005": "its file is missing or unreadable"}
    engine.index(MODES["balanced"].kind, rebuild=True)
    assert engine.stale == {} and "1005" not in engine.index(MODES["balanced"].kind)


def test_the_model_warms_up_in_the_background_once(small_catalog, tmp_path, weights):
    loads = []

    def slow_model(w):
        loads.append(w)
        time.sleep(0.3)
        return FakeEmbedder()

    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=slow_model)
    for _ in range(5):
        engine.warm_up_in_background(MODES["balanced"].kind)  # every rerun asks; one thread runs
    got = engine.embedder  # an upload arriving meanwhile waits for that load instead of starting another
    engine._warm_up.join(5)
    assert len(loads) == 1 and got is engine.embedder and got.images == 1  # one warm-up image through the network


def test_at_most_two_uploads_are_decoded_and_embedded_at_once(small_catalog, tmp_path, weights):
    active, most = [0], [0]
    lock = threading.Lock()

    class SlowFake(FakeEmbedder):
        def forward(self, batch, layers, bfloat16=False):
            with lock:
                active[0] += 1
                most[0] = max(most[0], active[0])
            time.sleep(0.1)
            with lock:
                active[0] -= 1
            return super().forward(batch, layers, bfloat16)

    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=lambda w: SlowFake())
    photo = (small_catalog / "1001.jpg").read_bytes()
    threads = [
        threading.Thread(target=engine.read_upload, args=(photo, "p.jpg", MODES["balanced"].kind)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2


def test_asking_for_the_warm_up_again_never_waits_for_the_load(small_catalog, tmp_path, weights):
    def slow_model(w):
        time.sleep(1.0)
        return FakeEmbedder()

    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=slow_model)
    engine.warm_up_in_background(MODES["balanced"].kind)
    time.sleep(0.2)  # the load is under way, holding the model lock
    t0 = time.perf_counter()
    engine.warm_up_in_background(MODES["balanced"].kind)  # every page run asks again
    assert time.perf_counter() - t0 < 0.1
    engine._warm_up.join(5)


def test_why_for_a_shirt_whose_file_vanished_says_so_and_the_explanation_still_works(small_catalog, tmp_path, weights):
    engine = Engine(
        small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=FakeEmbedder, projection="none"
    )
    mode = get_mode("balanced")
    jpegs = engine.texture_heat_maps("1001", "1002", mode)
    assert [Image.open(io.BytesIO(j)).size for j in jpegs] == [(512, 512), (512, 512)]
    (small_catalog / "1002.jpg").unlink()
    with pytest.raises(BadImageError, match=r"^1002\.jpg: cannot read file \("):
        engine.texture_heat_maps("1001", "1002", mode)
    # the parts and palettes come from the index and the cached pictures, not the file
    explanation = engine.explain("1001", "1002", mode)
    assert [p.name for p in explanation.parts] == ["texture", "colour"] and explanation.result_colours
    with pytest.raises(ShirtsimError, match="Mode seed has no texture part to show"):
        engine.texture_heat_maps("1001", "1002", get_mode("seed"))
