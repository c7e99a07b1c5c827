"""``similar`` with rules and curation, and ``export``: same flags, same lists; errors in one line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import DEMO

RULES = ["--same", "style", "--one-per", "colour"]


@pytest.fixture
def demo_labels() -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in csv.DictReader((DEMO / "labels.csv").open(encoding="utf-8"))}


@pytest.fixture
def curation_file(tmp_path):
    path = tmp_path / "curation.csv"
    path.write_text(
        "query_id,action,target_id,position\n1001,pin,1002,2\n1001,block,1120,\n*,block,1184,\n1003,pin,1003,1\n"
    )
    return path


def test_every_exported_list_equals_similar_with_the_same_flags(fake_indexed, cli, tmp_path, curation_file):
    out = tmp_path / "feed.jsonl"
    code, _, err = cli("export", "-k", "6", *RULES, "--curation", curation_file, "--out", out)
    assert code == 0
    assert "note: curation.csv: a shirt pinned or blocked in its own list on line 5; ignored" in err
    assert "exported 200 lists of up to 6 (balanced) to " in err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 200
    for item in lines[:40] + lines[-10:]:
        code, alone, _ = cli("similar", item["id"], "-k", "6", *RULES, "--curation", curation_file, "--json")
        assert code == 0 and json.loads(alone) == item["similar"], item["id"]
    first = lines[0]["similar"]
    assert first[1]["id"] == "1002" and first[1]["pinned"] and isinstance(first[1]["score"], float)
    assert all(e["id"] not in ("1184",) for item in lines for e in item["similar"])
    assert "1120" not in [e["id"] for e in first]


def test_every_row_of_an_export_keeps_the_rules(fake_indexed, cli, tmp_path, demo_labels):
    code, out, _ = cli("export", "-k", "8", *RULES, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and set(rows[0]) == {"id", "rank", "similar_id", "score", "pinned"}
    by_query: dict[str, list[str]] = {}
    for row in rows:
        by_query.setdefault(row["id"], []).append(row["similar_id"])
        assert demo_labels[row["similar_id"]]["style"] == demo_labels[row["id"]]["style"]
    for query, found in by_query.items():
        colours = [demo_labels[i]["colour"] for i in found]
        assert len(colours) == len(set(colours)) and demo_labels[query]["colour"] not in colours
        assert [int(r["rank"]) for r in rows if r["id"] == query] == list(range(1, len(found) + 1))


def test_similar_marks_pins_and_says_when_the_rules_leave_fewer(fake_indexed, cli, curation_file):
    code, out, err = cli("similar", "1001", "-k", "3", "--curation", curation_file)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[1].split()[1] == "1002" and lines[1].endswith("pinned")
    code, out, err = cli("similar", "1001", "-k", "50", "--same", "colour", "--json")
    found = json.loads(out)
    assert code == 0 and 0 < len(found) < 50
    assert err.endswith(f"note: {len(found)} of 50: the rules (--same colour) leave no more.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["similar", "1001", "--same", "sleeve"], "--same: no label column 'sleeve'; labels.csv has 'style', "),
        (["export", "--one-per", "sleeve"], "--one-per: no label column 'sleeve'; labels.csv has 'style', "),
        (["export", "--near", "price=cheap"], "--near 'price=cheap': write COLUMN=PCT, a percentage such as price=10."),
        (["similar", "1001", "--curation", "nowhere.csv"], "--curation nowhere.csv: no such file."),
        (["export", "--format", "xml"], "export: argument --format: invalid choice: 'xml'"),
    ],
)
def test_bad_rules_and_files_exit_2_with_one_line(fake_indexed, cli, args, message):
    code, out, err = cli(*args)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert message in err and err.startswith("shirtsim: ")


def test_an_export_never_replaces_a_file_without_force_and_diffs_an_old_one(fake_indexed, cli, tmp_path):
    out = tmp_path / "feed.csv"
    out.write_text("yesterday's\n")
    code, _, err = cli("export", "--out", out)
    assert (code, out.read_text()) == (2, "yesterday's\n")
    assert err == f"shirtsim: {out} exists: pass --force to replace it.\n"
    code, _, err = cli("export", "--diff", out)
    assert code == 2 and "line 1: neither an export's JSON line nor its CSV." in err
    assert cli("export", "-k", "4", "--out", out, "--force")[0] == 0
    assert out.read_text().startswith("id,rank,similar_id,score,pinned\n")  # csv from the suffix
    block = tmp_path / "c.csv"
    block.write_text("query_id,action,target_id,position\n*,block,1002,\n")
    code, _, err = cli("export", "-k", "4", "--curation", block, "--diff", out, "--out", tmp_path / "new.jsonl")
    pairs_with_1002 = sum(line.split(",")[2] == "1002" for line in out.read_text().splitlines()[1:])
    assert code == 0 and pairs_with_1002 > 0
    assert f"{pairs_with_1002:,} pairs added, {pairs_with_1002:,} removed" in err.splitlines()[-1]
    assert err.splitlines()[-1].startswith(f"since {out}: {pairs_with_1002:,} lists changed; ")


def test_rules_that_leave_nothing_exit_0_with_empty_lists_and_a_note(fake_indexed, cli):
    code, out, err = cli("export", "--filter", "colour=ultraviolet")
    assert code == 0 and all(json.loads(line)["similar"] == [] for line in out.splitlines())
    assert "note: 200 lists are shorter than 10: the rules (--filter colour=ultraviolet) leave fewer shirts." in err
