"""The Near-duplicates page: groups of photos that are the same picture (re-encoded, resized,
slightly cropped, mirrored: :mod:`shirtsim.overview.duplicates`), strongest first."""

from __future__ import annotations

import streamlit as st

from shirtsim.engine import Engine
from shirtsim.overview.duplicates import DEFAULT_THRESHOLD
from shirtsim.web.context import page_context
from shirtsim.web.navigation import search_for
from shirtsim.web.tile_grid import shirt_tile, tile_grid
from shirtsim.web.widgets import PageProgress, shielded

GROUPS_SHOWN = 30  # near-duplicate groups shown at once
PER_GROUP_SHOWN = 40  # photos of a group shown as tiles


def duplicates_view(engine: Engine) -> None:
    """Groups of photos that are the same picture, strongest first; a tile opens its search."""
    st.subheader("Near-duplicates")
    threshold = st.slider(
        "Lowest duplicate score",
        0.5,
        1.0,
        DEFAULT_THRESHOLD,
        0.01,
        key="dup-threshold",
        help=f"The same picture re-encoded, resized, slightly cropped or mirrored scores about 0.95-1.0; "
        f"different photos of one pose stay under 0.9 (default {DEFAULT_THRESHOLD}, measured: docs/quality.md).",
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
        more = f"; the first {PER_GROUP_SHOWN} shown" if len(g.ids) > PER_GROUP_SHOWN else ""
        st.caption(f"Group {n + 1}: {len(g.ids)} photos, duplicate score {g.score:.3f}{more}")
        tiles = [shirt_tile(engine, i) for i in g.ids[:PER_GROUP_SHOWN]]
        tile_grid(tiles, f"dup{n}", "Find similar shirts", on_pick=search_for)
    if len(groups) > GROUPS_SHOWN:
        st.caption(f"… and {len(groups) - GROUPS_SHOWN} more: raise the score to see the surest first.")


shielded(duplicates_view, page_context().engine)
