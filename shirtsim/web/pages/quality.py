"""The Quality page: precision@10 of each mode on the catalog's own labels, against chance, and
the queries that do worst (under the sidebar's mode, or balanced for seed)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from shirtsim.describe.descriptors import MODES, Mode
from shirtsim.engine import Engine
from shirtsim.text import printable
from shirtsim.web.columns import chosen_columns
from shirtsim.web.context import page_context
from shirtsim.web.navigation import search_for
from shirtsim.web.tile_grid import shirt_tile, tile_grid, tile_label
from shirtsim.web.widgets import MODE_LABELS, shielded

WORST_SHOWN = 10
QUALITY_MODES = ("balanced", "pattern", "colour")  # seed has no labels-driven design to judge


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
    tiles = [shirt_tile(engine, i, f"{tile_label(i)} · {per_query[i]:.2f}") for i in worst]
    tile_grid(tiles, "worst", "See its results", on_pick=search_for)


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


context = page_context()
shielded(quality_view, context.engine, context.mode)
