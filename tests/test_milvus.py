"""The Milvus backend on Milvus Lite (the real engine, embedded) and on a real Milvus server
(the ``milvus`` package's embedded standalone server, started by the tests): same results as in
memory, edits mirrored, filters escaped, the index type, an unreachable server in one line; ids
and labels of any text, collections of an older layout repaired, the mass-removal guard, and a
file that is not a Milvus Lite database. Tests on the server are ``slow`` (it starts in ~8 s)."""

import csv
import json
import os
import shutil
import socket
import string
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
from helpers import DEMO, ROOT, FakeEmbedder, free_port, grid_tiles, pick, run
from hypothesis import given
from hypothesis import strategies as st

from shirtsim.describe.descriptors import MODES, STYLE_KIND
from shirtsim.engine import Engine, Steering
from shirtsim.errors import RemovalRefused, ShirtsimError
from shirtsim.index.build import fingerprint
from shirtsim.index.search import SearchIndex
from shirtsim.store import VectorStore, catalog_key, content_hash
from shirtsim.text import markdown_literal as plain

pytest.importorskip("pymilvus", reason="pip install -r requirements.txt (pymilvus, milvus-lite)")
pytestmark = pytest.mark.xdist_group("milvus")  # one worker: the tests share one embedded Milvus server
milvus = pytest.importorskip("shirtsim.index.milvus")
milvus_sync = pytest.importorskip("shirtsim.index.milvus_sync")


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


# Every backend test creates collections (pymilvus waits 0.5 s on each index it makes): the slow tier.
@pytest.fixture(params=[pytest.param("lite", marks=pytest.mark.slow), pytest.param("server", marks=pytest.mark.slow)])
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
    assert index.client.get(collection_name=index.name, ids=[milvus.row_key("1005")]) == []
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
    pick(at, "1009")
    expected = fake_demo_engine.similar_to_id("1009", MODES["balanced"], 10)
    assert list(grid_tiles(at, "res-grid").values()) == [f"{m.id} · {m.score:.3f}" for m in expected]


def test_app_with_an_unreachable_milvus_shows_one_error(fake_model, monkeypatch):
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


@pytest.mark.slow
def test_bench_times_milvus_next_to_memory(tmp_path):
    out = run("bench", "--index", lite(tmp_path), "--sizes", "1000", "--json")
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


@pytest.mark.slow
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
    monkeypatch.setattr("shirtsim.index.milvus.VECTORS_PER_FETCH", 4)
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
    index.client.delete(collection_name=index.name, ids=[milvus.row_key("1005")])  # changed behind shirtsim's back
    with pytest.raises(ShirtsimError, match=r"Shirt '1005' is missing from Milvus collection .*; re-index\."):
        index.vectors()


# --- ids and labels of any text -------------------------------------------------------------

# Every ASCII punctuation character a Linux file name can hold, alone and in the combinations that
# broke the quoted expressions pymilvus builds from primary keys (``id in ['...']``).
FOLDERS = ("'" + "a" * 248 + '"', "\\" + "b" * 248 + "'")  # 250 bytes each: a 509-character id below them
HOSTILE_IDS = (
    [f"p{ch}q" for ch in string.punctuation if ch != "/"]
    + ["it's", 'a"b', "back\\slash", "x' or id != '", '") or ("', 'x" or id != "', string.punctuation.replace("/", "")]
    + ["café", "日本", "👕 shirt", "/".join(FOLDERS) + "/x' or '"]
)
VICTIM = "x' or id != '"  # the old code deleted every row for this one


def hostile_catalog(root) -> list[str]:
    """A distinct demo photo under each of :data:`HOSTILE_IDS`; returns the ids."""
    for n, shirt_id in enumerate(HOSTILE_IDS):
        path = root / f"{shirt_id}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO / f"{1001 + n}.jpg", path)
    return list(HOSTILE_IDS)


def count_rows(client, name: str) -> int:
    return client.query(collection_name=name, filter="", output_fields=["count(*)"])[0]["count(*)"]


def row_count(index) -> int:
    return count_rows(index.client, index.name)


