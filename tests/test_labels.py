"""labels.csv written by any tool: validated, problems reported once with line numbers, kept
column by column so that a wide product feed stays cheap."""

import os
import sys

import pytest

from shirtsim.catalog import labels as labels_module
from shirtsim.catalog.folder import discover
from shirtsim.catalog.labels import MAX_LABEL_LEN, find_labels, load_labels
from shirtsim.errors import CatalogError

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="Linux file-name rules")


def write_labels(tmp_path, text: str | bytes):
    path = tmp_path / "labels.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def touch_bytes(folder, rel: bytes, data=b"x"):
    path = os.fsencode(folder) + b"/" + rel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


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


@linux_only
def test_labels_name_ids_in_their_printable_form(tmp_path):
    touch_bytes(tmp_path, b"caf\xe9.jpg")
    (tmp_path / "labels.csv").write_text("id,colour\ncaf%E9,red\n", encoding="utf-8")
    labels = find_labels(discover(tmp_path))
    assert labels.rows == {"caf%E9": {"colour": "red"}} and labels.problems == []


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
    monkeypatch.setattr(labels_module, "MAX_LABEL_ROWS", 2)
    labels = load_labels(write_labels(tmp_path, "id,a\n1,x\n2,y\n3,z\n"))
    assert labels.rows == {"1": {"a": "x"}, "2": {"a": "y"}}
    assert labels.problems == ["labels.csv line 4: more than 2 rows; the rest of the file was ignored"]


def test_a_value_over_the_csv_field_limit_is_reported_with_its_line_and_the_rest_is_read(tmp_path):
    huge = "x" * 200_000  # over csv's field limit (131,072 characters)
    path = write_labels(tmp_path, f'id,colour\n1,red\n2,{huge}\n3,"{huge}"\n4,blue\n')
    labels = load_labels(path)
    assert labels.rows == {"1": {"colour": "red"}, "4": {"colour": "blue"}}
    assert labels.problems == ["labels.csv: a value longer than 131072 characters on lines 3, 4; that row is ignored"]


def wide_feed(tmp_path, columns: int, rows: int):
    """A product feed: an id, a few filterable columns, and many more that are not (free text,
    numbers, ids), as exported by shop systems."""
    header = ["id", "colour", "in_stock", "brand"] + [f"attr_{n}" for n in range(columns - 4)]
    lines = [",".join(header)]
    for r in range(rows):
        fixed = [str(r), ("red", "blue", "navy")[r % 3], ("yes", "no")[r % 2], f"brand{r % 40}"]
        lines.append(",".join(fixed + [f"v{(r * 7 + n) % 997}" for n in range(columns - 4)]))
    return write_labels(tmp_path, "\n".join(lines) + "\n")


def test_a_2000_column_feed_costs_about_its_file_size(tmp_path):
    import tracemalloc

    path = wide_feed(tmp_path, 2000, 400)
    tracemalloc.start()
    labels = load_labels(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A dict per row took about 70 MB for this 4 MB file (800,000 entries, a string each). Now: the
    # records (the file's size) and, while reading, each column's first 51 values (about 10 MB).
    assert peak < 25e6, f"{peak / 1e6:.1f} MB for a {path.stat().st_size / 1e6:.1f} MB file"
    assert len(labels) == 400 and len(labels.columns) == 1999
    assert labels.value("5", "colour") == "navy" and labels.value("5", "attr_3") == f"v{(5 * 7 + 3) % 997}"
    assert labels.row("4")["in_stock"] == "yes" and labels.rows["4"]["brand"] == "brand4"
    # Only the columns that can serve as a filter or a chart: 2 to 50 distinct values.
    assert labels.usable_columns() == ["colour", "in_stock", "brand"]
    assert labels.distinct("brand") == 40 and labels.distinct("attr_0") == 400  # 400 rows, 997 possible values


def test_matching_ors_values_of_a_column_and_ands_columns():
    from shirtsim.catalog.labels import Labels

    labels = Labels(
        ["colour", "size"],
        {"a": {"colour": "red", "size": "M"}, "b": {"colour": "blue", "size": "M"}, "c": {"colour": "red", "size": ""}},
    )
    ids = ["a", "b", "c", "unlabelled"]
    assert labels.matching(ids, {"colour": ["red", "blue"]}).tolist() == [True, True, True, False]
    assert labels.matching(ids, {"colour": ["red"], "size": ["M"]}).tolist() == [True, False, False, False]
    assert labels.matching(ids, {"size": [""]}).tolist() == [False] * 4  # an empty value is no label
    assert labels.matching(ids, {"nope": ["x"]}).tolist() == [False] * 4
    assert labels.usable_columns() == ["colour"]  # size has one value
