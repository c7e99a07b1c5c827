"""The page for visitors and editors (AppTest, fake model): the password, pins and blocks on the
tiles, the sidebar's rules, and the Curation page."""

from __future__ import annotations

import csv

import pytest
from helpers import DEMO, ROOT, grid_tiles
from streamlit.testing.v1 import AppTest

from shirtsim.engine import get_mode
from shirtsim.feed.curation import parse_curation
from shirtsim.feed.rules import parse_rules
from shirtsim.text import markdown_literal as plain
from shirtsim.web.editing import pair_key

CURATION_PAGE = "shirtsim/web/pages/curation.py"
LABELS = {row["id"]: row for row in csv.DictReader((DEMO / "labels.csv").open(encoding="utf-8"))}


@pytest.fixture
def page(fake_model, fake_demo_engine, tmp_path, monkeypatch):
    """The demo indexed with the fake model, a curation file of this test's own, no waiting on
    wrong passwords."""
    fake_demo_engine.index(get_mode("balanced").kind)
    monkeypatch.setenv("SHIRTSIM_CURATION", str(tmp_path / "curation.csv"))
    monkeypatch.setattr("shirtsim.feed.access.time.sleep", lambda seconds: None)
    return tmp_path / "curation.csv"


def opened(shirt: str = "1001", tools: bool = True, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"shirt": shirt, **params})
    at.run()
    if tools:
        at.toggle(key="tools").set_value(True).run()
    assert not at.exception
    return at


def results(at: AppTest) -> list[str]:
    """The result ids in rank order: the grid's (steering tools off), else the buttons' (laid out
    row by row over five columns)."""
    if tiles := grid_tiles(at, "res-grid"):
        return list(tiles)
    keys = [b.key.removeprefix("res-") for b in at.button if (b.key or "").startswith("res-")]
    columns = min(5, len(keys))
    ranks = [r for c in range(columns) for r in range(c, len(keys), 5)]
    return [k for _, k in sorted(zip(ranks, keys))]


def sign_in(at: AppTest, password: str) -> None:
    at.text_input(key="editor-password").input(password)  # sent with the form's submit
    next(b for b in at.sidebar.button if b.label == "Sign in as an editor").click().run()


def curation_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if (b.key or "").startswith(("pin-", "block-", "unpin-"))]


def test_without_a_password_anyone_edits_and_the_sidebar_says_so(page, fake_demo_engine):
    at = opened()
    assert any("Anyone can edit here" in c.value for c in at.sidebar.caption)
    assert [b.label for b in at.sidebar.button] == ["Re-index catalog"]
    before = results(at)
    at.button(key=f"pin-res-{before[4]}").click().run()  # pinned where it is: place 5
    at.button(key=f"block-res-{before[0]}").click().run()
    after = results(at)
    assert before[0] not in after and after[4] == before[4] and len(after) == 10
    assert [c.value for c in at.caption if "pinned" in c.value] == [":material/push_pin: pinned"]
    saved = parse_curation(page.read_text(), "c")
    assert saved.pins == {"1001": [(5, before[4])]} and saved.blocks == {"1001": {before[0]}}
    assert results(opened()) == after  # another visit: the same list, from the file
    at.button(key=f"unpin-res-{before[4]}").click().run()
    assert parse_curation(page.read_text(), "c").pins == {}


def test_a_visitor_sees_the_curation_and_no_tools(page, monkeypatch):
    monkeypatch.setenv("SHIRTSIM_EDITOR_PASSWORD", "s3cret")
    page.write_text("query_id,action,target_id,position\n1001,pin,1200,1\n*,block,1120,\n")
    at = opened()
    assert results(at)[0] == "1200" and "1120" not in results(at)
    assert curation_buttons(at) == [] and "Re-index catalog" not in [b.label for b in at.sidebar.button]
    assert at.text_input(key="editor-password").label == "Editor password"


def test_a_wrong_password_changes_nothing_and_the_right_one_shows_the_tools(page, monkeypatch):
    monkeypatch.setenv("SHIRTSIM_EDITOR_PASSWORD", "s3cret")
    at = opened(password="s3cret", editor="1")  # never from the URL
    assert curation_buttons(at) == []
    sign_in(at, "s3cre")
    assert [e.value for e in at.sidebar.error] == ["That is not the editor password."]
    assert curation_buttons(at) == []
    sign_in(at, "s3cret")
    assert not at.sidebar.error and "Re-index catalog" in [b.label for b in at.sidebar.button]
    assert len(curation_buttons(at)) == 20  # pin and block on each of ten tiles
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert curation_buttons(at) == []


