import json
import os
import sys

import pytest

from shirtsim.catalog.folder import MAX_ID_LEN, Skipped, discover
from shirtsim.errors import CatalogError
from shirtsim.text import printable


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


# --- names that are not valid UTF-8, control characters, collisions ---------------------------


# Linux allows any byte but "/" and NUL in a name, and paths up to PATH_MAX (4,096) bytes.
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="Linux file-name rules")


def touch_bytes(folder, rel: bytes, data=b"x"):
    """Create ``folder/rel`` where ``rel`` is raw bytes (any byte but / and NUL, as Linux allows)."""
    path = os.fsencode(folder) + b"/" + rel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def test_printable_escapes_undecodable_bytes_and_control_characters_only():
    assert printable(os.fsdecode(b"caf\xe9\xff")) == "caf%E9%FF"  # what os.walk gives for those bytes
    assert printable("two\nlines\ttab\x00nul\x7fdel\x1b[31m") == "two%0Alines%09tab%00nul%7Fdel%1B[31m"
    assert printable("\ud800 and \udc00") == "%ED%A0%80 and %ED%B0%80"  # lone surrogates outside DC80..DCFF
    for text in ["chemise à carreaux", "100%", "caf%E9", "日本/シャツ", "", "a\u00a0b"]:
        assert printable(text) == text
    for text in [os.fsdecode(bytes(range(1, 256)).replace(b"/", b"")), "\udcff\ud83d\n"]:
        shown = printable(text)
        assert printable(shown) == shown  # stable
        shown.encode("utf-8")  # never raises
        assert json.loads(json.dumps(shown, ensure_ascii=False)) == shown


@linux_only
def test_names_that_are_not_utf8_get_printable_ids_and_still_open(tmp_path):
    touch_bytes(tmp_path, b"caf\xe9.jpg", b"latin-1 name")
    touch_bytes(tmp_path, b"m\xe4nner/1.jpg", b"folder too")
    touch_bytes(tmp_path, b"two\nlines.png", b"newline")
    touch_bytes(tmp_path, b"\xff.jpg", b"")  # empty: skipped, and its name still printable
    cat = discover(tmp_path)
    assert cat.ids == ["caf%E9", "m%E4nner/1", "two%0Alines"]
    item = cat.get("caf%E9")
    assert item.rel == "caf\udce9.jpg"  # the real name, so the file can be opened
    assert os.stat(item.path).st_size == 12 and item.path.read_bytes() == b"latin-1 name"
    assert cat.get("m%E4nner/1").path.read_bytes() == b"folder too"
    assert cat.get("two%0Alines").path.read_bytes() == b"newline"
    assert [(s.name, s.reason) for s in cat.skipped] == [("%FF.jpg", "empty file")]
    # What the CLI prints and --json writes: valid UTF-8 without escapes.
    json.dumps(cat.ids, ensure_ascii=False).encode("utf-8")
    "\n".join(cat.ids + [s.name for s in cat.skipped]).encode("utf-8")


@linux_only
def test_a_printable_id_that_collides_is_skipped_as_a_duplicate(tmp_path):
    touch_bytes(tmp_path, b"caf\xe9.jpg", b"undecodable")
    touch(tmp_path / "caf%E9.jpg", b"literal")
    cat = discover(tmp_path)
    assert cat.ids == ["caf%E9"]
    assert cat.get("caf%E9").rel == "caf%E9.jpg"  # names sort by code point: '%' before the escaped byte
    assert [(s.name, s.reason) for s in cat.skipped] == [
        (
            "caf%E9.jpg",
            "duplicate id 'caf%E9' (kept caf%E9.jpg; ids show undecodable bytes and control characters as %XX)",
        )
    ]


def test_skipped_names_and_reasons_are_always_printable():
    # build_index passes Item.rel and OS error texts, which may hold undecodable bytes.
    s = Skipped("m\udce4nner/caf\udce9.jpg", "cannot decode (caf\udce9.jpg: truncated\n)")
    assert (s.name, s.reason) == ("m%E4nner/caf%E9.jpg", "cannot decode (caf%E9.jpg: truncated%0A)")


