import os
import stat

import numpy as np
import pytest

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
    import shirtsim.store

    old = os.umask(umask)
    shirtsim.store._umask.cache_clear()
    try:
        write_matrix(tmp_path / "m.vec", np.ones((1, 3), np.float32))
    finally:
        os.umask(old)
        shirtsim.store._umask.cache_clear()
    assert stat.S_IMODE((tmp_path / "m.vec").stat().st_mode) == mode
