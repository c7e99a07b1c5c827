"""The editor and the visitor in a real browser: sign in, pin and block from the tiles, see the
lists after a reload (a new visitor's session), and the Curation page (screenshots for docs/feed.md)."""

from __future__ import annotations

import pytest
from helpers import ARTIFACTS, READY, open_page, result_labels, serve

from shirtsim.engine import get_mode
from shirtsim.feed.curation import load_curation

pytestmark = pytest.mark.browser
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def curation_file(tmp_path_factory):
    return tmp_path_factory.mktemp("feed") / "curation.csv"


@pytest.fixture(scope="module")
def editor_server(demo_engine, session_cache, curation_file):
    from helpers import need_browser

    need_browser()
    demo_engine.index(get_mode("balanced").kind)
    yield from serve(session_cache, SHIRTSIM_EDITOR_PASSWORD=PASSWORD, SHIRTSIM_CURATION=str(curation_file))


def settled(page) -> None:
    page.wait_for_selector(READY)
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")")


def sign_in(page, password: str) -> None:
    page.get_by_label("Editor password").fill(password)
    page.get_by_role("button", name="Sign in as an editor").click()
    settled(page)


def tools_on(page) -> None:
    page.get_by_text("Steer and explain results").click()
    settled(page)


def test_an_editor_pins_and_blocks_and_a_visitor_sees_it_after_a_reload(editor_server, demo_engine, curation_file):
    ARTIFACTS.mkdir(exist_ok=True)
    before = demo_engine.similar_to_id("1009", get_mode("balanced"), 10)
    with open_page(editor_server + "/?shirt=1009") as page:
        settled(page)
        tools_on(page)
        assert page.locator("[class*='st-key-pin-res-']").count() == 0  # a visitor: no editing tools
        assert page.get_by_role("button", name="Re-index catalog").count() == 0
        sign_in(page, "correct horse battery")
        page.get_by_text("That is not the editor password.").wait_for()
        assert page.locator("[class*='st-key-pin-res-']").count() == 0
        sign_in(page, PASSWORD)
        page.get_by_text("Signed in as an editor.").wait_for()
        page.wait_for_selector(READY)  # the sidebar says so before the results are drawn again
        page.locator("[class*='st-key-pin-res-']").nth(9).wait_for()
        assert page.locator("[class*='st-key-pin-res-']").count() == 10
        assert page.get_by_role("link", name="Curation").count() == 1
        page.locator(f".st-key-pin-res-{before[6].id} button:visible").click()  # pinned where it is: place 7
        settled(page)
        page.locator(f".st-key-block-res-{before[0].id} button:visible").click()
        settled(page)
        page.screenshot(path=str(ARTIFACTS / "feed-editor.png"))

        page.reload()  # a new session: a visitor again
        settled(page)
        assert page.locator("[class*='st-key-pin-res-']").count() == 0
        curation = load_curation(curation_file)
        assert curation.pins == {"1009": [(7, before[6].id)]} and curation.blocks == {"1009": {before[0].id}}
        expected = demo_engine.similar_to_id("1009", get_mode("balanced"), 10, curation=curation)
        assert result_labels(page) == [f"{m.id} · {m.score:.3f}" for m in expected]  # rank order: a tile grid
        assert before[0].id not in [m.id for m in expected] and expected[6].id == before[6].id
        assert page.locator(".shirtsim-tile p", has_text="pinned").count() == 1
        page.screenshot(path=str(ARTIFACTS / "feed-visitor.png"))

        sign_in(page, PASSWORD)
        page.get_by_role("link", name="Curation").click()
        page.get_by_text("Pins (1)").wait_for()
        settled(page)
        shown = page.evaluate("() => [...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
        assert shown >= 3  # the pin's two shirts and the block's target
        assert page.get_by_role("button", name="Download the CSV").count() == 1
        page.screenshot(path=str(ARTIFACTS / "feed-curation.png"), full_page=True)
