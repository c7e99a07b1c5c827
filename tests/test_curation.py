"""shirtsim.feed.curation: the file's problems, pins and blocks in a list, and safe edits."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from shirtsim.feed import curation as cur
from shirtsim.feed.curation import Curation, CurationError, Entry, parse_curation

KNOWN = {"q", "a", "b", "c", "d", "p"}


def ranked(*ids: str) -> list[Entry]:
    return [Entry(i, 1.0 - n / 10) for n, i in enumerate(ids)]


def curation(text: str) -> Curation:
    return parse_curation("query_id,action,target_id,position\n" + text, "curation.csv", KNOWN)


def apply(c: Curation, entries: list[Entry], k: int = 4) -> list[tuple[str, bool]]:
    return [(e.id, e.pinned) for e in c.apply("q", entries, k, lambda t: 0.5)]


def test_problems_are_reported_once_each_with_their_lines_and_the_rest_is_used():
    c = curation(
        "q,pin,a,1\n"  # line 2
        "q,pin,zz,2\n"  # unknown id
        "q,pin,q,3\n"  # itself
        "q,pin,b,1\n"  # a second pin at 1
        "q,hide,c,\n"  # bad action
        "q,block,c,4\n"  # position on a block
        "q,pin,d,first\n"  # no position
        "*,pin,d,1\n"  # a pin for everyone
        "q,pin\n"  # short line
        "zz,block,a,\n"  # unknown id again
        "*,block,p,\n"
    )
    assert c.pins == {"q": [(1, "a")]} and c.blocks == {"*": {"p"}}
    assert c.problems == [
        "curation.csv: an id that is not in the catalog on lines 3, 11; ignored",
        "curation.csv: a shirt pinned or blocked in its own list on line 4; ignored",
        "curation.csv: two pins at one position (or one shirt pinned twice) on line 5; ignored",
        "curation.csv: an action that is neither pin nor block on line 6; ignored",
        "curation.csv: a position on a block on line 7; ignored",
        "curation.csv: a pin without a position of 1 or more on line 8; ignored",
        "curation.csv: a pin for every list (pins are per query) on line 9; ignored",
        "curation.csv: a line without the four fields on line 10; ignored",
    ]


def test_a_wrong_header_is_refused_whole():
    with pytest.raises(CurationError, match=r"^x.csv: the first line must be query_id,action,target_id,position\.$"):
        parse_curation("query,action,target\nq,pin,a,1\n", "x.csv")


def test_pins_take_their_places_marked_and_count_toward_k():
    c = curation("q,pin,p,2\n")
    assert apply(c, ranked("a", "b", "c", "d")) == [("a", False), ("p", True), ("b", False), ("c", False)]
    assert c.apply("q", ranked("a"), 4, lambda t: 0.25)[1] == Entry("p", 0.25, pinned=True)  # its real score


def test_a_pin_beyond_a_shorter_lists_end_goes_last():
    assert apply(curation("q,pin,p,4\n"), ranked("a", "b")) == [("a", False), ("b", False), ("p", True)]
    full = ranked("a", "b", "c", "d")
    assert apply(curation("q,pin,p,9\n"), full) == [("a", False), ("b", False), ("c", False), ("d", False)]
    assert apply(curation("q,pin,p,9\n"), full, k=10)[-1] == ("p", True)  # 9 is past the end of 4: last


def test_blocks_win_over_pins_and_star_blocks_every_list():
    c = curation("q,pin,p,1\nq,block,p,\n*,block,a,\n")
    assert c.pinned("q") == [] and c.blocked("q") == {"p", "a"} and c.blocked("b") == {"a"}
    assert c.blocked(None) == {"a"}


def test_edits_keep_each_others_lines_and_replace_what_they_change(tmp_path):
    path = tmp_path / "c.csv"
    cur.pin(path, "q", "a", 1)
    cur.block(path, "q", "b")
    cur.pin(path, "q", "c", 1)  # the same place: replaces a's pin
    cur.pin(path, "q", "b", 2)  # b was blocked: the pin replaces the block
    cur.block(path, "*", "d")
    assert path.read_text() == "query_id,action,target_id,position\nq,pin,c,1\nq,pin,b,2\n*,block,d,\n"
    cur.remove(path, "q", "pin", "c")
    assert cur.load_curation(path).pins == {"q": [(2, "b")]}
    assert not list(tmp_path.glob("*.part"))


def _pin_many(path: str, query: str) -> None:
    for n in range(1, 16):
        cur.pin(Path(path), query, f"t{n}", n)


def test_two_editors_saving_at_once_both_keep_their_changes(tmp_path):
    path = tmp_path / "c.csv"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_pin_many, args=(str(path), q)) for q in ("q1", "q2")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    pins = cur.load_curation(path).pins
    assert [len(pins["q1"]), len(pins["q2"])] == [15, 15]


def test_an_unreadable_file_is_left_as_it_is(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"query_id,action,target_id,position\nq,pin,\xff,1\n")
    with pytest.raises(CurationError, match=r"^c.csv: cannot read the curation file to change it"):
        cur.block(path, "q", "a")
    assert path.read_bytes() == b"query_id,action,target_id,position\nq,pin,\xff,1\n"


def test_an_upload_with_a_wrong_header_changes_nothing(tmp_path):
    path = tmp_path / "c.csv"
    cur.pin(path, "q", "a", 1)
    with pytest.raises(CurationError):
        cur.replace_all(path, "id,what\n1,2\n")
    assert cur.load_curation(path).pins == {"q": [(1, "a")]}
    replaced = cur.replace_all(path, "query_id,action,target_id,position\nq,block,b,\nq,pin,zz,1\n", KNOWN)
    assert replaced.problems == ["the uploaded file: an id that is not in the catalog on line 3; ignored"]
    # kept though unused: the shirt may come back to the catalog, and curation is work
    assert path.read_text() == "query_id,action,target_id,position\nq,block,b,\nq,pin,zz,1\n"


def test_an_upload_with_a_line_that_is_not_csv_changes_nothing(tmp_path):
    path = tmp_path / "c.csv"
    cur.block(path, "q", "a")
    before = path.read_bytes()
    broken = "query_id,action,target_id,position\nq,block,b,\nq,block," + "x" * 200_000 + ",\nq,block,d,\n"
    with pytest.raises(
        CurationError, match=r"^the uploaded file: not valid CSV; the rest of the file was ignored on line 3$"
    ):
        cur.replace_all(path, broken, KNOWN)
    assert path.read_bytes() == before


def test_a_lone_carriage_return_ends_a_line_and_loses_nothing():
    c = curation("q,block,b\rq,block,c,\r\nq,pin,a,1\n")
    assert c.blocks == {"q": {"b", "c"}} and c.pins == {"q": [(1, "a")]} and c.problems == []


@pytest.mark.parametrize("position", ["\u00b2", "\u0661", "1" * 5000, "-1", "0", "1.5", " "])
def test_a_position_that_is_not_plain_digits_is_a_problem_not_a_crash(position):
    c = curation(f"q,pin,a,{position}\nq,pin,b,2\n")
    assert c.pins == {"q": [(2, "b")]}
    assert c.problems == ["curation.csv: a pin without a position of 1 or more on line 2; ignored"]


def test_ids_are_as_written_when_the_catalog_has_them_so_else_trimmed(tmp_path):
    known = {"q", "a\u00a0", " b"}
    c = parse_curation("query_id,action,target_id,position\nq,pin,a\u00a0,1\n q , block , b ,\n", "c.csv", known)
    assert c.pins == {"q": [(1, "a\u00a0")]} and c.problems == [
        "c.csv: an id that is not in the catalog on line 3; ignored"
    ]
    path = tmp_path / "c.csv"
    cur.pin(path, "q", "a\u00a0", 1)
    cur.block(path, "q", "a\u00a0")  # replaces the pin of that same id
    assert cur.load_curation(path, known).blocks == {"q": {"a\u00a0"}} and cur.load_curation(path, known).pins == {}
    cur.remove(path, "q", "block", "a\u00a0")
    assert cur.load_curation(path, known).blocks == {}


def test_thousands_of_pins_for_one_query_are_read_in_linear_time():
    import time

    lines = "".join(f"q,pin,t{n},{n + 1}\n" for n in range(20_000))
    start = time.perf_counter()
    c = parse_curation("query_id,action,target_id,position\n" + lines, "c.csv")
    assert len(c.pins["q"]) == 20_000 and time.perf_counter() - start < 2  # quadratic took 14 s


def test_the_default_file_is_in_the_data_folder_never_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    found = cur.default_curation_path(tmp_path / "My shop")
    assert found.parent == tmp_path / "data" / "shirtsim" / "curation"
    assert found.name.startswith("My shop-") and found.suffix == ".csv"
    monkeypatch.setenv("SHIRTSIM_CURATION", str(tmp_path / "mine.csv"))
    assert cur.default_curation_path(tmp_path / "My shop") == tmp_path / "mine.csv"
