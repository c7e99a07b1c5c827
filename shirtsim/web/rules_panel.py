"""The rules' controls (:mod:`shirtsim.feed.rules`): in the sidebar for this session's results, and on
the Curation page for the store's defaults, which every session starts from."""

from __future__ import annotations

import streamlit as st

from shirtsim.catalog.labels import Labels
from shirtsim.feed.rules import Rules, numeric_columns
from shirtsim.text import markdown_literal as plain

ANY = "(any)"
NEAR_DEFAULT_PCT = 20
MAX_PCT = 200.0


def rule_controls(labels: Labels | None, initial: Rules, prefix: str) -> Rules:
    """Controls for each rule, starting from ``initial`` (their keys start with ``prefix``); the
    rules they say. A labels.csv is needed: without one there is nothing to apply rules to."""
    if labels is None:
        st.caption("Rules read the catalog's labels.csv, which it has not.")
        return Rules()
    keys = {name: f"{prefix}-{name}" for name in ("same", "one-per", "filter-column", "filter-values", "near", "pct")}
    if keys["same"] not in st.session_state:  # first draw in this session (or reset): the initial rules
        reset(labels, initial, prefix)
    columns = labels.columns
    same = st.multiselect("Same as the query's", columns, key=keys["same"], help="Same category: `--same`.")
    one_per = st.multiselect(
        "At most one per",
        columns,
        key=keys["one-per"],
        help="No two variants of a product, none of the query's: `--one-per`.",
    )
    filter_column = st.selectbox(
        "Only shirts whose",
        [ANY, *labels.usable_columns()],
        key=keys["filter-column"],
        on_change=lambda: st.session_state.update({keys["filter-values"]: []}),  # the old column's values
    )
    values: list[str] = []
    if filter_column != ANY:
        values = st.multiselect("is one of", labels.values(filter_column), key=keys["filter-values"])
    near_column = st.selectbox("Near in price", [ANY, *numeric_columns(labels)], key=keys["near"])
    percent = st.slider("within ± percent", 0.5, MAX_PCT, step=0.5, key=keys["pct"]) if near_column != ANY else None
    # The defaults' filters that no control shows (one filter column is shown) stay applied: a
    # visitor's list is the store's, as `similar` with the same flags gives it.
    shown = _shown_filter(labels, initial)
    filters = {c: v for c, v in initial.filters.items() if c != shown and c != filter_column}
    if filters:
        st.caption(plain("Also applied (the store's defaults): " + Rules(filters).describe()))
    if filter_column != ANY and values:
        filters[filter_column] = tuple(values)
    return Rules(filters, tuple(same), tuple(one_per), {near_column: float(percent)} if percent else {})


def reset(labels: Labels, rules: Rules, prefix: str) -> None:
    """Put ``rules`` in the controls (before they are drawn, or from a button's callback)."""
    columns = set(labels.columns)
    shown = _shown_filter(labels, rules)
    near = next(iter(rules.near.items()), (ANY, NEAR_DEFAULT_PCT))
    st.session_state.update(
        {
            f"{prefix}-same": [c for c in rules.same if c in columns],
            f"{prefix}-one-per": [c for c in rules.one_per if c in columns],
            f"{prefix}-filter-column": shown or ANY,
            f"{prefix}-filter-values": list(rules.filters[shown]) if shown else [],
            f"{prefix}-near": near[0] if near[0] in columns else ANY,
            f"{prefix}-pct": float(min(MAX_PCT, max(0.5, round(near[1] * 2) / 2))),
        }
    )


def _shown_filter(labels: Labels, rules: Rules) -> str | None:
    """The one filter column of ``rules`` the controls show (the first the selectbox offers)."""
    return next((c for c in rules.filters if c in labels.usable_columns()), None)
