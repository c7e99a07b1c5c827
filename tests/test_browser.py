"""A real browser (Debian's chromium, driven by Playwright) against ``streamlit run app.py``."""

import re

import pytest
from helpers import (
    ARTIFACTS,
    DEMO,
    HOSTILE,
    READY,
    make_hostile_catalog,
    need_browser,
    open_page,
    result_labels,
    serve,
)

from shirtsim.engine import Steering, get_mode
from shirtsim.text import WORD_JOINER, unlinked

pytestmark = pytest.mark.browser
PARTS = ("texture", "colour", "learned texture", "learned colour")
MODES_SHOWN = ("balanced", "pattern", "colour")  # the Quality page's bars, in order  # the Why? dialog's rows, in order


@pytest.fixture(scope="module")
def server(demo_engine, session_cache):
    need_browser()
    demo_engine.index(get_mode("balanced").kind)  # warm cache: the server starts in seconds
    yield from serve(session_cache)


@pytest.fixture
def page(server):
    with open_page(server) as page:
        yield page


def test_click_a_shirt_then_upload_a_photo(page, demo_engine):
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_role("button", name="1009", exact=True).click()
    page.get_by_text("Most similar to 1009").wait_for()
    page.wait_for_selector(READY)
    expected = demo_engine.similar_to_id("1009", get_mode("balanced"), 10)
    # one tile grid, rows of five, best first: the page lists it in rank order
    assert result_labels(page) == [f"{m.id} · {m.score:.3f}" for m in expected]
    assert page.locator(".shirtsim-grid img").count() == 20 + 10  # the browse grid and the results
    assert "shirt=1009" in page.url
    page.screenshot(path=str(ARTIFACTS / "browser-selected.png"), full_page=False)

    page.locator("input[type=file]").set_input_files(str(DEMO / "1150.jpg"))
    page.get_by_text("Most similar to your photo").wait_for()
    page.wait_for_selector(READY)
    labels = result_labels(page)
    assert len(labels) == 10 and labels[0] == "1150 · 1.000"
    assert page.locator("[data-testid='stFileChip']").count() == 1  # the photo, in the uploader
    page.screenshot(path=str(ARTIFACTS / "browser-upload.png"), full_page=False)

    # A result tile reruns the results alone; after an upload it lets the photo go and the
    # uploader is emptied, the browse grid still there; the next upload is searched.
    second = labels[1].split(" · ")[0]
    page.get_by_role("button", name=labels[1], exact=True).click()
    page.get_by_text(f"Most similar to {second}").wait_for()
    page.wait_for_selector(READY)
    expected = demo_engine.similar_to_id(second, get_mode("balanced"), 10)
    assert sorted(result_labels(page)) == sorted(f"{m.id} · {m.score:.3f}" for m in expected)
    assert page.locator("[data-testid='stFileChip']").count() == 0 and f"shirt={second}" in page.url
    assert page.get_by_role("heading", name="Browse the catalog").is_visible()
    page.locator("input[type=file]").set_input_files(str(DEMO / "1120.jpg"))
    page.get_by_text("Most similar to your photo").wait_for()
    page.wait_for_selector(READY)
    assert result_labels(page)[0] == "1120 · 1.000"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, session_cache):
    need_browser()
    cat = make_hostile_catalog(tmp_path_factory.mktemp("hostile") / "shop")
    yield from serve(session_cache, SHIRTSIM_CATALOG=str(cat))


IMAGES_PAINTED = "n => document.images.length >= n && [...document.images].every(i => i.complete && i.naturalWidth > 0)"


