"""shirtsim web page: browse the catalog, pick or upload a shirt, see the most similar ones.

UI only: every decision about images, embeddings and ranking lives in ``shirtsim``.
Run with ``streamlit run app.py`` (catalog: ``$SHIRTSIM_CATALOG``, default the bundled demo).

Two rules hold everywhere on this page:

- Text from outside (ids, file and folder names, ``labels.csv`` names and values, upload names,
  ``?shirt=``) reaches markdown-rendering elements only through ``plain``
  (:func:`shirtsim.text.markdown_literal`), so it shows as written and never becomes a link, an
  image, bold, a colour or maths; elsewhere it goes through ``st.text``, which renders nothing.
- Pictures are the engine's cached thumbnails (bytes), never catalog files: the page costs the
  same for 200 KB and 20 MB product photos.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import script_runner
from streamlit.runtime.uploaded_file_manager import UploadedFile
from streamlit_image_coordinates import streamlit_image_coordinates

from shirtsim import settings
from shirtsim.catalog_map import CatalogMap
from shirtsim.crop import WHOLE, Box, check_box, draw_box
from shirtsim.descriptors import DEFAULT_MODE, MODES, STYLE_KIND, Mode
from shirtsim.duplicates import DEFAULT_THRESHOLD
from shirtsim.engine import Engine, Query, Steering, Upload, default_catalog_dir
from shirtsim.errors import RemovalRefused, ShirtsimError
from shirtsim.explain import side_contributions, swatch_strip
from shirtsim.images import MAX_BYTES
from shirtsim.index import IndexReport
from shirtsim.search import Match, VectorIndex
from shirtsim.steer import FAR_COLOUR
from shirtsim.store import default_cache_dir
from shirtsim.text import markdown_literal as plain
from shirtsim.text import printable
from shirtsim.thumbnails import PREVIEW, placeholder
from shirtsim.weights import resolve_weights

COLUMNS = 5
PAGE_SIZE = 20
FILTER_COLUMNS = 4  # label columns offered as filters above the browse grid at first
SHOWN_COLUMNS = 12  # label columns an overview page charts or colours by at first (others can be picked)
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp"]
MODE_LABELS = {"balanced": "overall", "pattern": "pattern", "colour": "colour", "seed": "seed (notebook)"}
NO_COMPARISON = "(none)"
DEFAULT_COLOUR = "#1f2a54"  # navy, a shirt colour every catalog has (the picker opens on it)
PART_LABELS = {
    "texture": "texture",
    "colour": "colour",
    "texture_learned": "learned texture",
    "colour_learned": "learned colour",
}
VIEWS = ("Search", "Catalog map", "Near-duplicates", "Quality")
MAP_SHOWN = 40  # shirts of a map selection shown as tiles
GROUPS_SHOWN = 30  # near-duplicate groups shown at once
WORST_SHOWN = 10
QUALITY_MODES = ("balanced", "pattern", "colour")  # seed has no labels-driven design to judge
BOX_KEYS = ("box-x0", "box-y0", "box-x1", "box-y1")  # the four numeric inputs of an upload's box
BOX_LABELS = ("Left", "Top", "Right", "Bottom")
log = logging.getLogger("shirtsim.app")


def keep_the_model_loaded() -> None:
    """Stands in for Streamlit's after-run clean-up of "problem modules", which calls
    ``keras.backend.clear_session()`` after every run (for apps that build a model per run): a full
    garbage collection and TensorFlow's kernel cache dropped each time, ~0.5 s per click and a slower
    next upload (benchmarks/latency.py). This app loads one model per server and keeps it."""


# Streamlit's private hook; tests/test_app.py fails if a Streamlit upgrade moves it.
script_runner._clean_problem_modules = keep_the_model_loaded
if not logging.getLogger("shirtsim").handlers:  # the library's info lines (model loads) go to the server log
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("shirtsim").addHandler(_handler)
    logging.getLogger("shirtsim").setLevel(logging.INFO)


@st.cache_resource(show_spinner="Opening the catalog…")
def get_engine(catalog_dir: str, weights_spec: str, cache_dir: str, index_spec: str, projection_spec: str) -> Engine:
    """One engine (catalog, model, indexes) per server process, shared by every session."""
    return Engine(
        catalog_dir,
        weights=resolve_weights(weights_spec),
        cache_dir=cache_dir,
        index_backend=index_spec,
        projection=projection_spec,
    )


def main() -> None:
    st.set_page_config(page_title="shirtsim: similar shirts", page_icon="👕", layout="wide")
    st.title("shirtsim")
    st.caption("Pick a shirt or upload a photo: the most visually similar shirts in the catalog, best first.")
    try:
        engine = get_engine(
            str(default_catalog_dir()),
            settings.WEIGHTS.get(),
            str(default_cache_dir()),
            settings.INDEX.get(),
            settings.PROJECTION.get(),
        )
    except ShirtsimError as e:
        st.error(plain(e))
        st.stop()
    view, mode, k, reindex = sidebar()
    # Load the model in the background from the first page on, so the first upload does not wait for it.
    engine.warm_up_in_background(mode.kind)
    confirmed = st.session_state.pop("confirm-removals", False)
    index, report = load_index(engine, mode, rebuild=reindex, allow_removals=confirmed)
    sidebar_status(engine, report)
    if report.withheld is not None:
        removal_notice(report.withheld)
    if len(index) == 0:
        st.warning(plain(f"The catalog {engine.catalog.root} has no readable images. Add some and press Re-index."))
        return
    if view == "Catalog map":
        shielded(map_view, engine, index, mode, k)
    elif view == "Near-duplicates":
        shielded(duplicates_view, engine)
    elif view == "Quality":
        shielded(quality_view, engine, mode)
    else:
        shop(engine, index, mode, k)


def sidebar() -> tuple[str, Mode, int, bool]:
    with st.sidebar:
        view = st.radio(
            "Page",
            VIEWS,
            key="view",
            help="Search: one shirt's matches. Catalog map, Near-duplicates, Quality: the whole catalog at a glance.",
        )
        st.header("Settings")
        names = list(MODES)
        mode_name = st.radio(
            "Match on",
            names,
            index=names.index(DEFAULT_MODE),
            key="mode",
            format_func=lambda n: MODE_LABELS[n],
            help="\n".join(f"- **{MODE_LABELS[m.name]}**: {m.help}" for m in MODES.values()),
        )
        st.selectbox(
            "Compare with",
            [NO_COMPARISON] + names,
            key="compare",
            format_func=lambda n: MODE_LABELS.get(n, n),
            help="Show the results of a second mode beside the first, for the same query.",
        )
        st.toggle(
            "Steer and explain results",
            key="tools",
            help="Under each result: more like it, less like it, and why it matched. Off: a lighter, faster grid.",
        )
        k = st.slider("Number of results", 1, 30, 10, key="k")
        reindex = st.button("Re-index catalog", help="Re-read the folder and embed new or changed images.")
    return view, MODES[mode_name], k, reindex


def sidebar_status(engine: Engine, report: IndexReport) -> None:
    """Catalog and model facts, drawn after indexing so a re-index shows the new state at once."""
    with st.sidebar:
        st.divider()
        if engine.cache_warning:
            st.warning(plain(engine.cache_warning))
        st.subheader("Catalog")
        st.text(printable(str(engine.catalog.root)))
        st.write(f"{len(engine.catalog)} images")
        if report.backend:  # the index lives in Milvus: say where, and what the last sync did
            st.caption(plain(report.backend))
        if report.skipped:
            with st.expander(f"⚠️ {len(report.skipped)} file(s) skipped"):
                st.text("\n".join(f"{s.name}: {s.reason}" for s in report.skipped[:200]))
        for problem in report.problems[:5] + engine.label_problems:
            st.warning(plain(problem))
        stale = dict(engine.stale)
        if stale:
            first, why = next(iter(stale.items()))
            st.warning(
                plain(f"{len(stale)} shirt(s) changed on disk since the index was built ({first}: {why}).")
                + " Press **Re-index catalog** to update."
            )
        st.session_state.stale_shown = len(stale)
        st.subheader("Model")
        st.write(f"VGG16, weights: {plain(engine.weights.label)}")
        if engine.weights.note:
            st.info(plain(engine.weights.note))
        st.write(f"Learned projection: {plain(engine.projection_choice.label)}")
        if engine.projection_choice.note:
            st.info(plain(engine.projection_choice.note))


class PageProgress:
    """A progress bar for the library's progress reports, drawn at the first one."""

    def __init__(self) -> None:
        self.bar: DeltaGenerator | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.bar is None:
            self.bar = st.progress(0.0, text=what)
        self.bar.progress(min(1.0, done / total) if total else 1.0, text=f"{what}: {done}/{total}")

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.empty()