# --- long ids and paths the OS refuses ---------------------------------------------------------


@linux_only
def test_ids_longer_than_the_limit_are_skipped_with_the_reason(tmp_path):
    assert MAX_ID_LEN == 512
    a, b = "a" * 200, "b" * 200
    touch(tmp_path / a / b / ("c" * 110 + ".jpg"))  # id of exactly 512 characters: kept
    touch(tmp_path / a / b / ("d" * 111 + ".jpg"))  # 513
    touch_bytes(tmp_path, b"\xff" * 171 + b".png")  # 171 bytes on disk, 513 characters as %FF%FF...
    cat = discover(tmp_path)
    assert cat.ids == [f"{a}/{b}/{'c' * 110}"]
    reason = "id is 513 characters long; the limit is 512 (shorten the file or folder names)"
    assert [(s.name, s.reason) for s in cat.skipped] == [
        ("%FF" * 171 + ".png", reason),
        (f"{a}/{b}/{'d' * 111}.jpg", reason),
    ]


def test_folders_too_deep_for_any_id_are_skipped_without_listing_them(tmp_path):
    a, b = "a" * 250, "b" * 250
    touch(tmp_path / a / b / ("c" * 8) / "1.jpg")  # folder path 510 characters: "1" fits
    touch(tmp_path / a / b / ("d" * 9) / "1.jpg")  # 511: the shortest id below it is 513
    cat = discover(tmp_path)
    assert cat.ids == [f"{a}/{b}/{'c' * 8}/1"]
    assert [(s.name, s.reason) for s in cat.skipped] == [
        (
            f"{a}/{b}/{'d' * 9}/",
            "folder path is 511 characters long; every id below it would be over the limit of 512 "
            "(shorten the folder names)",
        )
    ]


@linux_only
def test_paths_the_os_refuses_as_too_long_are_skipped_not_fatal(tmp_path):
    # A catalog folder whose own path is 4,085 bytes: one more level passes Linux's PATH_MAX (4,096).
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    root = str(tmp_path)
    levels = -(-(4085 - len(root)) // 201)  # "/" and up to 200 characters per level
    lengths = [(4085 - len(root)) // levels - 1] * levels
    lengths[0] += (4085 - len(root)) % levels
    for n in lengths:  # relative to an open folder, as the entries below it are too long as full paths
        os.mkdir("p" * n, dir_fd=fd)
        new = os.open("p" * n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, root = new, root + "/" + "p" * n
    assert len(root) == 4085
    try:
        for name in ["1.jpg", "longer-name.jpg"]:  # 4,091 and 4,101 bytes as full paths
            with open(os.open(name, os.O_WRONLY | os.O_CREAT, dir_fd=fd), "wb") as f:
                f.write(b"x")
        os.mkdir("s" * 10, dir_fd=fd)  # 4,096 bytes: cannot be listed
    finally:
        os.close(fd)
    cat = discover(root)
    assert cat.ids == ["1"]
    assert sorted((s.name, s.reason) for s in cat.skipped) == [
        ("longer-name.jpg", "cannot read (File name too long)"),
        ("ssssssssss/", "folder cannot be listed (File name too long)"),
    ]


def test_folders_that_cannot_be_listed_are_skipped_with_the_reason(tmp_path, monkeypatch):
    touch(tmp_path / "open" / "1.jpg")
    touch(tmp_path / "locked" / "2.jpg")
    real_scandir = os.scandir
    locked = {"locked"}

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) in locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # what os.walk calls: root could read it anyway
    cat = discover(tmp_path)
    assert cat.ids == ["open/1"]
    assert [(s.name, s.reason) for s in cat.skipped] == [("locked/", "folder cannot be listed (Permission denied)")]
    locked.add(tmp_path.name)  # the catalog folder itself: an empty catalog, and the reason
    cat = discover(tmp_path)
    assert cat.ids == []
    assert [(s.name, s.reason) for s in cat.skipped] == [("./", "folder cannot be listed (Permission denied)")]


# --- labels.csv written by other tools ----------------------------------------------------------


def write_labels(tmp_path, text: str | bytes):
    path = tmp_path / "labels.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path
