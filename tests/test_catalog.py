import os

import pytest

from shirtsim.catalog import discover, load_labels
from shirtsim.errors import CatalogError


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_ids_are_relative_paths_without_extension_in_natural_order(tmp_path):
    for name in ["10.jpg", "2.png", "men/1015.jpeg", "chemise à carreaux.webp", "notes.txt", ".hidden.jpg"]:
        touch(tmp_path / name)
    cat = discover(tmp_path)
    assert cat.ids == ["2", "10", "chemise à carreaux", "men/1015"]
    assert cat.get("men/1015").path == tmp_path / "men" / "1015.jpeg"


def test_empty_files_and_duplicate_ids_are_skipped_with_reasons(tmp_path):
    touch(tmp_path / "a.jpg")
    touch(tmp_path / "a.png")
    touch(tmp_path / "empty.jpg", b"")
    cat = discover(tmp_path)
    assert cat.ids == ["a"]
    assert {(s.name, s.reason) for s in cat.skipped} == {
        ("a.png", "duplicate id 'a' (kept a.jpg)"),
        ("empty.jpg", "empty file"),
    }


def test_symlink_loops_and_dangling_links_do_not_break_discovery(tmp_path):
    touch(tmp_path / "sub" / "x.jpg")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    os.symlink(tmp_path / "missing.jpg", tmp_path / "dangling.jpg")
    cat = discover(tmp_path)
    assert cat.ids == ["sub/x"]
    assert [s.name for s in cat.skipped] == ["dangling.jpg"]


def test_missing_catalog_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="Catalog folder not found"):
        discover(tmp_path / "nope")


def test_labels_are_validated_against_the_catalog(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("id,pattern,colour\n1,stripe,<b>red</b>\n2,check\n../../etc/passwd,solid,blue\n", encoding="utf-8")
    labels = load_labels(csv, {"1", "2"})
    assert labels.columns == ["pattern", "colour"]
    assert labels.rows == {"1": {"pattern": "stripe", "colour": "<b>red</b>"}}  # kept as text, shown as text
    assert labels.problems == [
        "labels.csv: 1 row(s) name ids that are not in the catalog; ignored.",
        "labels.csv: 1 row(s) have the wrong number of columns; ignored.",
    ]


def test_labels_without_an_id_column_are_refused(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("name,pattern\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="first column must be 'id'"):
        load_labels(csv)
