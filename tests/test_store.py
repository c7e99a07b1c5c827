import errno
import os
import stat

import numpy as np
import pytest
from helpers import browse_tiles, grid_tiles, pick

from shirtsim.store import HEADER, CorruptFile, VectorStore, read_matrix, write_matrix


def test_round_trip_and_memory_map(tmp_path):
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_matrix(tmp_path / "m.vec", m)
    np.testing.assert_array_equal(read_matrix(tmp_path / "m.vec"), m)
    np.testing.assert_array_equal(read_matrix(tmp_path / "m.vec", mmap=True), m)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[: len(b) - 3], "size does not match"),
        (lambda b: b[:10], "truncated header"),
        (lambda b: b[: HEADER.size] + bytes([b[HEADER.size] ^ 1]) + b[HEADER.size + 1 :], "checksum mismatch"),
        (lambda b: b"\x80\x04\x95" + b[3:], "not a shirtsim vector file"),  # a pickle header: never unpickled
    ],
)
def test_damaged_files_are_detected(tmp_path, damage, message):
    path = tmp_path / "m.vec"
    write_matrix(path, np.ones((2, 5), np.float32))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptFile, match=message):
        read_matrix(path)


def test_store_reports_and_forgets_a_damaged_entry(tmp_path):
    store = VectorStore(tmp_path, "fp")
    store.put("ab" * 32, np.ones(8, np.float32))
    np.testing.assert_array_equal(store.get("ab" * 32), np.ones(8))
    path = next((tmp_path / "v1" / "fp").rglob("*.vec"))
    path.write_bytes(path.read_bytes()[:-1])
    assert store.get("ab" * 32) is None
    assert "was damaged" in store.problems[0]


def test_a_pack_is_only_used_for_the_exact_contents_it_was_written_for(tmp_path):
    store = VectorStore(tmp_path, "fp")
    store.write_pack("cat", ["h1", "h2"], np.ones((2, 3), np.float32))
    assert store.read_pack("cat", ["h1", "h2"]).shape == (2, 3)
    assert store.read_pack("cat", ["h2", "h1"]) is None
    store.write_pack("cat", ["h1"], np.ones((1, 3), np.float32))
    assert store.read_pack("cat", ["h1", "h2"]) is None  # older pack replaced
    assert len(list((tmp_path / "v1" / "fp" / "packs").iterdir())) == 1


def test_blob_round_trip_and_damage_detection(tmp_path):
    from shirtsim.store import read_blob, write_blob

    path = tmp_path / "x.ivf"
    write_blob(path, b"index bytes")
    assert read_blob(path) == b"index bytes"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(CorruptFile, match="truncated or damaged"):
        read_blob(path)
    write_matrix(path, np.ones((1, 2), np.float32))  # a vector file is not an index file
    with pytest.raises(CorruptFile, match="not a shirtsim index file"):
        read_blob(path)


def test_pack_blobs_follow_their_pack_and_go_with_it(tmp_path):
    store = VectorStore(tmp_path, "fp")
    store.write_pack("cat", ["h1"], np.ones((1, 3), np.float32))
    store.write_pack_blob("cat", ["h1"], ".ivf", b"abc")
    assert store.read_pack_blob("cat", ["h1"], ".ivf") == b"abc"
    assert store.read_pack_blob("cat", ["h2"], ".ivf") is None and store.problems == []
    store.write_pack("cat", ["h2"], np.ones((1, 3), np.float32))  # new contents: the old blob is dropped
    assert sorted(p.suffix for p in (tmp_path / "v1" / "fp" / "packs").iterdir()) == [".vec"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_cache_files_get_ordinary_permissions_from_the_umask(tmp_path, umask, mode):
    """A cache built by one user must be readable by an app run by another (mkstemp alone gives 0600)."""
    import shirtsim.outputs

    old = os.umask(umask)
    shirtsim.outputs._umask.cache_clear()
    try:
        write_matrix(tmp_path / "m.vec", np.ones((1, 3), np.float32))
    finally:
        os.umask(old)
        shirtsim.outputs._umask.cache_clear()
    assert stat.S_IMODE((tmp_path / "m.vec").stat().st_mode) == mode


def read_only(monkeypatch, code=errno.EROFS):
    """Every new file in any cache fails as on a read-only mount (as root, chmod cannot do it)."""
    import shirtsim.outputs

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(shirtsim.outputs.tempfile, "mkstemp", refuse)


def test_a_cache_that_cannot_be_written_is_remembered_once_and_the_caller_goes_on(tmp_path, monkeypatch):
    from shirtsim.store import cache_problem, writes_required

    cache = tmp_path / "cache"
    store = VectorStore(cache, "fp")
    store.put("ab" * 32, np.ones(3, np.float32))
    read_only(monkeypatch)
    store.put("cd" * 32, np.ones(3, np.float32))  # no exception: the vector stays in the caller's memory
    store.write_pack("cat", ["cd" * 32], np.ones((2, 3), np.float32))
    problem = cache_problem(cache)
    assert problem is not None and problem.errno == errno.EROFS
    assert store.get("ab" * 32) is not None and store.get("cd" * 32) is None  # what it held, it serves
    assert cache_problem(tmp_path / "other") is None
    with pytest.raises(OSError), writes_required():  # `shirtsim index`: its job is to write
        store.put("ef" * 32, np.ones(3, np.float32))


def test_a_read_only_cache_serves_the_page_and_embeds_the_rest_in_memory(
    fake_model, small_catalog, tmp_path, monkeypatch
):
    from helpers import DEMO, ROOT
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(tmp_path / "ahead"))
    monkeypatch.setenv("SHIRTSIM_CATALOG", str(small_catalog))
    from shirtsim.cli.main import main

    assert main(["index"]) == 0  # the cache built ahead of time, then mounted read-only
    (small_catalog / "new.jpg").write_bytes((DEMO / "1150.jpg").read_bytes())  # not in it
    read_only(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.error and not at.exception
    (warning,) = [w.value for w in at.sidebar.warning]
    assert "cannot be written \\(the file system is read\\-only\\)" in warning
    assert "Point SHIRTSIM\\_CACHE\\_DIR at a writable folder\\." in warning
    assert sorted(browse_tiles(at)) == ["1001", "1002", "1003", "1004", "1005", "1006", "new"]
    pick(at, "new")
    assert not at.error and len(grid_tiles(at, "res-grid")) == 6
    assert not list((tmp_path / "ahead").rglob("*new*"))


def test_similar_answers_from_a_read_only_cache_and_says_so_once(fake_model, cli, small_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("SHIRTSIM_CACHE_DIR", str(tmp_path / "ahead"))
    assert cli("index", "--catalog", small_catalog)[0] == 0
    (small_catalog / "new.jpg").write_bytes(b"".join([(small_catalog / "1001.jpg").read_bytes()[:-2], b"\xff\xd9"]))
    read_only(monkeypatch)
    code, out, err = cli("similar", "1002", "--catalog", small_catalog, "--json")
    assert code == 0 and out.count('"id"') == 6
    notes = [line for line in err.splitlines() if "cannot be written" in line]
    assert notes == [
        f"note: The cache folder {tmp_path / 'ahead'} cannot be written (the file system is read-only): new vectors "
        "and pictures are kept in memory only, and made again after a restart. Point SHIRTSIM_CACHE_DIR at a "
        "writable folder."
    ]
