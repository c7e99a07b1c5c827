"""The mass-removal guard: a catalog folder that is suddenly empty or nearly so (a share that is
not mounted, a wrong path) never wipes the index; a person confirms first. Small edits pass."""

import shutil

import pytest
from helpers import DEMO, ROOT, FakeEmbedder, browse_tiles
from streamlit.testing.v1 import AppTest

from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.engine import Engine, get_mode
from shirtsim.errors import RemovalRefused, ShirtsimError
from shirtsim.index.removals import check_removals, refused
from shirtsim.text import markdown_literal as plain


def catalog_of(folder, count: int):
    folder.mkdir()
    for n in range(count):
        shutil.copy(DEMO / f"{1001 + n}.jpg", folder / f"{1001 + n}.jpg")
    return folder


def engine_on(catalog, cache):
    return Engine(catalog, cache_dir=cache, get_embedder=FakeEmbedder, index_backend="memory", projection="none")


def remove(catalog, ids):
    for shirt_id in ids:
        (catalog / f"{shirt_id}.jpg").unlink()


def test_the_rule_is_a_share_and_more_than_ten(monkeypatch):
    assert not refused(10, 10)  # a small catalog may lose everything: an edit, not an accident
    assert refused(11, 50) and not refused(10, 50)
    assert not refused(20, 100) and refused(21, 100)  # more than 20% by default
    monkeypatch.setenv("SHIRTSIM_REMOVAL_LIMIT", "50%")
    assert not refused(50, 100) and refused(51, 100)
    with pytest.raises(RemovalRefused) as refusal:
        check_removals(51, 100, "/shop/shirts")
    assert str(refusal.value) == (
        "51 of the 100 indexed shirts are no longer in /shop/shirts (more than 50%): nothing was removed. "
        "Check the folder (a network share that is not mounted? a wrong path?)."
    )
    check_removals(51, 100, "/shop/shirts", allow=True)
    monkeypatch.setenv("SHIRTSIM_REMOVAL_LIMIT", "lots")
    with pytest.raises(ShirtsimError, match=r"SHIRTSIM_REMOVAL_LIMIT='lots': use a percentage from 0 to 100\."):
        refused(11, 12)


def test_an_emptied_folder_keeps_every_shirt_until_a_person_confirms(tmp_path, weights):
    catalog = catalog_of(tmp_path / "shirts", 30)
    engine_on(catalog, tmp_path / "cache").index(STYLE_KIND)
    remove(catalog, range(1001, 1031))  # the share is not mounted: the folder is empty
    engine = engine_on(catalog, tmp_path / "cache")
    index, report = engine.index_with_report(STYLE_KIND)
    assert len(index) == 30 and report.withheld is not None
    assert (report.withheld.removed, report.withheld.indexed) == (30, 30)
    # the kept shirts still answer, from the vectors and pictures the cache holds
    assert len(engine.similar_to_id("1007", get_mode("balanced"), 10)) == 10
    assert engine.picture("1007") is not None
    # asked again (another start, another kind): still kept
    assert len(engine_on(catalog, tmp_path / "cache").index(STYLE_KIND)) == 30
    index, report = engine.index_with_report(STYLE_KIND, allow_removals=True)
    assert len(index) == 0 and report.withheld is None


def test_a_few_removals_pass_and_a_mass_removal_keeps_only_the_missing_ones(tmp_path):
    catalog = catalog_of(tmp_path / "shirts", 60)
    cache = tmp_path / "cache"
    engine_on(catalog, cache).index(STYLE_KIND)
    remove(catalog, range(1001, 1011))  # 10 of 60: an edit
    index, report = engine_on(catalog, cache).index_with_report(STYLE_KIND)
    assert len(index) == 50 and report.withheld is None
    remove(catalog, range(1011, 1031))  # 20 of 50 (40%)
    (catalog / "new.jpg").write_bytes((DEMO / "1100.jpg").read_bytes())
    index, report = engine_on(catalog, cache).index_with_report(STYLE_KIND)
    assert report.withheld.removed == 20 and len(index) == 51  # the new shirt is in, the missing kept
    assert "new" in index and "1015" in index and "1005" not in index
    index, report = engine_on(catalog, cache).index_with_report(STYLE_KIND, allow_removals=True)
    assert len(index) == 31 and "1015" not in index


def test_the_cli_index_refuses_with_one_line_and_similar_still_answers(fake_model, cli, tmp_path):
    catalog = catalog_of(tmp_path / "shirts", 20)
    assert cli("index", "--catalog", catalog)[0] == 0
    remove(catalog, range(1001, 1016))  # 15 of 20
    code, out, err = cli("index", "--catalog", catalog)
    assert code == 2 and err.splitlines()[-1] == (
        f"shirtsim: index: 15 of the 20 indexed shirts are no longer in {catalog} (more than 20%): nothing was "
        "removed. Check the folder (a network share that is not mounted? a wrong path?). If they really are gone, "
        "run it again with --allow-removals."
    )
    code, out, err = cli("similar", "1003", "--catalog", catalog, "--json")
    assert code == 0 and out.count('"id"') == 10
    assert err.splitlines()[-1].endswith("They stay in the index until `shirtsim index --allow-removals`.")
    code, out, err = cli("index", "--catalog", catalog, "--allow-removals")
    assert code == 0 and "5 image files" in out
    code, _, err = cli("similar", "1003", "--catalog", catalog)
    assert code == 2 and err == "shirtsim: '1003' is neither a catalog id nor an image file.\n"


def test_the_page_says_so_and_removes_them_only_when_asked(fake_model, tmp_path, monkeypatch):
    catalog = catalog_of(tmp_path / "shirts", 20)
    monkeypatch.setenv("SHIRTSIM_CATALOG", str(catalog))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.error and "20 images" in [m.value for m in at.sidebar.markdown]
    remove(catalog, range(1001, 1016))
    at.sidebar.button[0].click().run()  # Re-index
    (error,) = at.error
    assert error.value == plain(
        f"15 of the 20 indexed shirts are no longer in {catalog} (more than 20%): nothing was removed. Check the "
        "folder (a network share that is not mounted? a wrong path?). Those shirts stay in the index, and on this "
        "page, until you confirm."
    )
    assert len(browse_tiles(at)) == 20
    at.button(key="remove-missing").click().run()
    assert not at.error
    assert list(browse_tiles(at)) == [str(n) for n in range(1016, 1021)]
