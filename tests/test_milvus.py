"""The Milvus backend on Milvus Lite (the real engine, embedded) and on a real Milvus server
(the ``milvus`` package's embedded standalone server, started by the tests): same results as in
memory, edits mirrored, filters escaped, the index type, an unreachable server in one line."""

import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import DEMO, ROOT, FakeEmbedder, free_port

from shirtsim.descriptors import MODES, STYLE_KIND
from shirtsim.engine import Engine, Steering
from shirtsim.errors import ShirtsimError
from shirtsim.index import fingerprint
from shirtsim.store import VectorStore, content_hash
from shirtsim.text import markdown_literal as plain

pytest.importorskip("pymilvus", reason="pip install -r requirements.txt (pymilvus, milvus-lite)")
milvus = pytest.importorskip("shirtsim.milvus")


def lite(tmp_path) -> str:
    return f"milvus:{tmp_path / 'shirts.db'}"


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A real Milvus standalone server on a free port (the ``milvus`` package, no Docker; ~8 s)."""
    embedded = pytest.importorskip("milvus", reason="pip install -r requirements-dev.txt (an embedded Milvus server)")
    server = embedded.MilvusServer()
    server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    server.listen_port = free_port()
    server.start()
    yield f"milvus:http://127.0.0.1:{server.listen_port}"
    server.stop()


@pytest.fixture(params=["lite", "server"])
def backend(request, tmp_path) -> str:
    """Each Milvus test runs on Milvus Lite (a file) and on the server (http://)."""
    return lite(tmp_path) if request.param == "lite" else request.getfixturevalue("milvus_server")


@pytest.mark.slow
def test_demo_top_10_ids_and_scores_match_the_memory_backend(demo_engine, embedder, session_cache, backend):
    engine = Engine(
        DEMO,
        weights=demo_engine.weights,
        cache_dir=session_cache,
        get_embedder=lambda w: embedder,
        index_backend=backend,
    )
    _, report = engine.index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 200 upserted, 0 deleted, 0 unchanged")
    for mode in ("balanced", "pattern", "colour"):
        for shirt_id in ("1001", "1050", "1123", "1200"):
            want = demo_engine.similar_to_id(shirt_id, MODES[mode], 10)
            got = engine.similar_to_id(shirt_id, MODES[mode], 10)
            assert [m.id for m in got] == [m.id for m in want], (mode, shirt_id)
            np.testing.assert_allclose([m.score for m in got], [m.score for m in want], atol=1e-5)
    # seed mode: 25,088-wide vectors, upserted in smaller batches, the notebook's ranking unchanged
    want = demo_engine.similar_to_id("1077", MODES["seed"], 10)
    got = engine.similar_to_id("1077", MODES["seed"], 10)
    assert [m.id for m in got] == [m.id for m in want]
    np.testing.assert_allclose([m.score for m in got], [m.score for m in want], atol=1e-5)
    photo = (DEMO / "1150.jpg").read_bytes()
    want = demo_engine.similar_to_image_bytes(photo, "1150.jpg", MODES["balanced"], 10)
    got = engine.similar_to_image_bytes(photo, "1150.jpg", MODES["balanced"], 10)
    assert [m.id for m in got] == [m.id for m in want] and got[0].id == "1150"
    # the packaged projection's learned parts are in the collection too; steering and
    # explanations read the same vectors
    assert engine.index(STYLE_KIND).layout.dim == 1020 == demo_engine.index(STYLE_KIND).layout.dim
    balanced = MODES["balanced"]
    for steer in ({"unlike": ("1005",)}, {"colour": "#1f3a93"}, {"colour_of": "1100"}):
        want = demo_engine.steered(balanced, Steering(("1001", "1002"), **steer))
        got = engine.steered(balanced, Steering(("1001", "1002"), **steer))
        assert [m.id for m in got] == [m.id for m in want], steer
        np.testing.assert_allclose([m.score for m in got], [m.score for m in want], atol=1e-5)
    assert engine.explain("1001", "1002", balanced).as_json() == demo_engine.explain("1001", "1002", balanced).as_json()
    for colour in ("#1f2a54", "#ff00ff"):  # how near the catalog comes to a colour: the same search
        assert engine.nearest_in_colour(colour) == pytest.approx(demo_engine.nearest_in_colour(colour), abs=1e-5)


def fake_engine(catalog, weights, cache_dir, backend) -> Engine:
    """An engine with the fake model on ``backend`` (memory or milvus:...)."""
    return Engine(
        catalog, weights=weights, cache_dir=cache_dir, get_embedder=lambda w: FakeEmbedder(), index_backend=backend
    )


def test_add_change_and_delete_are_mirrored_after_re_index(small_catalog, tmp_path, weights, backend):
    def engine():
        return fake_engine(small_catalog, weights, tmp_path / "c", backend)

    first, report = engine().index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 6 upserted, 0 deleted, 0 unchanged")
    (small_catalog / "new.jpg").write_bytes((DEMO / "1100.jpg").read_bytes())
    (small_catalog / "1003.jpg").write_bytes((DEMO / "1150.jpg").read_bytes())
    (small_catalog / "1005.jpg").unlink()
    second = engine()
    index, report = second.index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 2 upserted, 1 deleted, 4 unchanged")
    assert index.client.get(collection_name=index.name, ids=["1005"]) == []
    got = second.similar_to_id("new", MODES["balanced"], 10)
    assert sorted(m.id for m in got) == ["1001", "1002", "1003", "1004", "1006"]
    # 1003 now holds the new photo's vector, centred on the collection's (first) mean
    raw = VectorStore(tmp_path / "c", fingerprint(weights, STYLE_KIND)).get(
        content_hash((DEMO / "1150.jpg").read_bytes())
    )
    np.testing.assert_allclose(index.stored("1003"), index.prepare(raw), atol=1e-6)
    np.testing.assert_array_equal(index.mean, first.mean)
    again, report = engine().index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 0 upserted, 0 deleted, 6 unchanged")


HOSTILE = 'red" or id != "x'


def test_label_filters_return_only_matching_shirts_and_cannot_be_escaped(small_catalog, tmp_path, weights, backend):
    (small_catalog / "labels.csv").write_text(
        'id,colour\n1001,red\n1002,blue\n1003,red\n1004,"' + HOSTILE.replace('"', '""') + '"\n'
        "1005,back\\slash\n1006,blue\n",
        encoding="utf-8",
    )

    def engine(backend):
        return fake_engine(small_catalog, weights, tmp_path / "c", backend)

    remote, local = engine(backend), engine("memory")
    for filters, expected in (
        (["red"], {"1003"}),
        (["red", "blue"], {"1002", "1003", "1006"}),
        ([HOSTILE], {"1004"}),
        (["back\\slash"], {"1005"}),
        (["green"], set()),
    ):
        got = remote.similar_to_id("1001", MODES["balanced"], 10, {"colour": filters})
        assert {m.id for m in got} == expected, filters
        assert [m.id for m in got] == [
            m.id for m in local.similar_to_id("1001", MODES["balanced"], 10, {"colour": filters})
        ]


def test_filter_expression_quotes_every_value():
    assert milvus.filter_expression({"colour": ["red", 'a"b'], "pattern": ["x\\y"]}) == (
        '(labels["colour"] == "a\\"b" or labels["colour"] == "red") and (labels["pattern"] == "x\\\\y")'
    )
    assert milvus.filter_expression({"colour": []}) == ""


def test_bad_index_setting_is_one_clear_error():
    with pytest.raises(ShirtsimError, match="use 'memory' or 'milvus:"):
        milvus.parse_backend("redis://x")
    assert milvus.parse_backend("memory") is None and milvus.parse_backend("milvus:a.db") == "a.db"


def test_unreachable_server_cli_exits_2_with_one_line_quickly():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "shirtsim", "similar", "1001"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**__import__("os").environ, "SHIRTSIM_INDEX": f"milvus:http://127.0.0.1:{port}"},
    )
    assert out.returncode == 2
    assert out.stderr.startswith(f"shirtsim: Cannot reach Milvus at http://127.0.0.1:{port}: ")
    assert out.stderr.count("\n") == 1 and time.time() - t0 < 60


