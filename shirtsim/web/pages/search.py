"""The Search page: a catalog shirt (``?shirt=``) or an uploaded photo, its most similar shirts,
and the catalog to browse. A click or an upload reruns this part alone (a fragment): the
sidebar, the index and the model are not touched again; a click on a result reruns the results
alone (a fragment inside it)."""

from __future__ import annotations

import streamlit as st

from shirtsim.describe.descriptors import Mode
from shirtsim.engine import Engine
from shirtsim.errors import ShirtsimError
from shirtsim.index.search import VectorIndex
from shirtsim.text import markdown_literal as plain
from shirtsim.web.browse import browse
from shirtsim.web.context import page_context
from shirtsim.web.editing import show_edit_problem
from shirtsim.web.results import show_results
from shirtsim.web.state import search_state
from shirtsim.web.upload_box import UPLOAD_TYPES, uploaded_photo
from shirtsim.web.widgets import shielded


@st.fragment
def search(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    shielded(query_and_browse, engine, index, mode, k)  # a fragment rerun bypasses the router's guard


def query_and_browse(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    """The uploader, the query's results (a fragment of their own) and the browse grid. A tile of
    the browse grid reruns all three; a result tile, a mark, a box or a pin reruns the results
    alone, so the browse grid (about half of the page's elements) is not sent again."""
    st.file_uploader("Upload a photo of a shirt (JPEG, PNG or WebP)", type=UPLOAD_TYPES, key=uploader_key())
    results(engine, index, mode, k)
    browse(engine, index)
    rerun_if_stale(engine)


@st.fragment
def results(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    shielded(query_and_results, engine, index, mode, k)


def query_and_results(engine: Engine, index: VectorIndex, mode: Mode, k: int) -> None:
    state = search_state()
    key = uploader_key()
    if key not in st.session_state:  # a result tile let the upload go (state.select): a new, empty uploader
        st.rerun()
    show_edit_problem()
    file = st.session_state[key]
    if file is None and state.source == "upload":
        state.source = "shirt"  # the upload was removed (or left behind on another page)
    if file is not None and (state.photo is None or state.photo.file_id != file.file_id or state.source == "upload"):
        photo = uploaded_photo(engine, file, mode)
        if photo is not None:
            show_results(engine, photo, mode, k)
    else:
        shirt = selected_shirt(engine, index)
        if shirt is not None:
            show_results(engine, shirt, mode, k)
    rerun_if_stale(engine)


def uploader_key() -> str:
    return f"upload-{search_state().uploader}"


def rerun_if_stale(engine: Engine) -> None:
    if len(engine.stale) > st.session_state.get("stale_shown", 0):
        st.rerun()  # a file vanished or changed while pictures were drawn: let the sidebar say so


def selected_shirt(engine: Engine, index: VectorIndex) -> str | None:
    """The shirt in ``?shirt=`` (or, back from another page, the one searched for last, put back
    in the URL), checked once here: the grids and the map trust it then."""
    state = search_state()
    shirt = st.query_params.get("shirt")
    if not shirt and state.shirt:
        shirt = st.query_params["shirt"] = state.shirt
    if not shirt:
        return None
    try:
        state.shirt = engine.check_id(shirt, index)
    except ShirtsimError as e:
        st.error(plain(e))
        state.shirt = None
        return None
    return state.shirt


context = page_context()
search(context.engine, context.index, context.mode, context.k)
