"""shirtsim.feed.export: every product's list in JSON lines or CSV, written whole, and compared."""

from __future__ import annotations

import json
import stat

import pytest
from helpers import LABELS, circle

from shirtsim.describe.descriptors import MODES
from shirtsim.errors import ShirtsimError
from shirtsim.feed.curation import parse_curation
from shirtsim.feed.export import export, read_export
from shirtsim.feed.lists import ListMaker, Request


def maker(k: int = 2, curation: str = "") -> ListMaker:
    cur = parse_curation("query_id,action,target_id,position\n" + curation, "c.csv")
    return ListMaker(circle(), LABELS, MODES["seed"], k, None, cur)


def test_jsonl_has_one_line_per_product_equal_to_its_own_list(tmp_path):
    out = tmp_path / "feed.jsonl"
    made = maker(curation="q,pin,g,2\n")
    summary = export(made, "jsonl", out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [item["id"] for item in lines] == list("qabcdefg")
    assert lines[0]["similar"][0]["id"] == "a" and lines[0]["similar"][1] == {
        "id": "g",
        "score": round(made.score(Request(made.index.stored("q"), "q"), "g"), 6),
        "pinned": True,
    }
    for item in lines:
        alone = made.make([Request(made.index.stored(item["id"]), item["id"])])[0]
        assert item["similar"] == [e.as_json() for e in alone.entries]
    assert (summary.products, summary.short) == (8, 0)


def test_csv_has_a_row_per_pair_with_rank_and_pinned(tmp_path):
    out = tmp_path / "feed.csv"
    export(maker(curation="a,pin,g,1\n"), "csv", out)
    rows = out.read_text().splitlines()
    assert rows[0] == "id,rank,similar_id,score,pinned"
    assert rows[1:3] == ["q,1,a,0.996195,false", "q,2,b,0.984808,false"]
    assert rows[3].startswith("a,1,g,") and rows[3].endswith(",true")
    assert len(rows) == 1 + 8 * 2


def test_diff_counts_changed_lists_and_pairs_added_and_removed(tmp_path):
    old = tmp_path / "old.jsonl"
    export(maker(), "jsonl", old)
    summary = export(maker(curation="q,block,a,\n*,block,g,\n"), "csv", tmp_path / "new.csv", old=read_export(old))
    # q: a -> c; f: (e, g) -> (e, d); every other list is unchanged
    assert (summary.changed, summary.added, summary.removed) == (2, 2, 2)
    assert read_export(tmp_path / "new.csv")["q"] == ["b", "c"]


def test_an_interrupted_export_leaves_no_file_and_the_old_one_as_it_was(tmp_path, monkeypatch):
    out = tmp_path / "feed.jsonl"
    out.write_text("yesterday's\n")

    def fail(*_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(maker(), "jsonl", out, progress=fail)
    assert out.read_text() == "yesterday's\n" and sorted(p.name for p in tmp_path.iterdir()) == ["feed.jsonl"]


def test_a_file_that_is_no_export_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "old.jsonl"
    bad.write_text('{"id": "q", "similar": []}\nnot json\n')
    with pytest.raises(
        ShirtsimError, match=r"^--diff .*old.jsonl line 2: neither an export's JSON line nor its CSV\.$"
    ):
        read_export(bad)
    with pytest.raises(ShirtsimError, match=r"^--format 'xml': use jsonl or csv\.$"):
        export(maker(), "xml", tmp_path / "x")


def test_an_export_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    """A feed another user (a web server) reads stays readable: mkstemp alone would make it 0600."""
    out = tmp_path / "feed.jsonl"
    out.write_text("old\n")
    out.chmod(0o644)
    export(maker(), "jsonl", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644 and out.read_text() != "old\n"
