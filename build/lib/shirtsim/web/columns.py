"""Which label columns a page works with. A product feed carries hundreds of columns (free text,
numbers, ids); filters and charts use those with 2 to 50 values (:meth:`Labels.usable_columns`),
the first ones by default, and let the user pick others."""

from __future__ import annotations

import streamlit as st

from shirtsim.engine import Engine
from shirtsim.text import printable

SHOWN_COLUMNS = 12  # label columns a page charts, colours or filters by at first (others can be picked)


def label_columns(engine: Engine) -> list[str]:
    """The label columns that can serve a chart or a filter."""
    return engine.labels.usable_columns() if engine.labels else []


def chosen_columns(engine: Engine, key: str, label: str) -> list[str]:
    """The first :data:`SHOWN_COLUMNS` usable columns, or, when there are more, the ones picked in
    a multiselect (every usable column can be picked)."""
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
