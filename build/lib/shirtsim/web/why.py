"""The "Why this match?" dialog: the score part by part, both palettes, and where the textures
agree (computed when asked, about 0.2 s; never stored)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from shirtsim.describe.descriptors import STYLE_KIND, Mode
from shirtsim.describe.explain import swatch_strip
from shirtsim.engine import Engine
from shirtsim.query import Query
from shirtsim.text import markdown_literal as plain
from shirtsim.upload import Upload
from shirtsim.web.widgets import shielded

PART_LABELS = {
    "texture": "texture",
    "colour": "colour",
    "texture_learned": "learned texture",
    "colour_learned": "learned colour",
}


@st.dialog("Why this match?", width="large")
def why_dialog(engine: Engine, query: Query, vector: np.ndarray, result_id: str, mode: Mode) -> None:
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