def dom_made_from_outside_text(page) -> dict:
    """Links, images and bold/colour elements that text from outside could have produced."""
    return page.evaluate(
        """() => ({
            links: [...document.querySelectorAll('a')]
                .filter(a => !a.closest("[data-testid='stSidebarNav']"))  // the page's own links to its pages
                .map(a => a.getAttribute('href'))
                .filter(h => h && !h.startsWith('#')),
            images: [...document.querySelectorAll('img')]
                // the page's own pictures (st.image, the browse grid) arrive as JPEG data (widgets.inline_jpeg)
                .filter(i => !(i.closest(".shirtsim-grid, [data-testid='stImage']")
                               && i.getAttribute('src').startsWith('data:image/jpeg;base64,')))
                .map(i => new URL(i.getAttribute('src'), location.href))
                .filter(u => u.origin !== location.origin || !u.pathname.startsWith('/media/'))
                .map(u => u.href),
            bold: [...document.querySelectorAll('strong, b')].map(e => e.textContent),
            coloured: [...document.querySelectorAll('[class*="colored"], span[style*="color"]')].map(e => e.textContent)
                .filter(t => t.includes('alert')),
            maths: document.querySelectorAll('.katex').length,
        })"""
    )


def test_hostile_names_and_labels_render_as_plain_text_in_the_browser(hostile_server):
    with open_page(hostile_server) as page:
        # Streamlit loads some widgets' code on first use: wait for the last of them, not just the run
        page.get_by_text(unlinked("[col](https:evil.example)"), exact=True).wait_for()
        page.wait_for_function(IMAGES_PAINTED, arg=8)
        text = page.inner_text("body").replace(WORD_JOINER, "")  # what a reader sees
        for name in [*HOSTILE, "caf%E9", "**Colour**", "[col](https:evil.example)"]:
            assert name in text, text
        assert dom_made_from_outside_text(page) == {"links": [], "images": [], "bold": [], "coloured": [], "maths": 0}
        # the browse grid's second filter (the sidebar's rule pickers come first, folded away)
        page.locator("[data-testid='stMain'] [data-testid='stMultiSelect']").nth(1).click()
        page.get_by_role("option", name="[x](https:evil.example)").wait_for()
        assert dom_made_from_outside_text(page) == {"links": [], "images": [], "bold": [], "coloured": [], "maths": 0}
        page.keyboard.press("Escape")
        page.get_by_role("button", name=unlinked("[sale](https:evil.example)"), exact=True).click()
        page.get_by_text(unlinked("Most similar to [sale](https:evil.example)")).wait_for()
        page.wait_for_selector(READY)
        assert "**Colour**: **loud**" in page.inner_text("body")
        assert dom_made_from_outside_text(page) == {"links": [], "images": [], "bold": [], "coloured": [], "maths": 0}
        # steering marks and the Why? dialog name shirts too
        page.get_by_text("Steer and explain results").click()
        page.wait_for_selector(READY)
        page.locator("[class*='st-key-like-res-'] button").first.click()
        page.get_by_text("more like: ").wait_for()
        page.wait_for_selector(READY)
        page.locator("[class*='st-key-why-res-'] button").first.click()
        page.locator("[data-testid='stDialog']").get_by_text(
            "bright where its texture agrees with the query"
        ).wait_for()
        assert dom_made_from_outside_text(page) == {"links": [], "images": [], "bold": [], "coloured": [], "maths": 0}
        page.keyboard.press("Escape")
        page.locator("[data-testid='stDialog']").wait_for(state="detached")
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "**x** [y](https:evil.example).jpg", "mimeType": "image/jpeg", "buffer": b"not a jpeg"}]
        )
        page.get_by_text(unlinked("**x** [y](https:evil.example).jpg: this is a text file")).wait_for()
        page.wait_for_selector(READY)
        assert dom_made_from_outside_text(page) == {"links": [], "images": [], "bold": [], "coloured": [], "maths": 0}
        page.goto(hostile_server + "/?shirt=caf%25E9")
        page.get_by_text("Most similar to caf%E9").wait_for()
        page.wait_for_selector(READY)
        page.wait_for_function(IMAGES_PAINTED, arg=1 + 7 + 8)  # the selection, its 7 results, the grid
        sizes = page.evaluate("() => [...document.querySelectorAll('img')].map(i => [i.naturalWidth, i.naturalHeight])")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-hostile.png"), full_page=False)
    # every picture is a cached thumbnail: the selection at most 512 px, tiles at most 256 px
    assert max(max(s) for s in sizes) <= 512 and sorted(max(s) for s in sizes)[:-1] == [250] * (len(sizes) - 1)


