"""shirtsim.feed.workspace: a catalog's curation and default rules, re-read when their files change."""

from __future__ import annotations

import os

from shirtsim.feed.rules import parse_rules
from shirtsim.feed.workspace import Workspace


class Catalog:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids


CATALOG = Catalog(["a", "b", "c"])


def test_curation_and_rules_are_read_again_only_when_their_files_change(tmp_path):
    space = Workspace(tmp_path / "shop", tmp_path / "data" / "c.csv")
    assert space.curation(CATALOG).pins == {} and space.default_rules() == (parse_rules(), None)
    assert space.curation_csv() == b"query_id,action,target_id,position\n"
    space.pin("a", "b", 1)
    first = space.curation(CATALOG)
    assert first.pins == {"a": [(1, "b")]} and space.curation(CATALOG) is first  # unchanged file: no re-read
    space.block("*", "c")
    assert space.curation(CATALOG).blocks == {"*": {"c"}}
    rules = parse_rules(["colour=red"], ["group"], ["model"], ["price=10"])
    space.save_default_rules(rules)
    assert space.default_rules() == (rules, None)
    assert space.rules_path == tmp_path / "data" / "c.rules.json"


def test_a_broken_rules_file_is_reported_and_ignored(tmp_path):
    space = Workspace(tmp_path, tmp_path / "c.csv")
    space.rules_path.write_text('{"same": 3}')
    rules, problem = space.default_rules()
    assert not rules and problem.startswith("c.rules.json: not a rules file (")
    space.rules_path.write_text("x" * 70_000)
    os.utime(space.rules_path, ns=(1, 1))
    assert space.default_rules() == (
        parse_rules(),
        "c.rules.json: larger than a rules file can be; the default rules are not used.",
    )


def test_a_new_catalog_checks_the_curation_again(tmp_path):
    space = Workspace(tmp_path, tmp_path / "c.csv")
    space.pin("a", "new", 1)
    assert space.curation(CATALOG).pins == {} and space.curation(CATALOG).problems
    assert space.curation(Catalog(["a", "new"])).pins == {"a": [(1, "new")]}  # re-indexed: the shirt arrived