def test_hostile_ids_are_searched_stored_and_removed_one_at_a_time(tmp_path, weights, backend):
    ids = hostile_catalog(tmp_path / "catalog")
    assert max(map(len, ids)) == 509

    def engine(backend):
        return fake_engine(tmp_path / "catalog", weights, tmp_path / "c", backend)

    remote, local = engine(backend), engine("memory")
    index, report = remote.index_with_report(STYLE_KIND)
    assert report.backend.endswith(f": {len(ids)} upserted, 0 deleted, 0 unchanged")
    assert sorted(index.ids) == sorted(ids) and row_count(index) == len(ids)
    memory = local.index(STYLE_KIND)
    for shirt_id in ids:
        np.testing.assert_allclose(index.stored(shirt_id), memory.stored(shirt_id), atol=1e-6)
        got = [m.id for m in remote.similar_to_id(shirt_id, MODES["balanced"], 5)]
        assert got == [m.id for m in local.similar_to_id(shirt_id, MODES["balanced"], 5)], shirt_id
        assert len(got) == 5 and shirt_id not in got and set(got) <= set(ids)

    (tmp_path / "catalog" / f"{VICTIM}.jpg").unlink()
    second = engine(backend)
    index, report = second.index_with_report(STYLE_KIND)
    assert report.backend.endswith(f": 0 upserted, 1 deleted, {len(ids) - 1} unchanged")
    assert row_count(index) == len(ids) - 1
    assert index.client.get(collection_name=index.name, ids=[milvus.row_key(VICTIM)]) == []
    for shirt_id in ids:
        if shirt_id != VICTIM:
            np.testing.assert_allclose(index.stored(shirt_id), memory.stored(shirt_id), atol=1e-6)
            got = [m.id for m in second.similar_to_id(shirt_id, MODES["balanced"], 5)]
            assert len(got) == 5 and not {shirt_id, VICTIM} & set(got) and set(got) <= set(ids)
    _, report = engine(backend).index_with_report(STYLE_KIND)
    assert report.backend.endswith(f": 0 upserted, 0 deleted, {len(ids) - 1} unchanged")


def old_layout(client, name: str, dim: int, vectors: dict[str, np.ndarray], mean: np.ndarray) -> None:
    """Collections as shirtsim wrote them before ids were keyed by digest: primary key ``id``."""
    from pymilvus import DataType, MilvusClient

    def create(collection: str, primary: str, rows: list[dict]) -> None:
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field(primary, DataType.VARCHAR, is_primary=True, max_length=2048)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        if primary == "id":
            schema.add_field("version", DataType.VARCHAR, max_length=64)
            schema.add_field("labels", DataType.JSON)
        params = client.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="IP")
        client.create_collection(collection, schema=schema, index_params=params, consistency_level="Session")
        client.upsert(collection_name=collection, data=rows)
        client.flush(collection_name=collection)

    create(name + "_meta", "key", [{"key": "mean", "vector": np.asarray(mean, np.float32).tolist()}])
    rows = [{"id": i, "vector": np.asarray(v).tolist(), "version": "0" * 32, "labels": {}} for i, v in vectors.items()]
    create(name, "id", rows)


def primary_key(index) -> str:
    return next(f["name"] for f in index.client.describe_collection(index.name)["fields"] if f.get("is_primary"))


def test_a_collection_of_the_old_layout_is_rebuilt_by_the_next_index(small_catalog, tmp_path, weights, backend):
    def engine():
        return fake_engine(small_catalog, weights, tmp_path / "c", backend)

    local = fake_engine(small_catalog, weights, tmp_path / "c", "memory")
    index = local.index(STYLE_KIND)
    space = f"{fingerprint(weights, STYLE_KIND)}-{index.projection.id}"  # named as the engine names it
    name = milvus.collection_name(catalog_key(local.catalog.root), space)
    client = milvus.connect(milvus.parse_backend(backend))
    vectors = dict(zip(index.ids, index.vectors()))
    old_layout(client, name, index.layout.dim, {**vectors, VICTIM: vectors["1001"]}, index.mean)
    assert client.describe_collection(name)["fields"][0]["name"] == "id"

    repaired = engine()
    again, report = repaired.index_with_report(STYLE_KIND)
    assert again.name == name and report.backend.endswith(": 6 upserted, 0 deleted, 0 unchanged")
    assert primary_key(again) == "key" and row_count(again) == 6
    for shirt_id in index.ids:
        want = [(m.id, round(m.score, 5)) for m in local.similar_to_id(shirt_id, MODES["balanced"], 10)]
        assert [(m.id, round(m.score, 5)) for m in repaired.similar_to_id(shirt_id, MODES["balanced"], 10)] == want
    _, report = engine().index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 0 upserted, 0 deleted, 6 unchanged")