def test_a_page_that_lost_its_pictures_is_sent_them_again(page):
    """The tile grids keep each picture in the page once it was sent; a page that lost them (here
    forgotten on purpose) says so, and the next run sends them again: no tile stays blank."""
    page.wait_for_function(IMAGES_PAINTED, arg=20)  # the browse grid, drawn by its script
    page.evaluate("() => window.__shirtsimPictures.clear()")
    pages = page.get_by_label("Page (of 10)")
    for number, first in (("2", "1021"), ("1", "1001")):  # page 1's pictures: sent once, then lost
        pages.fill(number)
        pages.press("Enter")
        page.get_by_role("button", name=first, exact=True).wait_for()
        page.wait_for_selector(READY)
    page.wait_for_function(IMAGES_PAINTED, arg=20, timeout=20_000)
    assert page.locator(".shirtsim-grid img").count() == 20


def test_why_shows_parts_palettes_and_heat_maps_and_a_like_steers(page, demo_engine):
    page.get_by_role("button", name="1009", exact=True).click()
    page.get_by_text("Most similar to 1009").wait_for()
    page.wait_for_selector(READY)
    first = demo_engine.similar_to_id("1009", get_mode("balanced"), 10)[0]
    page.get_by_text("Steer and explain results").click()
    page.wait_for_selector(READY)
    page.locator(f".st-key-why-res-{first.id} button").first.click()
    dialog = page.locator("[data-testid='stDialog']")
    dialog.get_by_text("bright where its texture agrees with the query").wait_for()
    text = dialog.inner_text()
    assert f"score {first.score:.3f} (balanced)" in text
    rows = [
        re.search(rf"^{part} +cosine [+-]\d\.\d{{3}} x \d\.\d\d = ([+-]\d\.\d{{3}})$", text, re.M) for part in PARTS
    ]
    assert all(rows), text
    assert sum(float(r.group(1)) for r in rows) == pytest.approx(first.score, abs=0.003)
    pictures = dialog.evaluate(
        "d => [...d.querySelectorAll('img')].map(i => [i.complete && i.naturalWidth > 0, i.naturalWidth])"
    )
    assert len(pictures) == 4 and all(ok for ok, _ in pictures)  # two palettes, two heat maps
    assert sorted(w for _, w in pictures) == [320, 320, 512, 512]
    assert dialog.locator("a").count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-why.png"), full_page=False)
    page.keyboard.press("Escape")

    liked = demo_engine.similar_to_id("1009", get_mode("balanced"), 10)[4].id
    page.locator(f".st-key-like-res-{liked} button").first.click()
    page.get_by_text(f"more like: {liked}").wait_for()
    page.wait_for_selector(READY)
    expected = demo_engine.steered(get_mode("balanced"), Steering(("1009", liked)))
    assert sorted(result_labels(page)) == sorted(f"{m.id} · {m.score:.3f}" for m in expected)
    assert not any(label.startswith(f"{liked} · ") for label in result_labels(page))


def test_a_colour_and_a_second_mode_change_the_results(page, demo_engine):
    page.get_by_role("button", name="1009", exact=True).click()
    page.get_by_text("Most similar to 1009").wait_for()
    page.wait_for_selector(READY)
    page.get_by_text("This pattern in another colour").click()
    page.get_by_text("Colour", exact=True).wait_for()
    page.wait_for_selector(READY)
    expected = demo_engine.steered(get_mode("balanced"), Steering(("1009",), colour="#1f2a54"))  # the picker's default
    assert sorted(result_labels(page)) == sorted(f"{m.id} · {m.score:.3f}" for m in expected)
    page.get_by_text("This pattern in another colour").click()
    page.wait_for_selector(READY)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="pattern").click()
    page.get_by_text("Most similar to 1009 · pattern").wait_for()
    page.wait_for_selector(READY)
    both = [*demo_engine.similar_to_id("1009", get_mode("balanced"), 10)]
    both += demo_engine.similar_to_id("1009", get_mode("pattern"), 10)
    grids = page.locator("[class*='st-key-res-'] button, [class*='st-key-cmp-'] button").all_inner_texts()
    assert sorted(set(grids)) == sorted({f"{m.id} · {m.score:.3f}" for m in both})


