import json
import os
import sys

import pytest

from shirtsim import catalog
from shirtsim.catalog import MAX_ID_LEN, MAX_LABEL_LEN, Skipped, discover, find_labels, load_labels, printable
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
        "labels.csv: wrong number of columns on line 3 (the header has 3); ignored",
    ]


def test_labels_without_an_id_column_are_refused(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("name,pattern\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="first column must be 'id'"):
        load_labels(csv)


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


@linux_only
def test_labels_name_ids_in_their_printable_form(tmp_path):
    touch_bytes(tmp_path, b"caf\xe9.jpg")
    (tmp_path / "labels.csv").write_text("id,colour\ncaf%E9,red\n", encoding="utf-8")
    labels = find_labels(discover(tmp_path))
    assert labels.rows == {"caf%E9": {"colour": "red"}} and labels.problems == []


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


def test_column_names_are_trimmed_named_and_deduplicated(tmp_path):
    path = write_labels(tmp_path, b"\xef\xbb\xbf ID ,Pattern, colour ,,Colour,PATTERN \n1,stripe,red,x,RED,STRIPE\n")
    labels = load_labels(path)
    assert labels.columns == ["Pattern", "colour", "column 4"]
    assert labels.rows == {"1": {"Pattern": "stripe", "colour": "red", "column 4": "x"}}
    assert labels.problems == [
        "labels.csv line 1: column 4 has no name; shown as 'column 4'",
        "labels.csv line 1: column 'Colour' repeats 'colour', column 'PATTERN' repeats 'Pattern'; ignored",
    ]
    labels = load_labels(write_labels(tmp_path, "id,colour,Colour,,,ID\n1,red,blue,,,2\n"))
    assert labels.columns == ["colour", "column 4", "column 5"]
    assert labels.rows == {"1": {"colour": "red", "column 4": "", "column 5": ""}}
    assert labels.problems == [
        "labels.csv line 1: columns 4, 5 have no name; shown as 'column 4', 'column 5'",
        "labels.csv line 1: column 'Colour' repeats 'colour', column 'ID' repeats 'id'; ignored",
    ]


def test_repeated_ids_rows_of_the_wrong_length_and_rows_without_id_are_reported_once(tmp_path):
    path = write_labels(
        tmp_path,
        "id,pattern,colour\n"  # 1
        "1,stripe,red\n"  # 2
        '2,"check\n'  # 3
        'with a newline",blue\n'  # 4: one record over two lines
        "1,solid,green\n"  # 5: repeated
        "3,dots\n"  # 6: too short
        "\n"  # 7: blank, ignored silently
        "2,solid,red\r\n"  # 8: repeated
        "3,dots,red,extra\n"  # 9: too long
        ",plain,blue\n"  # 10: no id
        ",,\n"  # 11: an empty spreadsheet row, ignored silently
        "4,plain,blue\n",  # 12: not in the catalog
    )
    labels = load_labels(path, {"1", "2", "3"})
    assert labels.rows == {
        "1": {"pattern": "stripe", "colour": "red"},
        "2": {"pattern": "check\nwith a newline", "colour": "blue"},
    }
    assert labels.problems == [
        "labels.csv: 1 row(s) name ids that are not in the catalog; ignored.",
        "labels.csv: wrong number of columns on lines 6, 9 (the header has 3); ignored",
        "labels.csv: no id on line 10; ignored",
        "labels.csv: id repeated on lines 5, 8 (first kept); ignored",
    ]


def test_many_line_numbers_are_counted_not_all_listed(tmp_path):
    path = write_labels(tmp_path, "id,a\n" + "".join(f"7,{n}\n" for n in range(9)))
    labels = load_labels(path)
    assert labels.rows == {"7": {"a": "0"}}
    assert labels.problems == ["labels.csv: id repeated on 8 lines (3, 4, 5, 6, 7, …) (first kept); ignored"]


def test_an_unterminated_quote_keeps_the_rows_before_it(tmp_path):
    path = write_labels(tmp_path, 'id,pattern\n1,stripe\n2,"check\n3,dots\n4,solid\n')
    labels = load_labels(path)
    assert labels.rows == {"1": {"pattern": "stripe"}}
    assert labels.problems == ["labels.csv line 3: unterminated quote (or bad CSV); the rest of the file was ignored"]
    path = write_labels(tmp_path, 'id,pattern\n1,"multi\nline"\n2,"check"ed\n3,dots\n')
    labels = load_labels(path)
    assert labels.rows == {"1": {"pattern": "multi\nline"}}
    assert labels.problems == ["labels.csv line 4: unterminated quote (or bad CSV); the rest of the file was ignored"]
    with pytest.raises(CatalogError, match=r"^labels.csv line 1: the header is not valid CSV"):
        load_labels(write_labels(tmp_path, 'id,"pattern\n1,stripe\n'))


def test_a_file_that_is_not_utf8_is_read_with_replacement_characters(tmp_path):
    path = write_labels(tmp_path, b"id,colour\n1,caf\xe9\n2,r\xc3\xa9d\n3,\xef\xbf\xbd\n")
    labels = load_labels(path)
    assert labels.rows == {"1": {"colour": "caf\ufffd"}, "2": {"colour": "réd"}, "3": {"colour": "\ufffd"}}
    assert labels.problems == ["labels.csv is not UTF-8: undecodable bytes are shown as \ufffd"]
    labels = load_labels(write_labels(tmp_path, "id,colour\n1,\ufffd\n"))  # a real U+FFFD is not a problem
    assert labels.rows == {"1": {"colour": "\ufffd"}} and labels.problems == []


def test_label_values_stay_text_cut_to_the_limit(tmp_path):
    long = "x" * (MAX_LABEL_LEN + 50)
    path = write_labels(tmp_path, f'id,{long}\n a ,"<script>alert(1)</script>"\nb,  {long}  \n')
    labels = load_labels(path, {" a ", "b"})  # an id with spaces matches as written, else trimmed
    column = "x" * MAX_LABEL_LEN
    assert labels.columns == [column]
    assert labels.rows == {" a ": {column: "<script>alert(1)</script>"}, "b": {column: "x" * MAX_LABEL_LEN}}
    assert labels.problems == []


def test_rows_past_the_limit_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "MAX_LABEL_ROWS", 2)
    labels = load_labels(write_labels(tmp_path, "id,a\n1,x\n2,y\n3,z\n"))
    assert labels.rows == {"1": {"a": "x"}, "2": {"a": "y"}}
    assert labels.problems == ["labels.csv line 4: more than 2 rows; the rest of the file was ignored"]