def test_rows_that_are_not_their_ids_are_deleted_by_key(small_catalog, tmp_path, weights, backend):
    def engine():
        return fake_engine(small_catalog, weights, tmp_path / "c", backend)

    local = fake_engine(small_catalog, weights, tmp_path / "c", "memory")
    index = engine().index(STYLE_KIND)
    vector = index.stored("1006").tolist()

    def write(*rows: tuple[str, str]) -> None:  # (key, id) rows, behind shirtsim's back
        data = [{"key": k, "id": i, "vector": vector, "version": "0" * 32, "labels": {}} for k, i in rows]
        index.client.upsert(collection_name=index.name, data=data)
        index.client.flush(collection_name=index.name)

    # 1001's row now says it is 1002; a key that is no id's digest
    write((milvus.row_key("1001"), "1002"), ("0" * 64, "ghost"))
    repaired = engine()
    index, report = repaired.index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 1 upserted, 1 deleted, 5 unchanged")  # 1001 rewritten, the ghost deleted
    assert row_count(index) == 6
    np.testing.assert_allclose(index.stored("1001"), local.index(STYLE_KIND).stored("1001"), atol=1e-6)
    for shirt_id in ("1001", "1002"):
        want = [m.id for m in local.similar_to_id(shirt_id, MODES["balanced"], 10)]
        assert [m.id for m in repaired.similar_to_id(shirt_id, MODES["balanced"], 10)] == want

    write(('x" or key != "', "ghost"))  # a key shirtsim never writes: the collection is rebuilt
    index, report = engine().index_with_report(STYLE_KIND)
    assert report.backend.endswith(": 6 upserted, 0 deleted, 0 unchanged")
    assert row_count(index) == 6


# --- the mass-removal guard -----------------------------------------------------------------------


def test_sync_refuses_to_remove_many_shirts_until_allowed(backend, monkeypatch):
    monkeypatch.delenv("SHIRTSIM_REMOVAL_LIMIT", raising=False)  # 20%
    client = milvus.connect(milvus.parse_backend(backend))
    name = f"shirtsim_guard_{uuid.uuid4().hex}"
    ids = [f"shirt '{n}\" or" for n in range(60)]
    raw = dict(zip(ids + ["new"], np.random.default_rng(0).random((61, STYLE_KIND.dim), dtype=np.float32)))

    def sync(keep: list[str], **kw):
        local = SearchIndex.build(STYLE_KIND, keep, np.stack([raw[i] for i in keep]))
        index, counts = milvus_sync.sync(client, name, local, {i: i for i in keep}, {}, raw.get, **kw)
        return counts, row_count(index)

    assert sync(ids) == ({"upserted": 60, "deleted": 0, "kept": 0}, 60)
    edited = ids[:45] + ["new"]  # 15 of 60 gone: more than 10 and more than 20%
    with pytest.raises(RemovalRefused) as refused:
        sync(edited)
    assert str(refused.value).startswith(
        f"15 of the 60 indexed shirts are no longer in the catalog folder (Milvus collection {name}) "
        "(more than 20%): nothing was removed."
    )
    assert count_rows(client, name) == 60  # nothing written either: not even the new shirt
    assert client.get(collection_name=name, ids=[milvus.row_key("new")]) == []
    assert sync(edited, allow_removals=True) == ({"upserted": 1, "deleted": 15, "kept": 45}, 46)
    assert sync(edited[:36]) == ({"upserted": 0, "deleted": 10, "kept": 36}, 36)  # 10 of 46 (22%): always allowed
    with pytest.raises(RemovalRefused, match=r"^11 of the 36 indexed shirts"):
        sync(edited[:25])
    assert count_rows(client, name) == 36


def test_rebuilding_an_old_collection_is_refused_when_the_folder_lost_many_of_its_shirts(backend, monkeypatch):
    monkeypatch.delenv("SHIRTSIM_REMOVAL_LIMIT", raising=False)  # 20%
    client = milvus.connect(milvus.parse_backend(backend))
    name = f"shirtsim_guard_{uuid.uuid4().hex}"
    ids = [f"'{n}\\" for n in range(30)]
    raw = dict(zip(ids, np.random.default_rng(0).random((30, STYLE_KIND.dim), dtype=np.float32)))
    old_layout(client, name, STYLE_KIND.dim, raw, np.zeros(STYLE_KIND.dim))
    local = SearchIndex.build(STYLE_KIND, ids[:6], np.stack([raw[i] for i in ids[:6]]))
    with pytest.raises(RemovalRefused, match=r"^24 of the 30 indexed shirts are no longer in the catalog folder"):
        milvus_sync.sync(client, name, local, {i: i for i in ids}, {}, raw.get)
    assert client.describe_collection(name)["fields"][0]["name"] == "id"  # left as it was
    index, counts = milvus_sync.sync(client, name, local, {i: i for i in ids}, {}, raw.get, allow_removals=True)
    assert (counts, row_count(index), primary_key(index)) == ({"upserted": 6, "deleted": 0, "kept": 0}, 6, "key")