def test_app_works_unchanged_on_milvus_and_says_so(fake_model, fake_demo_engine, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    fake_demo_engine.index(STYLE_KIND)  # warm embedding cache: the app only syncs and searches
    monkeypatch.setenv("SHIRTSIM_INDEX", lite(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception and not at.error
    assert any(
        c.value.startswith(plain("Milvus shirtsim_"))
        and c.value.endswith(plain("200 upserted, 0 deleted, 0 unchanged"))
        for c in at.sidebar.caption
    )
    at.button(key="pick-1009").click().run()
    expected = fake_demo_engine.similar_to_id("1009", MODES["balanced"], 10)
    labels = sorted(
        (b.label for b in at.button if (b.key or "").startswith("res-")),
        key=lambda label: -float(label.split(" · ")[1]),
    )
    assert labels == [f"{m.id} · {m.score:.3f}" for m in expected]


def test_app_with_an_unreachable_milvus_shows_one_error(monkeypatch):
    from streamlit.testing.v1 import AppTest

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SHIRTSIM_INDEX", f"milvus:http://127.0.0.1:{port}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        plain(
            f"Cannot reach Milvus at http://127.0.0.1:{port}: Fail connecting to server on 127.0.0.1:{port}, "
            "illegal connection params or server unavailable"
        )
    ]


def test_bench_times_milvus_next_to_memory(tmp_path):
    import json

    out = subprocess.run(
        [sys.executable, "-m", "shirtsim", "bench", "--index", lite(tmp_path), "--sizes", "1000", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r["index"] == lite(tmp_path)
    memory, remote = r["query"]["1000"], r["query_index"]["1000"]
    assert (memory["method"], remote["method"]) == ("exact", "milvus")
    assert remote["recall_at_10"] == 1.0  # FLAT: the same top-10 as the exact scan
    assert 0 < remote["p50_ms"] <= remote["p99_ms"] and remote["bytes_per_item"] is None


def test_the_index_type_follows_the_collection_size_and_the_setting():
    server, file = "http://127.0.0.1:19530", "/tmp/shirts.db"
    assert milvus.index_type(server, 49_999, "auto") == "FLAT"
    assert milvus.index_type(server, 50_000, "auto") == "HNSW"
    assert milvus.index_type(server, 10, "ivf_flat") == "IVF_FLAT"
    assert milvus.index_type(file, 1_000_000, "HNSW") == "FLAT"  # Milvus Lite searches exactly anyway
    with pytest.raises(
        ShirtsimError, match=r"^SHIRTSIM_MILVUS_INDEX_TYPE='DISKANN': use auto, FLAT, HNSW, IVF_FLAT\.$"
    ):
        milvus.index_type(server, 10, "DISKANN")
    assert milvus.search_params("HNSW", 11) == {"metric_type": "IP", "params": {"ef": milvus.HNSW_EF}}
    assert milvus.search_params("HNSW", 500)["params"]["ef"] == 500
    assert milvus.index_params("IVF_FLAT", 100_000) == {"nlist": 1264}


def test_a_server_collection_is_reindexed_as_hnsw_when_asked_and_searches_the_same(
    small_catalog, tmp_path, weights, milvus_server, monkeypatch
):
    def engine():
        return fake_engine(small_catalog, weights, tmp_path / "c", milvus_server)

    local = fake_engine(small_catalog, weights, tmp_path / "c", "memory")
    want = {m: [(x.id, round(x.score, 5)) for x in local.similar_to_id("1001", MODES[m], 5)] for m in MODES}
    index, report = engine().index_with_report(STYLE_KIND)
    assert "(FLAT): 6 upserted" in report.backend
    assert index.client.describe_index(index.name, "vector")["index_type"] == "FLAT"
    monkeypatch.setenv("SHIRTSIM_MILVUS_INDEX_TYPE", "HNSW")
    second = engine()
    index, report = second.index_with_report(STYLE_KIND)
    assert "(HNSW): 0 upserted, 0 deleted, 6 unchanged" in report.backend  # the index rebuilt, no row sent again
    assert index.client.describe_index(index.name, "vector")["index_type"] == "HNSW"
    for mode in ("balanced", "pattern", "colour"):
        assert [(x.id, round(x.score, 5)) for x in second.similar_to_id("1001", MODES[mode], 5)] == want[mode]
    monkeypatch.setenv("SHIRTSIM_MILVUS_INDEX_TYPE", "bogus")
    with pytest.raises(ShirtsimError, match="SHIRTSIM_MILVUS_INDEX_TYPE='bogus'"):
        engine().index(STYLE_KIND)


def test_the_catalog_map_and_quality_are_the_same_on_milvus(small_catalog, tmp_path, weights, backend, monkeypatch):
    """The map reads every vector back from Milvus (here 4 at a time); quality ranks them in memory."""
    monkeypatch.setattr("shirtsim.milvus.VECTORS_PER_FETCH", 4)
    (small_catalog / "labels.csv").write_text(
        "id,pattern\n1001,solid\n1002,stripe\n1003,stripe\n1004,check\n1005,solid\n1006,check\n", encoding="utf-8"
    )
    local = fake_engine(small_catalog, weights, tmp_path / "c", "memory")
    remote = fake_engine(small_catalog, weights, tmp_path / "c", backend)
    assert type(remote.index(STYLE_KIND)).__name__ == "MilvusIndex"
    fetches = []
    fetch = milvus.MilvusIndex.vectors
    monkeypatch.setattr(milvus.MilvusIndex, "vectors", lambda self: fetches.append(1) or fetch(self))
    for name in ("balanced", "colour"):
        want, got = local.catalog_map(MODES[name]), remote.catalog_map(MODES[name])
        assert got.ids == want.ids == ["1001", "1002", "1003", "1004", "1005", "1006"]
        np.testing.assert_allclose(got.xy, want.xy, atol=1e-4)
        assert remote.quality(MODES[name], ["pattern"]).precision == local.quality(MODES[name], ["pattern"]).precision
    assert len(fetches) == 1  # every map and quality figure of one index reads one fetch of its vectors
    if backend.startswith("milvus:http"):
        return  # a server may still return a row just deleted (its deletes apply asynchronously)
    index = remote.index(STYLE_KIND)
    index.client.delete(collection_name=index.name, ids=["1005"])  # changed behind shirtsim's back
    with pytest.raises(ShirtsimError, match=r"Shirt '1005' is missing from Milvus collection .*; re-index\."):
        index.vectors()
