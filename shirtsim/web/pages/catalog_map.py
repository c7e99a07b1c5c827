"""The Catalog map page: every shirt as a point (PCA of what the mode compares), coloured by a
label; the Search page's query and its results stand out; drag across points to see them as tiles."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from shirtsim.describe.descriptors import Mode
from shirtsim.engine import Engine
from shirtsim.index.search import VectorIndex
from shirtsim.overview.catalog_map import CatalogMap
from shirtsim.text import markdown_literal as plain
from shirtsim.text import printable
from shirtsim.upload import Upload
from shirtsim.web.columns import chosen_columns
from shirtsim.web.context import page_context
from shirtsim.web.navigation import search_for
from shirtsim.web.state import search_state
from shirtsim.web.tile_grid import shirt_tile, tile_grid
from shirtsim.web.widgets import MODE_LABELS, shielded

MAP_SHOWN = 40  # shirts of a map selection shown as tiles


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
    tiles = [shirt_tile(engine, i) for i in picked[:MAP_SHOWN]]
    tile_grid(tiles, "mapped", "Find similar shirts", on_pick=search_for)


def map_query(
    engine: Engine, index: VectorIndex, mode: Mode, k: int, layout: CatalogMap
) -> tuple[str | None, list[str], tuple[float, float] | None]:
    """What the Search page shows, to mark on the map: its catalog shirt or its upload (placed on
    the map by its vector), and its results as that page ranks them (steered as it steers them)."""
    state = search_state()
    query = state.query(index)  # checked when the Search page took it: a shirt in the index, or an upload
    if query is None:
        return None, [], None  # nothing asked yet (or an upload read for another mode's vectors)
    steering = state.steering(query)
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


context = page_context()
shielded(map_view, context.engine, context.index, context.mode, context.k)