# --- filter literals ----------------------------------------------------------------------------


def unquote(text: str) -> str:
    """A double-quoted Milvus string read back as Milvus Lite (the stricter reader) reads it."""
    assert text[0] == text[-1] == '"'
    out, chars = [], iter(text[1:-1])
    for ch in chars:
        assert ch not in '\n\r"', text  # a raw line break or a bare quote would end the string
        out.append({"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}[next(chars)] if ch == "\\" else ch)
    return "".join(out)


def test_literal_spells_every_punctuation_and_control_character():
    for ch in string.punctuation:
        assert milvus.literal(f"a{ch}b") == '"a' + {"\\": "\\\\", '"': '\\"'}.get(ch, ch) + 'b"', ch
    assert milvus.literal("a\tb\nc\rd") == '"a\\tb\\nc\\rd"'
    assert milvus.literal("\x00\x01\x1b\x7f\x85\u2028") == '"\x00\x01\x1b\x7f\x85\u2028"'  # as they are
    assert milvus.literal("café 日本 👕") == '"café 日本 👕"'
    assert unquote(milvus.literal('x" or id != "' + "\\" * 3)) == 'x" or id != "' + "\\" * 3


@given(st.text(max_size=200))
def test_literal_reads_back_as_the_same_text(text):
    assert unquote(milvus.literal(text)) == text


def test_a_filter_on_text_that_is_not_unicode_matches_nothing():
    with pytest.raises(ValueError):
        milvus.literal("caf\udce9")
    assert milvus.filter_expression({"colour": ["caf\udce9"]}) == milvus.NOTHING
    assert milvus.filter_expression({"colour": ["caf\udce9", "red"]}) == '(labels["colour"] == "red")'
    assert milvus.filter_expression({"caf\udce9": ["red"], "size": ["M"]}) == (
        milvus.NOTHING + ' and (labels["size"] == "M")'
    )


LABEL_VALUES = (
    [f"v{ch}w" for ch in string.punctuation]
    + ["a\tb", "ab", "a b", "a\nb", "a\rb", "a\x00b", "a\x01b", "a\x1fb", "a\x7fb", "a\x85b", "a\u2028b"]
    + ["café", "日本", "👕", "x" * 200, "x" * 199, 'red" or id != "x', "back\\slash", ") or (", "' or '"]
)
ODD_COLUMN, CONTROL_COLUMN = "we\"ird\tcol\\[x] ' or", "c\x01ol"


def test_label_filters_on_any_text_match_exactly_what_memory_matches(tmp_path, weights, backend):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    ids = [str(1001 + n) for n in range(len(LABEL_VALUES) + 1)]  # the last one is the query
    for shirt_id in ids:
        shutil.copy(DEMO / f"{shirt_id}.jpg", catalog / f"{shirt_id}.jpg")
    half = len(LABEL_VALUES) // 2  # two columns: one of more than 50 values would be no filter (catalog.labels)
    column_of = ["colour"] * half + ["pattern"] * (len(LABEL_VALUES) - half)
    with open(catalog / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "colour", "pattern", ODD_COLUMN, CONTROL_COLUMN])
        for n, (shirt_id, value) in enumerate(zip(ids, [*LABEL_VALUES, "plain"])):
            colour, pattern = (value, "") if n < half else ("", value)
            writer.writerow([shirt_id, colour, pattern, ("yes", "no", "maybe")[n % 3], ("on", "off", "auto")[n % 3]])
    remote = fake_engine(catalog, weights, tmp_path / "c", backend)
    local = fake_engine(catalog, weights, tmp_path / "c", "memory")
    query, k = ids[-1], len(ids)

    def found(engine, filters) -> list[str]:
        return [m.id for m in engine.similar_to_id(query, MODES["balanced"], k, filters)]

    for n, (column, value) in enumerate(zip(column_of, LABEL_VALUES)):
        assert found(remote, {column: [value]}) == found(local, {column: [value]}) == [ids[n]], repr(value)
    pair = {"pattern": ["a\tb", "ab"], ODD_COLUMN: ["yes"]}  # ab's shirt says yes, a<tab>b's maybe
    assert found(remote, pair) == found(local, pair) == [ids[LABEL_VALUES.index("ab")]]
    assert found(remote, {ODD_COLUMN: ["maybe"]}) == found(local, {ODD_COLUMN: ["maybe"]}) != []
    # Documented limit: a server compares JSON keys as JSON spells them (\u0001), which Milvus Lite rejects
    want = [] if backend.startswith("milvus:http") else found(local, {CONTROL_COLUMN: ["on"]})
    assert found(remote, {CONTROL_COLUMN: ["on"]}) == want and found(local, {CONTROL_COLUMN: ["on"]}) != []


# --- a file that is not a Milvus Lite database ---------------------------------------------------


def not_a_database(path, what: str) -> str:
    return (
        f"{path} is not a Milvus Lite database (it is {what}; Milvus Lite keeps a database in a folder of its own): "
        "point SHIRTSIM_INDEX at a new name ending in .db."
    )


@pytest.mark.parametrize(
    ("content", "what"), [(b"not a database\n", "a file"), (b"", "an empty file")], ids=["text", "empty"]
)
def test_a_file_that_is_not_a_milvus_lite_database_is_one_line_and_exit_2(tmp_path, content, what):
    path = tmp_path / "notadb.db"
    path.write_bytes(content)
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "shirtsim", "index", "--catalog", str(DEMO)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "SHIRTSIM_INDEX": f"milvus:{path}", "SHIRTSIM_WEIGHTS": "packaged"},
    )
    assert (out.returncode, out.stdout, out.stderr) == (2, "", f"shirtsim: {not_a_database(path, what)}\n")
    assert path.read_bytes() == content and time.time() - t0 < 60