def load_index(
    engine: Engine, mode: Mode, rebuild: bool, allow_removals: bool = False
) -> tuple[VectorIndex, IndexReport]:
    progress = PageProgress()
    try:
        index, report = engine.index_with_report(
            mode.kind, progress=progress, rebuild=rebuild, allow_removals=allow_removals
        )
    except RemovalRefused as e:  # Milvus holds many more rows than the folder has shirts
        removal_notice(e)
        st.stop()
    except ShirtsimError as e:
        st.error(plain(e))
        st.stop()
    progress.clear()
    return index, report


def removal_notice(withheld: RemovalRefused) -> None:
    """Many indexed shirts' files are gone at once: nothing was removed until a person confirms."""
    st.error(plain(f"{withheld} Those shirts stay in the index, and on this page, until you confirm."))
    st.button(
        f"Remove the {withheld.removed:,} missing shirts from the index",
        key="remove-missing",
        on_click=lambda: st.session_state.update({"confirm-removals": True}),
        help="Only when their files really are gone for good: they are then removed from the index.",
    )


@st.fragment
def shop(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    """The query, its results and the browse grid. A click or an upload reruns this part
    alone (a fragment): the sidebar, the index and the model are not touched again."""
    shielded(query_and_browse, engine, index, mode, k)  # a fragment rerun bypasses the guard at the bottom


def query_and_browse(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    upload = st.file_uploader("Upload a photo of a shirt (JPEG, PNG or WebP)", type=UPLOAD_TYPES)
    if upload is not None and st.session_state.get("upload_seen") != upload.file_id:
        st.session_state.upload_seen = upload.file_id  # a new upload becomes the query
        st.session_state.source = "upload"
        st.session_state.upload_digest = None  # even the same photo again: its box is proposed anew

    if upload is None and st.session_state.get("source") == "upload":
        st.session_state.source = "shirt"  # the upload was removed (or left behind on another page)
    if upload is not None and st.session_state.get("source") == "upload":
        photo = read_upload(engine, upload, mode)
        if photo is not None:
            show_results(engine, photo, mode, k)
    else:
        shirt = selected_shirt(engine, index)
        if shirt is not None:
            show_results(engine, shirt, mode, k)
    browse(engine, index)
    if len(engine.stale) > st.session_state.get("stale_shown", 0):
        st.rerun()  # a file vanished or changed while pictures were drawn: let the sidebar say so


def selected_shirt(engine: Engine, index: VectorIndex) -> str | None:
    shirt = st.query_params.get("shirt")
    if not shirt:
        return None
    try:
        return engine.check_id(shirt, index)
    except ShirtsimError as e:
        st.error(plain(e))
        return None


def select(shirt_id: str) -> None:
    st.query_params["shirt"] = shirt_id
    st.session_state.source = "shirt"


def read_upload(engine: Engine, upload: UploadedFile, mode: Mode) -> Upload | None:
    """The upload read once per photo and box: a new photo is searched inside its proposed box
    (shirtsim.crop), a box changed in the inputs re-reads it. Reruns for anything else reuse it."""
    data = upload.getvalue()
    if len(data) > MAX_BYTES:
        st.error(plain(f"{upload.name}: file is too large (limit {MAX_BYTES // (1024 * 1024)} MB)."))
        return None
    digest = hashlib.sha256(data).hexdigest()
    if st.session_state.get("upload_digest") != digest:  # a new photo: its proposed box
        key, box = None, "auto"
    else:
        box = tuple(float(st.session_state.get(k, v)) for k, v in zip(BOX_KEYS, WHOLE))
        key = (digest, mode.kind.name, box)
        try:
            check_box(box)
        except ValueError as e:
            st.warning(plain(f"The box is not used: {e}. The results are for the last box that was."))
            last = st.session_state.upload_key
            if last[1] == mode.kind.name:
                return st.session_state.upload
            box, key = last[2], (digest, mode.kind.name, last[2])  # another mode: the last box, read for it
    if key is None or st.session_state.get("upload_key") != key:  # decode and embed once per photo and box
        try:
            photo = engine.read_upload(data, upload.name, mode.kind, box)
        except ShirtsimError as e:
            st.error(plain(e))
            return None
        searched = photo.box or WHOLE  # None: a studio shot, searched as it is
        if box == "auto":
            set_box(searched)
        st.session_state.upload_digest = digest
        st.session_state.upload_key = (digest, mode.kind.name, searched)
        st.session_state.upload = photo
    return st.session_state.upload


def set_box(box: Box) -> None:
    for key, value in zip(BOX_KEYS, box):
        st.session_state[key] = float(value)


def box_editor(photo: Upload) -> None:
    """The upload with the box that is searched drawn on it: drag on it for a new box, or type
    the box in four inputs (fractions of the photo; tests drive these)."""
    box = photo.box or WHOLE
    drawn = draw_box(Image.open(io.BytesIO(photo.preview)), box)
    draw_key = f"box-draw-{st.session_state.upload_digest[:16]}"  # a new photo starts a new drawing
    streamlit_image_coordinates(  # JPEG: the component's default PNG is ~0.6 MB, sent again on every rerun
        drawn,
        key=draw_key,
        use_column_width="always",
        click_and_drag=True,
        image_format="JPEG",
        jpeg_quality=85,
        on_click=lambda: box_drawn(draw_key),
    )
    st.caption("Your photo: the box is the part that is searched, its background made white. Drag on it for another.")
    inputs = st.columns(2)
    for n, (key, label) in enumerate(zip(BOX_KEYS, BOX_LABELS)):
        with inputs[n % 2]:
            st.number_input(label, min_value=0.0, max_value=1.0, step=0.01, format="%.2f", key=key)
    buttons = st.columns(2)
    if photo.proposed is not None:
        buttons[0].button("Auto box", key="box-proposed", on_click=set_box, args=(photo.proposed,))
    buttons[1].button("Whole photo", key="box-whole", on_click=set_box, args=(WHOLE,))


def box_drawn(draw_key: str) -> None:
    """A drag on the photo: its two corners, as fractions of the picture shown, become the box."""
    value = st.session_state.get(draw_key) or {}
    try:
        xs = sorted(float(value[k]) / float(value["width"]) for k in ("x1", "x2"))
        ys = sorted(float(value[k]) / float(value["height"]) for k in ("y1", "y2"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return  # a click, not a drag
    box = tuple(float(np.clip(v, 0.0, 1.0)) for v in (xs[0], ys[0], xs[1], ys[1]))
    try:
        set_box(check_box(box))
    except ValueError:
        st.toast("That box is too small: drag across the shirt.")


def show_results(engine: Engine, query: Query, mode: Mode, k: int) -> None:
    """The query (a catalog shirt or an upload), how it is steered, and its results (in two
    modes side by side when the sidebar asks for a comparison)."""
    query_key = query if isinstance(query, str) else st.session_state.get("upload_key")
    if st.session_state.get("steer_for") != query_key:  # a new query starts unsteered
        st.session_state.steer_for = query_key
        st.session_state.liked, st.session_state.unliked = [], []
    left, right = st.columns([1, 3])
    with left:
        if isinstance(query, str):
            show_selected(engine, query)
        else:
            box_editor(query)
        colour = steering_controls(engine)
    name = plain(query) if isinstance(query, str) else "your photo"
    second = st.session_state.get("compare", NO_COMPARISON)
    modes = [mode] + ([MODES[second]] if second in MODES and MODES[second] is not mode else [])
    with right:
        grids = st.columns(len(modes)) if len(modes) > 1 else [st.container()]
        prefixes = ["res" if isinstance(query, str) else "up", "cmp"]  # tests find the tiles by these keys
        for grid, grid_mode, prefix in zip(grids, modes, prefixes):
            with grid:
                title = f"Most similar to {name}" + (f" · {MODE_LABELS[grid_mode.name]}" if len(modes) > 1 else "")
                st.subheader(title)
                steered_grid(engine, query, grid_mode, k, colour, prefix)


def show_selected(engine: Engine, shirt: str) -> None:
    st.image(engine.picture(shirt, PREVIEW) or placeholder(), caption=plain(f"Selected: {shirt}"), width="stretch")
    labels = engine.labels.row(shirt) if engine.labels else None
    if labels:  # a wide feed's row is long: its first lines, then how many more
        lines = [f"{c}: {v}" for c, v in labels.items() if v]
        more = f"\n… and {len(lines) - SHOWN_COLUMNS:,} more labels" if len(lines) > SHOWN_COLUMNS else ""
        st.text("\n".join(lines[:SHOWN_COLUMNS]) + more)
    if not engine.file_present(shirt):
        st.warning(
            plain(f"The file of shirt {shirt} is no longer in the catalog folder; results come from the index.")
            + " Press **Re-index catalog** to update it."
        )


def steering_controls(engine: Engine) -> str | None:
    """Like/unlike marks (set on the result tiles) and "this pattern in that colour"; returns the
    colour asked for, or None."""
    liked, unliked = st.session_state.liked, st.session_state.unliked
    if liked or unliked:
        st.caption("Steered by your marks (they are left out of the results):")
        if liked:
            st.text("more like: " + ", ".join(liked))
        if unliked:
            st.text("less like: " + ", ".join(unliked))
        st.button("Clear marks", key="clear-marks", on_click=clear_marks)
    recolour = st.toggle(
        "This pattern in another colour",
        key="recolour",
        help="Keeps this shirt's pattern, leaving out what its own colours add to it, in the colour you pick.",
    )
    if not recolour:
        return None
    colour = st.color_picker("Colour", DEFAULT_COLOUR, key="colour")
    if (nearest := engine.nearest_in_colour(colour)) < FAR_COLOUR:  # said once, however many grids
        st.info(
            f"No shirt in this catalog comes near this colour (the nearest colours match {nearest:.2f}): "
            "the results follow the pattern more than the colour."
        )
    return colour


def clear_marks() -> None:
    st.session_state.liked, st.session_state.unliked = [], []


def mark(shirt_id: str, liked: bool) -> None:
    target, other = ("liked", "unliked") if liked else ("unliked", "liked")
    if shirt_id not in st.session_state[target]:
        st.session_state[target] = st.session_state[target] + [shirt_id]
    st.session_state[other] = [i for i in st.session_state[other] if i != shirt_id]


def steered_grid(engine: Engine, query: Query, mode: Mode, k: int, colour: str | None, key_prefix: str) -> None:
    steering = Steering((query, *st.session_state.liked), tuple(st.session_state.unliked), colour)
    try:
        # the first colour asked for with weights other than the packaged ones fits their colour
        # directions from drawings (about 22 s, then kept in the cache: shirtsim.colour_blind)
        with st.spinner("Finding this pattern in that colour…") if colour else contextlib.nullcontext():
            vector, weights = engine.steered_query(mode, steering)
    except ShirtsimError as e:
        st.error(plain(e))
        return
    matches = engine.search_prepared(vector, weights, k, steering.marked())
    results_grid(engine, matches, key_prefix, query, vector, weights)


def results_grid(
    engine: Engine, matches: list[Match], key_prefix: str, query: Query, vector: np.ndarray, mode: Mode
) -> None:
    """Result tiles: the shirt, its score, what the score is made of (texture and colour sides),
    more like / less like this, and "Why?"."""
    cols = st.columns(COLUMNS)
    for n, m in enumerate(matches):
        with cols[n % COLUMNS]:
            st.image(engine.picture(m.id) or placeholder(), width="stretch")
            st.button(
                f"{plain(m.id)} · {m.score:.3f}",
                key=f"{key_prefix}-{m.id}",
                on_click=select,
                args=(m.id,),
                help="Find shirts like this one",
                width="stretch",
            )
            if not st.session_state.get("tools"):
                continue  # what follows costs a click ~0.05 s (measured): shown when asked for
            sides = side_contributions(engine.explain_prepared(vector, None, m.id, mode, colours=False).parts)
            st.caption(f"texture {sides['texture']:+.2f} · colour {sides['colour']:+.2f}")
            like, unlike, why = st.columns(3, gap="xxsmall")
            for column, key, icon, liked, tip in (
                (like, "like", ":material/thumb_up:", True, "More like this"),
                (unlike, "unlike", ":material/thumb_down:", False, "Less like this"),
            ):
                column.button(
                    "",
                    icon=icon,
                    key=f"{key}-{key_prefix}-{m.id}",
                    on_click=mark,
                    args=(m.id, liked),
                    help=tip,
                    width="stretch",
                )
            if why.button(
                "", icon=":material/help:", key=f"why-{key_prefix}-{m.id}", help="Why this match?", width="stretch"
            ):
                why_dialog(engine, query, vector, m.id, mode)


@st.dialog("Why this match?", width="large")
def why_dialog(engine: Engine, query: Query, vector: np.ndarray, result_id: str, mode: Mode) -> None:
    """The score part by part, both palettes, and where the textures agree (computed now, ~0.2 s)."""
    shielded(why_view, engine, query, vector, result_id, mode)


def why_view(engine: Engine, query: Query, vector: np.ndarray, result_id: str, mode: Mode) -> None:
    picture = query.preview if isinstance(query, Upload) else engine.picture(query)
    explanation = engine.explain_prepared(vector, picture, result_id, mode)
    st.text(
        f"score {explanation.score:.3f} ({mode.name})\n"
        + "\n".join(
            f"{PART_LABELS.get(p.name, p.name):<16} cosine {p.cosine:+.3f} x {p.weight:.2f} = {p.contribution:+.3f}"
            for p in explanation.parts
        )
    )
    left, right = st.columns(2)
    with left:
        st.caption("Query colours")
        st.image(swatch_strip(explanation.query_colours), width="stretch")
        st.text("  ".join(f"{c.hex} {c.share:.0%}" for c in explanation.query_colours))
    with right:
        st.caption(plain(f"Colours of {result_id}"))
        st.image(swatch_strip(explanation.result_colours), width="stretch")
        st.text("  ".join(f"{c.hex} {c.share:.0%}" for c in explanation.result_colours))
    if mode.kind is STYLE_KIND:
        with st.spinner("Finding where the textures agree…"):
            maps = engine.texture_heat_maps(query, result_id, mode)
        left, right = st.columns(2)
        left.image(maps[0], caption="The query: bright where its texture agrees with the result", width="stretch")
        right.image(
            maps[1], caption=plain(f"{result_id}: bright where its texture agrees with the query"), width="stretch"
        )


def shirt_grid(
    engine: Engine,
    tiles: list[tuple[str, str]],
    key_prefix: str,
    help_text: str,
    on_click: Callable[[str], None] = select,
) -> None:
    """Shirts as a grid, row by row over COLUMNS columns; each tile's button selects its shirt.
    ``tiles`` holds (id, button label); labels are markdown, already made safe with :func:`plain`."""
    cols = st.columns(COLUMNS)
    for n, (shirt_id, label) in enumerate(tiles):
        with cols[n % COLUMNS]:
            st.image(engine.picture(shirt_id) or placeholder(), width="stretch")
            st.button(
                label,
                key=f"{key_prefix}-{shirt_id}",
                on_click=on_click,
                args=(shirt_id,),
                help=help_text,
                width="stretch",
            )


def browse(engine: Engine, index: VectorIndex) -> None:
    st.divider()
    st.subheader("Browse the catalog")
    chosen: dict[str, list[str]] = {}
    usable = label_columns(engine)
    columns = usable[:FILTER_COLUMNS]
    if len(usable) > FILTER_COLUMNS:
        columns = st.multiselect(
            "Filter by",
            usable,
            default=columns,
            max_selections=SHOWN_COLUMNS,
            key="filter-columns",
            format_func=printable,
        )
    for col_name, slot in zip(columns, st.columns(len(columns)) if columns else []):
        values = slot.multiselect(plain(col_name), engine.labels.values(col_name), key=f"filter-{col_name}")
        if values:
            chosen[col_name] = values
    ids = filtered_ids(engine, index, chosen)
    if not ids:
        st.info("No shirt matches these filters.")
        return
    pages = (len(ids) + PAGE_SIZE - 1) // PAGE_SIZE
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="page") if pages > 1 else 1
    start = (int(page) - 1) * PAGE_SIZE
    shirt_grid(engine, [(i, plain(i)) for i in ids[start : start + PAGE_SIZE]], "pick", "Find similar shirts")


def filtered_ids(engine: Engine, index: VectorIndex, chosen: dict[str, list[str]]) -> list[str]:
    """The catalog ids passing the label filters, kept per session until the filters or the
    index change, so a click does not walk the whole catalog again."""
    key = (id(index), tuple(sorted((c, tuple(v)) for c, v in chosen.items())))
    memo = st.session_state.get("filtered")
    if memo is None or memo[0] != key:
        if chosen and engine.labels is not None:
            ids = [i for i, keep in zip(index.ids, engine.labels.matching(index.ids, chosen)) if keep]
        else:
            ids = list(index.ids)
        memo = st.session_state.filtered = (key, ids)
    return memo[1]


# --------------------------------------------------------------------------------------------
# The catalog at a glance: map, near-duplicates, quality
# --------------------------------------------------------------------------------------------


def search_for(shirt_id: str) -> None:
    """A tile on an overview page: that shirt becomes the query, on the Search page."""
    select(shirt_id)
    st.session_state.view = "Search"


def label_columns(engine: Engine) -> list[str]:
    """The label columns that can serve a chart or a filter (2 to 50 values; a wide product feed
    has hundreds of others: free text, numbers, ids)."""
    return engine.labels.usable_columns() if engine.labels else []


def chosen_columns(engine: Engine, key: str, label: str) -> list[str]:
    """The label columns a page works with: the first SHOWN_COLUMNS that can serve, or the ones
    picked in a multiselect when there are more (every usable column can be picked)."""
    columns = label_columns(engine)
    if len(columns) <= SHOWN_COLUMNS:
        return columns
    picked = st.multiselect(
        label,
        columns,
        default=columns[:SHOWN_COLUMNS],
        key=key,
        format_func=printable,
        help=f"{len(columns):,} label columns have 2 to 50 values; the first {SHOWN_COLUMNS} are shown.",
    )
    return list(picked)


def map_view(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    """Every shirt as a point (PCA of what the mode compares), coloured by a label; the current
    query and its results stand out; drag across points to see them as tiles."""
    st.subheader("Catalog map")
    columns = chosen_columns(engine, "map-columns", "Label columns")
    default = columns.index("pattern") + 1 if "pattern" in columns else (1 if columns else 0)
    colour_by = st.selectbox(
        "Colour points by", ["(none)"] + columns, index=default, key="map-colour", format_func=printable
    )
    with st.spinner("Laying out the catalog…"):
        layout = engine.catalog_map(mode)
    query, results, upload_at = map_query(engine, index, mode, k, layout)
    table = map_table(engine, layout, columns, query, results, upload_at)
    st.caption(
        f"{len(layout.ids):,} shirts as {MODE_LABELS[mode.name]} mode sees them: the two directions along which "
        f"they differ most ({layout.explained[0]:.0%} and {layout.explained[1]:.0%} of the differences). "
        "Close points are similar shirts. Drag across points to see them below; hover for a shirt's labels."
    )
    if upload_at is not None:
        st.caption(f"◇ your photo, where it falls on the map; ○ its {len(results)} results.")
    elif query is not None:
        st.caption(plain(f"◇ {query}, the shirt on the Search page; ○ its {len(results)} results."))
    event = st.altair_chart(
        map_chart(table, columns, colour_by),
        on_select="rerun",
        selection_mode="area",
        key=f"map-chart-{mode.name}",
        width="stretch",
    )
    picked = ids_in_area(layout, (event or {}).get("selection", {}).get("area"))
    if not picked:
        st.caption("Nothing selected yet.")
        return
    st.write(
        f"{len(picked):,} shirt(s) selected" + (f"; the first {MAP_SHOWN} shown" if len(picked) > MAP_SHOWN else "")
    )
    shirt_grid(engine, [(i, plain(i)) for i in picked[:MAP_SHOWN]], "mapped", "Find similar shirts", search_for)


def map_query(
    engine: Engine, index: VectorIndex, mode: Mode, k: int, layout: CatalogMap
) -> tuple[str | None, list[str], tuple[float, float] | None]:
    """What the Search page shows, to mark on the map: its catalog shirt or its upload (placed on
    the map by its vector), and its results as that page ranks them (with the like/unlike marks)."""
    query: Query
    if st.session_state.get("source") == "upload":
        photo, key = st.session_state.get("upload"), st.session_state.get("upload_key")
        if not isinstance(photo, Upload) or not key or key[1] != mode.kind.name:
            return None, [], None  # no upload read for this mode's vectors yet
        query, query_key = photo, key
    else:
        shirt = st.query_params.get("shirt")
        if not shirt or shirt not in index:
            return None, [], None
        query, query_key = shirt, shirt
    marked = st.session_state.get("steer_for") == query_key
    liked = tuple(st.session_state.get("liked", [])) if marked else ()
    unliked = tuple(st.session_state.get("unliked", [])) if marked else ()
    steering = Steering((query, *liked), unliked)
    vector, weights = engine.steered_query(mode, steering)
    results = [m.id for m in engine.search_prepared(vector, weights, k, steering.marked())]
    if isinstance(query, Upload):
        return None, results, layout.place(index.prepare(query.vector))
    return query, results, None


def map_table(
    engine: Engine,
    layout: CatalogMap,
    columns: list[str],
    query: str | None,
    results: list[str],
    upload_at: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """One row per shirt: position, role (query, result, shirt) and labels (as ``label0``... so that
    a column name from labels.csv is never read as a Vega field path); an upload adds one row."""
    found = set(results)
    table = pd.DataFrame({"id": layout.ids, "x": layout.xy[:, 0], "y": layout.xy[:, 1]})
    table["role"] = ["query" if i == query else "result" if i in found else "shirt" for i in layout.ids]
    for n, column in enumerate(columns):
        table[f"label{n}"] = [v or "(no label)" for v in engine.labels.column(column, layout.ids)]
    if upload_at is not None:
        photo = {"id": "(your photo)", "x": upload_at[0], "y": upload_at[1], "role": "query"}
        table = pd.concat([table, pd.DataFrame([photo | {f"label{n}": "" for n in range(len(columns))}])])
    return table.reset_index(drop=True)


def map_chart(table: pd.DataFrame, columns: list[str], colour_by: str) -> alt.LayerChart:
    area = alt.selection_interval(name="area")
    colour = (
        alt.Color(f"label{columns.index(colour_by)}:N", title=printable(colour_by)[:40])
        if colour_by in columns
        else alt.value("#4c78a8")
    )
    tooltip = [alt.Tooltip("id:N", title="id")] + [
        alt.Tooltip(f"label{n}:N", title=printable(c)[:40]) for n, c in enumerate(columns)
    ]
    base = alt.Chart(table).encode(
        x=alt.X("x:Q", axis=alt.Axis(title=None, labels=False, ticks=False)),
        y=alt.Y("y:Q", axis=alt.Axis(title=None, labels=False, ticks=False)),
        tooltip=tooltip,
    )
    points = base.mark_circle(size=40, opacity=0.75).encode(color=colour).add_params(area)
    marked = (
        base.transform_filter(alt.datum.role != "shirt")
        .mark_point(filled=False, strokeWidth=2.5)
        .encode(
            color=alt.value("#111111"),
            size=alt.Size("role:N", scale=alt.Scale(domain=["result", "query"], range=[160, 420]), legend=None),
            shape=alt.Shape("role:N", scale=alt.Scale(domain=["result", "query"], range=["circle", "diamond"]),
                            legend=alt.Legend(title="Search")),
        )
    )  # fmt: skip
    return alt.layer(points, marked).properties(height=520)


def ids_in_area(layout: CatalogMap, area: object) -> list[str]:
    """The shirts inside the chart's interval selection (``{"x": [a, b], "y": [c, d]}``)."""
    try:
        return layout.ids_in(tuple(map(float, area["x"])), tuple(map(float, area["y"])))  # type: ignore[index]
    except (KeyError, TypeError, ValueError):  # no selection yet, or not a rectangle
        return []


def duplicates_view(engine: Engine) -> None:
    """Groups of photos that are the same picture (shirtsim.duplicates), strongest first."""
    st.subheader("Near-duplicates")
    threshold = st.slider(
        "Lowest duplicate score",
        0.5,
        1.0,
        DEFAULT_THRESHOLD,
        0.01,
        key="dup-threshold",
        help=f"The same picture re-encoded, resized, slightly cropped or mirrored scores about 0.95-1.0; "
        f"different photos of one pose stay under 0.9 (default {DEFAULT_THRESHOLD}, measured: README).",
    )
    progress = PageProgress()
    with st.spinner("Comparing every photo with its look-alikes…"):
        found = engine.duplicates(progress)
    groups = found.groups(threshold)
    progress.clear()
    if found.skipped:
        with st.expander(f"⚠️ {len(found.skipped)} file(s) could not be read"):
            st.text("\n".join(f"{s.name}: {s.reason}" for s in found.skipped[:200]))
    copies = sum(len(g.ids) - 1 for g in groups)
    st.write(f"{len(groups)} group(s), {copies} photo(s) that repeat another, among {len(found.ids):,} photos.")
    for n, g in enumerate(groups[:GROUPS_SHOWN]):
        more = f"; the first {MAP_SHOWN} shown" if len(g.ids) > MAP_SHOWN else ""
        st.caption(f"Group {n + 1}: {len(g.ids)} photos, duplicate score {g.score:.3f}{more}")
        tiles = [(i, plain(i)) for i in g.ids[:MAP_SHOWN]]
        shirt_grid(engine, tiles, f"dup{n}", "Find similar shirts", search_for)
    if len(groups) > GROUPS_SHOWN:
        st.caption(f"… and {len(groups) - GROUPS_SHOWN} more: raise the score to see the surest first.")


def quality_view(engine: Engine, mode: Mode) -> None:
    """Precision@10 of each mode on the catalog's own labels, against chance, and the queries that
    do worst (under the sidebar's mode, or balanced for seed)."""
    st.subheader("Quality on this catalog's labels")
    labels = engine.labels
    every = [c for c in labels.columns if c not in ("name", "mean")] if labels else []
    if labels is not None and "mean" in labels.columns:
        st.caption("The label column 'mean' is left out: that is the average's name here.")
    if not every:
        st.info("This catalog has no labels.csv with label columns: quality is measured against its labels.")
        return
    columns = [c for c in chosen_columns(engine, "quality-columns", "Label columns") if c != "mean"]
    if not columns:
        if not any(labels.distinct(c) for c in every):
            st.info("No shirt has a label in these columns yet: there is nothing to measure.")
        else:
            st.info("No label column has 2 to 50 different values: those are the labels quality is measured by.")
        return
    with st.spinner("Ranking every labelled shirt against all the others…"):
        figures = {name: engine.quality(MODES[name], columns) for name in QUALITY_MODES}
    first = figures[QUALITY_MODES[0]]
    shown = [c for c in columns if c in first.precision]
    if not shown:
        st.info("No shirt has a label in these columns yet: there is nothing to measure.")
        return
    fitted = engine.in_sample(first.ids)
    if fitted:
        st.warning(
            f"The learned projection was fitted on {fitted:,} of these {first.n:,} photos: these figures are "
            "in-sample and overstate what new photos get. Judge it on photos it has not seen."
        )
    sample = f" (an even sample of the {first.labelled:,})" if first.n < first.labelled else ""
    st.caption(
        f"Precision@{first.k}: the share of a shirt's {first.k} results that carry its label, over {first.n:,} "
        f"labelled shirts{sample}; the grey tick is what a random ranking gets."
    )
    for slot, column in zip(st.columns(min(3, len(shown))) * len(shown), shown):
        with slot:
            st.altair_chart(quality_chart(figures, column), width="stretch")
    worst_mode = mode.name if mode.name in figures else QUALITY_MODES[0]
    per_query = figures[worst_mode].per_query
    worst = sorted(per_query, key=lambda i: (per_query[i], i))[:WORST_SHOWN]
    st.subheader(f"Worst queries ({MODE_LABELS[worst_mode]} mode)")
    st.caption("Each with its own precision: click one to see its results.")
    shirt_grid(engine, [(i, f"{plain(i)} · {per_query[i]:.2f}") for i in worst], "worst", "See its results", search_for)


def quality_chart(figures: dict, column: str) -> alt.LayerChart:
    table = pd.DataFrame(
        [
            {"mode": MODE_LABELS[name], "precision": q.precision[column], "chance": q.chance[column]}
            for name, q in figures.items()
        ]
    )
    base = alt.Chart(table).encode(x=alt.X("mode:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar().encode(
        y=alt.Y("precision:Q", title="precision@10", scale=alt.Scale(domain=[0, 1])),
        tooltip=["mode", alt.Tooltip("precision:Q", format=".3f"), alt.Tooltip("chance:Q", format=".3f")],
    )
    chance = base.mark_tick(color="#888888", thickness=3, size=40).encode(y="chance:Q")
    labels = base.mark_text(dy=-8).encode(y="precision:Q", text=alt.Text("precision:Q", format=".2f"))
    return alt.layer(bars, chance, labels).properties(title=printable(column)[:40], height=260)


def shielded(draw: Callable[..., None], *args: object) -> None:
    """Run part of the page; bad input becomes ``st.error``, a bug a logged one-line apology, never a
    traceback. (Streamlit's rerun and stop signals are not ``Exception``s: they pass through.)"""
    try:
        draw(*args)
    except ShirtsimError as e:
        st.error(plain(e))
    except Exception:  # a bug, not bad input: log it for us, tell the user plainly
        log.exception("unexpected error")
        st.error("Something went wrong on our side. Please try again; if it persists, press Re-index.")


shielded(main)
