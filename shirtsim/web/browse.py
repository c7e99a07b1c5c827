"""The browse grid under the Search page: the catalog a page at a time, filtered by labels."""

from __future__ import annotations

import streamlit as st

from shirtsim.engine import Engine
from shirtsim.index.search import VectorIndex
from shirtsim.text import markdown_literal as plain
from shirtsim.text import printable
from shirtsim.web.columns import SHOWN_COLUMNS, label_columns
from shirtsim.web.state import select
from shirtsim.web.tile_grid import shirt_tile, tile_grid

PAGE_SIZE = 20
FILTER_COLUMNS = 4  # label columns offered as filters above the browse grid at first


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
    tiles = [shirt_tile(engine, i) for i in ids[start : start + PAGE_SIZE]]
    tile_grid(tiles, "browse-grid", "Find similar shirts", on_pick=select)


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
