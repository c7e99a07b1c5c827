"""The engine shared by every app session: one model and one index build, however many ask at once."""

import io
import shutil
import threading
import time

import numpy as np
import pytest
from helpers import FakeEmbedder
from PIL import Image

from shirtsim.catalog.thumbnails import PREVIEW
from shirtsim.describe.descriptors import MODES
from shirtsim.engine import Engine, get_mode
from shirtsim.errors import BadImageError, ShirtsimError


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
    assert engine.picture("1002", PREVIEW) == engine.pictures.thumbnails.get(engine.pictures.contents["1002"], PREVIEW)
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
    engine.model.join_warm_up(5)
    assert len(loads) == 1 and got is engine.embedder and got.images == 1  # one warm-up image through the network


def test_at_most_two_uploads_are_decoded_and_embedded_at_once(small_catalog, tmp_path, weights):
    active, most = [0], [0]
    lock = threading.Lock()

    class SlowFake(FakeEmbedder):
        def forward(self, batch, layers, bfloat16=False, int8=False):
            with lock:
                active[0] += 1
                most[0] = max(most[0], active[0])
            time.sleep(0.1)
            with lock:
                active[0] -= 1
            return super().forward(batch, layers, bfloat16, int8)

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
    engine.model.join_warm_up(5)


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


def _scene_with(photo: Image.Image, at=(260, 140), size=(700, 560), colour=(60, 150, 80)) -> Image.Image:
    """A demo photo (its light backdrop made transparent) pasted on a plain coloured scene."""
    rgb = photo.convert("RGB")
    light = Image.eval(rgb.convert("L"), lambda v: 0 if v > 225 else 255)
    img = Image.new("RGB", size, colour)
    img.paste(rgb, at, light)
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_an_upload_is_searched_in_its_proposed_box_with_the_background_white(small_catalog, tmp_path, weights):
    from shirtsim.catalog.crop import background, cut_out, propose_box

    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=FakeEmbedder)
    kind = MODES["balanced"].kind
    scene = _scene_with(Image.open(small_catalog / "1001.jpg"))
    upload = engine.read_upload(_png(scene), "scene.png", kind, "auto")
    assert upload.box == upload.proposed == propose_box(scene)
    x0, y0, x1, y1 = upload.box  # around the pasted 200 x 250 photo at (260, 140) of 700 x 560
    assert 0.33 < x0 < 260 / 700 + 0.02 and x1 > 460 / 700 - 0.05 and 0.2 < y0 < 0.3 and 0.6 < y1 < 0.75
    # what is embedded is the cut-out, exactly; the whole scene embeds otherwise
    cut = cut_out(scene, upload.box, background(scene))
    assert (upload.pixels == np.asarray(cut.resize((224, 224), Image.NEAREST))).all()
    assert (upload.vector == engine.read_upload(_png(cut), "cut.png", kind).vector).all()
    whole = engine.read_upload(_png(scene), "scene.png", kind)
    assert whole.box is None and whole.proposed is None and not (whole.vector == upload.vector).all()
    # a box of one's own, and the preview always the whole photo
    mine = engine.read_upload(_png(scene), "scene.png", kind, (0.3, 0.2, 0.7, 0.8))
    assert mine.box == (0.3, 0.2, 0.7, 0.8) and mine.proposed == upload.proposed
    assert Image.open(io.BytesIO(mine.preview)).size == (PREVIEW, round(PREVIEW * 560 / 700))


def test_a_photo_on_a_studio_backdrop_is_searched_as_it_is(small_catalog, tmp_path, weights):
    engine = Engine(small_catalog, weights=weights, cache_dir=tmp_path / "c", get_embedder=FakeEmbedder)
    kind = MODES["balanced"].kind
    photo = (small_catalog / "1001.jpg").read_bytes()
    upload = engine.read_upload(photo, "p.jpg", kind, "auto")
    assert upload.box is None and upload.proposed is not None
    assert (upload.vector == engine.read_upload(photo, "p.jpg", kind).vector).all()
