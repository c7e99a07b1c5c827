"""The engine shared by every app session: one model and one index build, however many ask at once."""

import threading
import time

from helpers import FakeEmbedder

from shirtsim.descriptors import MODES
from shirtsim.engine import Engine


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
