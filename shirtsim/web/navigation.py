"""The pages, one file each in ``pages/``, and the way from an overview tile to a shirt's results.

Each page has its own URL (``/``, ``/map``, ``/duplicates``, ``/quality``, and for editors
``/curation``); ``/?shirt=ID`` opens a shirt's results on the Search page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from shirtsim.web.editing import may_edit
from shirtsim.web.state import search_state

PAGES_DIR = Path(__file__).resolve().parent / "pages"
# (file, title, url path): the Search page is the default, at "/"
PAGES = (
    ("search.py", "Search", "search"),
    ("catalog_map.py", "Catalog map", "map"),
    ("duplicates.py", "Near-duplicates", "duplicates"),
    ("quality.py", "Quality", "quality"),
)
EDITORS_PAGES = (("curation.py", "Curation", "curation"),)  # listed only for a session that may edit
SEARCH = PAGES_DIR / "search.py"
OPEN_SEARCH = "open-search"  # session key: the shirt an overview tile asked to search for


def navigation() -> st.navigation:
    """Streamlit's page router over the page files, in the sidebar; then, if a tile on an overview
    page asked for it, the Search page with that tile's shirt (switching pages is not allowed inside
    a callback, so the callback leaves a note and this run follows it)."""
    shown = PAGES + (EDITORS_PAGES if may_edit() else ())
    pages = [
        st.Page(PAGES_DIR / file, title=title, url_path=path, default=(file == "search.py"))
        for file, title, path in shown
    ]
    router = st.navigation(pages, position="sidebar")
    shirt_id = st.session_state.pop(OPEN_SEARCH, None)
    if shirt_id is not None:
        state = search_state()
        state.source, state.shirt = "shirt", shirt_id
        st.switch_page(pages[0], query_params={"shirt": shirt_id})
    return router


def search_for(shirt_id: str) -> None:
    """A tile on an overview page: that shirt becomes the query, on the Search page (next run)."""
    st.session_state[OPEN_SEARCH] = shirt_id