def test_connect_refuses_what_milvus_lite_would_break_or_scribble_in(tmp_path):
    photo = tmp_path / "photo.db"
    photo.write_bytes((DEMO / "1001.jpg").read_bytes())
    with pytest.raises(milvus.IndexBackendError) as e:
        milvus.connect(str(photo))
    assert str(e.value) == not_a_database(photo, "a file")
    folder = tmp_path / "notes.db"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(milvus.IndexBackendError) as e:
        milvus.connect(str(folder))
    assert str(e.value) == not_a_database(folder, "a folder of other files")
    assert os.listdir(folder) == ["notes.txt"]  # nothing written into it
    empty = tmp_path / "new.db"
    empty.mkdir()  # an empty folder becomes a database, and is one from then on
    assert milvus.connect(str(empty)).list_collections() == []
    assert milvus.LITE_FILES <= set(os.listdir(empty))


def test_the_export_on_milvus_equals_the_export_in_memory(tmp_path, weights, backend):
    """Every product's list under rules and curation: the same ids, order, pins and scores."""
    from shirtsim.feed.curation import parse_curation
    from shirtsim.feed.export import export
    from shirtsim.feed.rules import parse_rules

    rules = parse_rules(same=["style"], one_per=["colour"])
    curation = parse_curation(
        "query_id,action,target_id,position\n1001,pin,1002,2\n1001,block,1120,\n*,block,1184,\n", "curation.csv"
    )
    # A copy of the demo: its own collection, never one a real-model test left on the shared server
    # (the fake model's vectors carry the real weights' fingerprint).
    catalog = shutil.copytree(DEMO, tmp_path / "demo")
    written = {}
    for name, where in (("memory", "memory"), ("milvus", backend)):
        engine = fake_engine(catalog, weights, tmp_path / "c", where)
        engine.index(MODES["balanced"].kind)
        out = tmp_path / f"{name}.jsonl"
        summary = export(engine.list_maker(MODES["balanced"], 8, rules, curation), "jsonl", out)
        assert summary.products == 200
        written[name] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in written["milvus"]] == [row["id"] for row in written["memory"]]
    for remote, local in zip(written["milvus"], written["memory"]):
        assert [e["id"] for e in remote["similar"]] == [e["id"] for e in local["similar"]], local["id"]
        assert [e["pinned"] for e in remote["similar"]] == [e["pinned"] for e in local["similar"]]
        assert [e["score"] for e in remote["similar"]] == pytest.approx(
            [e["score"] for e in local["similar"]], abs=1e-5
        )
    first = written["milvus"][0]
    assert first["id"] == "1001" and first["similar"][1] == {**first["similar"][1], "id": "1002", "pinned": True}
    assert all(e["id"] != "1184" for row in written["milvus"] for e in row["similar"])