def test_the_sidebars_rules_shape_every_visitors_results(page):
    at = opened(tools=False)
    at.multiselect(key="rule-same").set_value(["colour"]).run()
    at.multiselect(key="rule-one-per").set_value(["pattern"]).run()
    found = results(at)
    assert found and all(LABELS[i]["colour"] == LABELS["1001"]["colour"] for i in found)
    patterns = [LABELS[i]["pattern"] for i in found]
    assert len(set(patterns)) == len(patterns) and LABELS["1001"]["pattern"] not in patterns


def test_the_curation_page_lists_removes_and_sets_the_default_rules(page):
    page.write_text("query_id,action,target_id,position\n1001,pin,1200,1\n*,block,1120,\n1001,pin,nope,2\n")
    at = opened(tools=False)
    at.switch_page(CURATION_PAGE).run()
    assert not at.exception and [h.value for h in at.subheader][:2] == ["Pins (1)", "Blocks (1)"]
    assert plain("curation.csv: an id that is not in the catalog on line 4; ignored") == at.warning[0].value
    at.button(key=f"remove-block-{pair_key('*', '1120')}").click().run()
    assert "*,block,1120" not in page.read_text()
    at.multiselect(key="defaults-same").set_value(["style"]).run()
    at.button(key="save-defaults").click().run()
    assert page.with_suffix(".rules.json").is_file()
    fresh = opened(tools=False)
    assert fresh.multiselect(key="rule-same").value == ["style"]  # a new visitor starts from them
    found = results(fresh)
    assert found[0] == "1200"  # pinned: shown whatever the rules say
    assert all(LABELS[i]["style"] == LABELS["1001"]["style"] for i in found[1:])
    assert parse_rules(same=["style"])  # what was saved is a rule set the CLI takes too


def test_the_curation_page_exports_what_the_cli_would(page, cli, tmp_path):
    page.write_text("query_id,action,target_id,position\n1001,pin,1200,1\n")
    at = opened(tools=False)
    at.switch_page(CURATION_PAGE).run()
    at.button(key="make-export").click().run()
    assert not at.exception
    assert [c.value for c in at.caption if c.value.startswith("200 lists, ")] != []
    code, out, _ = cli("export", "--curation", page, "--out", tmp_path / "cli.jsonl")
    assert code == 0
    made = at.session_state["curation-export"]  # the file on disk: the session keeps no bytes
    assert made.read() == (tmp_path / "cli.jsonl").read_bytes() and made.products == 200
    assert [b.label for b in at.get("download_button")] == ["Download the CSV", "Download similar.jsonl"]
    made.path.unlink()  # the cache cleared meanwhile
    at.run()
    assert [w.value for w in at.warning] == [
        "The export's file is no longer there (the cache was cleared?): make it again."
    ]


def test_remove_buttons_of_ids_with_hyphens_never_share_a_key():
    assert pair_key("a-b", "c") != pair_key("a", "b-c") and pair_key("*", "x") == pair_key("*", "x")


def test_default_rules_the_controls_cannot_show_still_apply_and_say_so(page, fake_demo_engine):
    """Two filter columns in the defaults (the sidebar shows one): a visitor's list is still
    what `similar` gives with both."""
    rules = parse_rules(["style=polo", "colour=black", "colour=white", "colour=olive"])
    page.with_suffix(".rules.json").write_text(
        '{"filter": {"style": ["polo"], "colour": ["black", "white", "olive"]}, "same": [], "one_per": [], "near": {}}'
    )
    at = opened(tools=False)
    want = [e.id for e in fake_demo_engine.similar_to_id("1001", get_mode("balanced"), 10, rules=rules)]
    assert results(at) == want and all(LABELS[i]["style"] == "polo" for i in want)
    assert "Also applied (the store's defaults): --filter colour=black --filter colour=white --filter colour=olive" in [
        c.value.replace("\\", "") for c in at.sidebar.caption
    ]