def box_values(page) -> list[str]:
    return [page.get_by_label(label, exact=True).input_value() for label in ("Left", "Top", "Right", "Bottom")]


def test_an_uploaded_scene_shows_its_box_which_a_drag_or_the_inputs_change(page, demo_engine, tmp_path):
    from PIL import Image

    photo = Image.open(DEMO / "1077.jpg").convert("RGB")
    scene = Image.new("RGB", (640, 520), (50, 140, 80))
    scene.paste(photo, (250, 120), Image.eval(photo.convert("L"), lambda v: 0 if v > 225 else 255))
    path = tmp_path / "scene.png"
    scene.save(path)
    mode = get_mode("balanced")
    auto = demo_engine.read_upload(path.read_bytes(), path.name, mode.kind, "auto")

    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("Most similar to your photo").wait_for()
    page.wait_for_selector(READY)
    # the proposed box: in the inputs, and drawn on the photo the drag component shows
    assert box_values(page) == [f"{v:.2f}" for v in auto.box]
    frame = page.frame_locator("iframe[title*='streamlit_image_coordinates']")
    picture = frame.locator("img")
    picture.wait_for()
    assert picture.get_attribute("src").startswith("data:image/jpeg;base64,")
    expected = demo_engine.similar_to_vector(auto.vector, mode, 10)
    assert sorted(result_labels(page)) == sorted(f"{m.id} · {m.score:.3f}" for m in expected)

    right = page.get_by_label("Right", exact=True)  # typed: the results follow the box
    right.fill("0.55")
    right.press("Enter")
    page.wait_for_selector(READY)
    page.wait_for_timeout(500)
    page.wait_for_selector(READY)
    typed = (auto.box[0], auto.box[1], 0.55, auto.box[3])
    moved = demo_engine.similar_to_vector(
        demo_engine.read_upload(path.read_bytes(), path.name, mode.kind, typed).vector, mode, 10
    )
    assert sorted(result_labels(page)) == sorted(f"{m.id} · {m.score:.3f}" for m in moved)

    box = picture.bounding_box()  # dragged across the photo: a new box, new results
    start = (box["x"] + 0.1 * box["width"], box["y"] + 0.2 * box["height"])
    end = (box["x"] + 0.9 * box["width"], box["y"] + 0.95 * box["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    page.wait_for_function("document.querySelector(\"input[aria-label='Left']\").value === '0.10'")
    page.wait_for_selector(READY)
    assert box_values(page) == ["0.10", "0.20", "0.90", "0.95"]
    assert sorted(result_labels(page)) != sorted(f"{m.id} · {m.score:.3f}" for m in moved)
    assert len(result_labels(page)) == 10
    page.screenshot(path=str(ARTIFACTS / "browser-box.png"), full_page=False)


def test_the_map_draws_every_shirt_and_a_drag_lists_the_shirts_inside(server, demo_engine):
    """The catalog map as drawn (SVG): 200 points, the query and its ten results marked; a drag
    across it lists those shirts as tiles, and a tile opens its search."""
    with open_page(server + "/?shirt=1077") as page:
        page.get_by_text("Catalog map", exact=True).click()
        chart = page.locator("[data-testid='stVegaLiteChart']")
        chart.locator("svg").wait_for()
        page.wait_for_selector(READY)
        assert chart.locator("g.role-mark.view_1_marks path").count() == 200
        assert chart.locator("g.role-mark.layer_1_marks path").count() == 11  # 1077 and its results
        area = chart.locator("g.role-mark.view_1_marks").bounding_box()
        page.mouse.move(area["x"] + 0.05 * area["width"], area["y"] + 0.05 * area["height"])
        page.mouse.down()
        page.mouse.move(area["x"] + 0.95 * area["width"], area["y"] + 0.95 * area["height"], steps=10)
        page.mouse.up()
        page.get_by_text(re.compile(r"^\d+ shirt\(s\) selected")).wait_for()
        page.wait_for_selector(READY)
        said = page.get_by_text(re.compile(r"^\d+ shirt\(s\) selected")).inner_text()
        selected = int(said.split()[0])
        assert 100 <= selected <= 200  # most of the plot was inside the drag
        tiles = grid_ids(page, "mapped")
        assert len(tiles) == min(selected, 40) and set(tiles) <= set(demo_engine.catalog.ids)
        page.get_by_role("button", name=tiles[0], exact=True).click()
        page.get_by_text(f"Most similar to {tiles[0]}").wait_for()
        page.wait_for_selector(READY)
        assert len(result_labels(page)) == 10


def test_quality_charts_show_each_modes_figures_against_chance(server, demo_engine):
    with open_page(server) as page:
        page.get_by_text("Quality", exact=True).click()
        page.get_by_text("Worst queries").wait_for()
        page.wait_for_selector(READY)
        charts = page.locator("[data-testid='stVegaLiteChart']")
        charts.nth(2).locator("g.mark-text text").first.wait_for()  # Vega draws after the page runs
        assert charts.count() == 3
        columns = ["style", "pattern", "colour"]
        for n, column in enumerate(columns):
            chart = charts.nth(n)
            assert chart.locator("g.mark-rect path").count() == 6  # three bars and three chance ticks
            texts = chart.locator("g.mark-text.role-mark text").evaluate_all("ts => ts.map(t => t.textContent)")
            want = [f"{demo_engine.quality(get_mode(m), columns).precision[column]:.2f}" for m in MODES_SHOWN]
            assert texts == want
        assert page.locator(".st-key-worst .shirtsim-grid img").count() == 10  # the worst queries' tiles


def grid_ids(page, key: str) -> list[str]:
    """What the buttons of the tile grid ``key`` say, in page order."""
    return [t.strip() for t in page.locator(f".st-key-{key} .shirtsim-grid button").all_inner_texts()]


def test_near_duplicate_groups_are_drawn_as_pictures_and_a_tile_opens_its_search(tmp_path_factory, session_cache):
    """A shop with two copies of its photos (a mirror, a 50% resize): two groups, each drawn as
    its photos' pictures; a tile opens that photo's search, its source first."""
    need_browser()
    from PIL import Image

    shop = tmp_path_factory.mktemp("copies") / "shop"
    shop.mkdir()
    for n in range(1001, 1013):
        (shop / f"{n}.jpg").write_bytes((DEMO / f"{n}.jpg").read_bytes())
    Image.open(DEMO / "1004.jpg").transpose(Image.FLIP_LEFT_RIGHT).save(shop / "1004-mirror.jpg", quality=60)
    Image.open(DEMO / "1010.jpg").resize((100, 125)).save(shop / "1010-small.jpg", quality=60)
    for url in serve(session_cache, SHIRTSIM_CATALOG=str(shop)):
        with open_page(url) as page:
            page.get_by_text("Near-duplicates", exact=True).click()
            page.get_by_text("2 group(s), 2 photo(s) that repeat another, among 14 photos.").wait_for()
            page.wait_for_selector(READY)
            groups = {tuple(sorted(grid_ids(page, f"dup{n}"))) for n in (0, 1)}
            assert groups == {("1004", "1004-mirror"), ("1010", "1010-small")}
            page.wait_for_function(IMAGES_PAINTED, arg=4)
            assert page.locator(".shirtsim-grid img").count() == 4
            page.get_by_role("button", name="1004-mirror", exact=True).click()
            page.get_by_text("Most similar to 1004-mirror").wait_for()
            page.wait_for_selector(READY)
            assert result_labels(page)[0].startswith("1004 · ")
