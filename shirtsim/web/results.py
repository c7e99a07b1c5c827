"""A query's results on the Search page: the query itself (a catalog shirt, or the upload in its
box editor), how it is steered, and its result tiles (two modes side by side when the sidebar
asks for a comparison)."""

from __future__ import annotations

import contextlib

import numpy as np
import streamlit as st

from shirtsim.catalog.thumbnails import PREVIEW, placeholder
from shirtsim.describe.descriptors import MODES, Mode
from shirtsim.describe.explain import side_contributions
from shirtsim.describe.steer import FAR_COLOUR
from shirtsim.engine import Engine
from shirtsim.errors import ShirtsimError
from shirtsim.feed.curation import Entry
from shirtsim.feed.lists import Request
from shirtsim.feed.workspace import Workspace
from shirtsim.query import Query
from shirtsim.text import markdown_literal as plain
from shirtsim.web.context import NO_COMPARISON, page_context
from shirtsim.web.editing import edit
from shirtsim.web.state import search_state, select
from shirtsim.web.tile_grid import shirt_tile, tile_grid, tile_label
from shirtsim.web.upload_box import box_editor
from shirtsim.web.why import why_dialog
from shirtsim.web.widgets import COLUMNS, MODE_LABELS, inline_jpeg

DEFAULT_COLOUR = "#1f2a54"  # navy, a shirt colour every catalog has (the picker opens on it)
PINNED = "pinned"  # under a pinned result (no emoji: not every machine has the font)
LABELS_SHOWN = 12  # a shirt's labels listed under it; a wide feed's others are counted


def show_results(engine: Engine, query: Query, mode: Mode, k: int) -> None:
    left, right = st.columns([1, 3])
    with left:
        if isinstance(query, str):
            show_selected(engine, query)
        else:
            box_editor(query)
        search_state().colour = steering_controls(engine, query)
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
                steered_grid(engine, query, grid_mode, k, prefix)


def show_selected(engine: Engine, shirt: str) -> None:
    picture = inline_jpeg(engine.picture(shirt, PREVIEW) or placeholder())
    st.image(picture, caption=plain(f"Selected: {shirt}"), width="stretch")
    labels = engine.labels.row(shirt) if engine.labels else None
    if labels:  # a wide feed's row is long: its first lines, then how many more
        lines = [f"{c}: {v}" for c, v in labels.items() if v]
        more = f"\n… and {len(lines) - LABELS_SHOWN:,} more labels" if len(lines) > LABELS_SHOWN else ""
        st.text("\n".join(lines[:LABELS_SHOWN]) + more)
    if not engine.file_present(shirt):
        st.warning(
            plain(f"The file of shirt {shirt} is no longer in the catalog folder; results come from the index.")
            + " Press **Re-index catalog** to update it."
        )


def steering_controls(engine: Engine, query: Query) -> str | None:
    """Like/unlike marks (set on the result tiles) and "this pattern in that colour"; returns the
    colour asked for, or None."""
    state = search_state()
    state.steering(query)  # a new query starts unmarked
    liked, unliked = state.marks.liked, state.marks.unliked
    if liked or unliked:
        st.caption("Steered by your marks (they are left out of the results):")
        if liked:
            st.text("more like: " + ", ".join(liked))
        if unliked:
            st.text("less like: " + ", ".join(unliked))
        st.button("Clear marks", key="clear-marks", on_click=lambda: search_state().clear_marks())
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


def steered_grid(engine: Engine, query: Query, mode: Mode, k: int, key_prefix: str) -> None:
    steering = search_state().steering(query)
    try:
        # the first colour asked for with weights other than the packaged ones fits their colour
        # directions from drawings (seconds, once, then kept in the cache: shirtsim.describe.colour_blind)
        with st.spinner("Finding this pattern in that colour…") if steering.colour else contextlib.nullcontext():
            vector, weights = engine.steered_query(mode, steering)
    except ShirtsimError as e:
        st.error(plain(e))
        return
    context = page_context()
    query_id = query if isinstance(query, str) else None  # a photo has no list of its own to curate
    request = Request(vector, query_id, frozenset(steering.marked()))
    matches = engine.lists([request], weights, k, context.rules, context.curation)[0].entries
    if not matches:
        st.info("No shirt passes the rules in the sidebar (or the blocks).")
    results_grid(engine, matches, key_prefix, query, vector, weights)


def mark(shirt_id: str, liked: bool) -> None:
    search_state().mark(shirt_id, liked)


def results_grid(
    engine: Engine, matches: list[Entry], key_prefix: str, query: Query, vector: np.ndarray, mode: Mode
) -> None:
    """Result tiles: the shirt and its score (one element: :mod:`shirtsim.web.tile_grid`); with the
    steering tools, as widgets, also what the score is made of (texture and colour sides), more
    like / less like this, and "Why?"; for an editor, pin and block."""
    if not st.session_state.get("tools"):  # what a shopper sees: a click draws 30 elements, not 55
        tiles = [
            shirt_tile(engine, m.id, f"{tile_label(m.id)} · {m.score:.3f}", PINNED if m.pinned else "") for m in matches
        ]
        tile_grid(tiles, f"{key_prefix}-grid", "Find shirts like this one", on_pick=select)
        return
    context = page_context()
    curating = context.editor and isinstance(query, str)
    cols = st.columns(COLUMNS)
    for n, m in enumerate(matches):
        with cols[n % COLUMNS]:
            st.image(inline_jpeg(engine.picture(m.id) or placeholder()), width="stretch")
            st.button(
                f"{plain(m.id)} · {m.score:.3f}",
                key=f"{key_prefix}-{m.id}",
                on_click=select,
                args=(m.id,),
                help="Find shirts like this one",
                width="stretch",
            )
            if m.pinned:
                st.caption(":material/push_pin: pinned")
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
            if curating:
                curation_buttons(context.workspace, query, m, n + 1, key_prefix)


def curation_buttons(space: Workspace, query: str, entry: Entry, position: int, key_prefix: str) -> None:
    """An editor's pin (at this place) or unpin, and block, for this query's list."""
    pin, block = st.columns(2, gap="xxsmall")
    if entry.pinned:
        pin.button(
            "",
            icon=":material/keep_off:",
            key=f"unpin-{key_prefix}-{entry.id}",
            on_click=edit,
            args=(space.remove, query, "pin", entry.id),
            help=plain(f"Unpin it from {query}'s list"),
            width="stretch",
        )
    else:
        pin.button(
            "",
            icon=":material/push_pin:",
            key=f"pin-{key_prefix}-{entry.id}",
            on_click=edit,
            args=(space.pin, query, entry.id, position),
            help=plain(f"Pin it at place {position} in {query}'s list, whatever the rules say"),
            width="stretch",
        )
    block.button(
        "",
        icon=":material/block:",
        key=f"block-{key_prefix}-{entry.id}",
        on_click=edit,
        args=(space.block, query, entry.id),
        help=plain(f"Never show it in {query}'s list"),
        width="stretch",
    )
