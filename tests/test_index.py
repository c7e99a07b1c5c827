import shutil

import numpy as np
from helpers import DEMO, FakeEmbedder

from shirtsim.catalog.folder import discover
from shirtsim.describe.descriptors import MODES, SEED_KIND, STYLE_KIND, TEXTURE_DIM
from shirtsim.index.build import build_index
from shirtsim.index.search import SearchIndex


def build(catalog_dir, cache, weights, fake, kind=STYLE_KIND):
    return build_index(discover(catalog_dir), kind, weights, lambda: fake, cache)


def test_first_build_embeds_everything_then_nothing(small_catalog, tmp_path, weights):
    fake = FakeEmbedder()
    index, report = build(small_catalog, tmp_path / "c", weights, fake)
    assert (report.embedded, report.reused, fake.images) == (6, 0, 6)
    assert index.ids == ["1001", "1002", "1003", "1004", "1005", "1006"]
    again = FakeEmbedder()
    index2, report2 = build(small_catalog, tmp_path / "c", weights, again)
    assert (report2.embedded, report2.reused, again.calls) == (0, 6, 0)
    np.testing.assert_array_equal(index2.matrix, index.matrix)


def test_changing_adding_and_removing_one_file_re_embeds_only_that_file(small_catalog, tmp_path, weights):
    build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    shutil.copy(DEMO / "1100.jpg", small_catalog / "1003.jpg")  # changed content, same id
    shutil.copy(DEMO / "1101.jpg", small_catalog / "new.jpg")
    (small_catalog / "1005.jpg").unlink()
    fake = FakeEmbedder()
    index, report = build(small_catalog, tmp_path / "c", weights, fake)
    assert (report.embedded, report.reused, fake.images) == (2, 4, 2)
    assert index.ids == ["1001", "1002", "1003", "1004", "1006", "new"]


def test_renamed_file_is_not_re_embedded(small_catalog, tmp_path, weights):
    build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    (small_catalog / "1002.jpg").rename(small_catalog / "renamed.jpg")
    fake = FakeEmbedder()
    index, report = build(small_catalog, tmp_path / "c", weights, fake)
    assert fake.images == 0 and "renamed" in index.ids


def test_unreadable_files_are_skipped_and_listed(small_catalog, tmp_path, weights):
    (small_catalog / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (small_catalog / "notes.png").write_text("not an image")
    index, report = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    assert "broken" not in index.ids and len(index) == 6
    assert sorted((s.name, s.reason.split(" (")[0]) for s in report.skipped) == [
        ("broken.jpg", "the image data is truncated or corrupt"),
        ("notes.png", "this is a text file, not a JPEG, PNG or WebP image."),
    ]


def test_damaged_cache_entry_is_reported_and_rebuilt(small_catalog, tmp_path, weights):
    build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    for pack in (tmp_path / "c").rglob("packs/*.vec"):
        pack.unlink()
    entry = sorted(p for p in (tmp_path / "c").rglob("*.vec"))[0]
    entry.write_bytes(entry.read_bytes()[:40])
    fake = FakeEmbedder()
    index, report = build(small_catalog, tmp_path / "c", weights, fake)
    assert fake.images == 1 and report.embedded == 1 and len(index) == 6
    assert len(report.problems) == 1 and "damaged" in report.problems[0]


def test_seed_and_style_vectors_are_cached_separately(small_catalog, tmp_path, weights):
    build(small_catalog, tmp_path / "c", weights, FakeEmbedder(), STYLE_KIND)
    fake = FakeEmbedder()
    index, report = build(small_catalog, tmp_path / "c", weights, fake, SEED_KIND)
    assert report.embedded == 6 and index.matrix.shape == (6, 25088)


def test_catalog_folder_is_never_written(small_catalog, tmp_path, weights):
    small_catalog.chmod(0o555)
    try:
        before = sorted(p.name for p in small_catalog.iterdir())
        index, _ = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
        assert sorted(p.name for p in small_catalog.iterdir()) == before and len(index) == 6
    finally:
        small_catalog.chmod(0o755)


def test_large_catalogs_get_an_approximate_index_built_once_and_rebuilt_when_damaged(
    small_catalog, tmp_path, weights, monkeypatch
):
    monkeypatch.setattr("shirtsim.index.approx.APPROX_MIN_ITEMS", 5)
    index, report = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    assert index.approx is not None and index.approx.ntotal == 6
    ivf = next((tmp_path / "c").rglob("packs/*.ivf"))
    written = ivf.stat().st_mtime_ns
    again, report = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    assert again.approx.ntotal == 6 and ivf.stat().st_mtime_ns == written and report.problems == []
    q = again.stored("1001")
    assert [m.id for m in again.search(q, MODES["balanced"], 3, exclude="1001")] == [
        m.id
        for m in SearchIndex(STYLE_KIND, again.ids, again.matrix, again.mean).search(
            q, MODES["balanced"], 3, exclude="1001"
        )
    ]
    ivf.write_bytes(ivf.read_bytes()[:-7])
    third, report = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    assert third.approx.ntotal == 6 and "index file was damaged" in report.problems[0]


def test_small_catalogs_are_searched_exactly(small_catalog, tmp_path, weights):
    index, _ = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    assert index.approx is None and not list((tmp_path / "c").rglob("*.ivf"))


def test_a_warm_start_maps_the_prepared_index_instead_of_recomputing_it(small_catalog, tmp_path, weights):
    index, _ = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    again, _ = build(small_catalog, tmp_path / "c", weights, FakeEmbedder())
    assert isinstance(again.matrix, np.memmap) and not again.matrix.flags.writeable
    np.testing.assert_array_equal(again.mean, index.mean)
    np.testing.assert_allclose(np.linalg.norm(again.matrix[:, :TEXTURE_DIM], axis=1), 1.0, rtol=1e-5)


def test_files_replaced_or_deleted_while_indexing(small_catalog, tmp_path, weights, monkeypatch):
    """The catalog was listed, then, while hashing, 1003 is replaced and 1005 deleted."""
    import shirtsim.index.build as index_module
    from shirtsim.store import VectorStore, content_hash

    catalog = discover(small_catalog)
    real_read = index_module.read_limited
    new_content = (DEMO / "1100.jpg").read_bytes()

    def read_then_edit(path, *args):
        data = real_read(path, *args)
        if path.name == "1003.jpg" and data != new_content:  # someone saves a new photo under the same name
            (small_catalog / "1003.jpg").write_bytes(new_content)
            (small_catalog / "1005.jpg").unlink()
        return data

    monkeypatch.setattr(index_module, "read_limited", read_then_edit)
    index, report = build_index(catalog, STYLE_KIND, weights, lambda: FakeEmbedder(), tmp_path / "c")
    assert index.ids == ["1001", "1002", "1003", "1004", "1006"]
    assert [(s.name, s.reason) for s in report.skipped] == [
        ("1005.jpg", "cannot read file (No such file or directory).")
    ]
    # 1003's vector is stored under the content that was really embedded, the new photo's
    from shirtsim.index.build import fingerprint

    store = VectorStore(tmp_path / "c", fingerprint(weights, STYLE_KIND))
    assert store.get(content_hash(new_content)) is not None
    monkeypatch.undo()
    again = FakeEmbedder()
    index2, report2 = build(small_catalog, tmp_path / "c", weights, again)
    assert (again.images, report2.reused, index2.ids) == (0, 5, index.ids)
