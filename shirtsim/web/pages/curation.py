"""The Curation page (editors only): every pin and block with its shirts, the curation file to
download or replace, the rules' defaults every visitor starts from, and the export of every
product's list (docs/feed.md)."""

from __future__ import annotations

import streamlit as st

from shirtsim.catalog.thumbnails import placeholder
from shirtsim.engine import Engine
from shirtsim.feed.curation import EVERY, Curation, CurationError
from shirtsim.feed.rules import RulesError
from shirtsim.feed.workspace import Workspace
from shirtsim.text import markdown_literal as plain
from shirtsim.text import printable
from shirtsim.web.context import PageContext, page_context
from shirtsim.web.editing import edit, pair_key, show_edit_problem
from shirtsim.web.rules_panel import reset, rule_controls
from shirtsim.web.widgets import PageProgress, shielded

SHOWN = 50  # pins and blocks listed at once (the file holds them all)
MAX_UPLOAD_BYTES = 20 << 20  # a curation file of ~500,000 lines
EXPORT = "curation-export"  # session key: the last export made here (an ExportFile: its path and summary)


def curation_page(context: PageContext) -> None:
    engine, space = context.engine, context.workspace
    st.header("Curation")
    st.caption(plain(f"Pins and blocks apply to every visitor's lists and to the export. File: {space.curation_path}"))
    show_edit_problem()
    curation = context.curation
    for problem in curation.problems:
        st.warning(plain(problem))
    pins = [(q, p, t) for q, found in sorted(curation.pins.items()) for p, t in found]
    blocks = [(q, t) for q, found in sorted(curation.blocks.items()) for t in sorted(found)]
    st.subheader(f"Pins ({len(pins):,})")
    if not pins:
        st.caption("None yet: switch on the tile tools in the sidebar, then pin a result on the Search page.")
    for query, position, target in pins[:SHOWN]:
        pair_row(engine, space, query, target, "pin", f"at place {position} in {query}'s list")
    st.subheader(f"Blocks ({len(blocks):,})")
    for query, target in blocks[:SHOWN]:
        where = "from every list" if query == EVERY else f"from {query}'s list"
        pair_row(engine, space, query, target, "block", where)
    if len(pins) > SHOWN or len(blocks) > SHOWN:
        st.caption(f"The first {SHOWN} of each are listed; the file below holds them all.")
    block_everywhere(space)
    the_file(space, engine, curation)
    default_rules(context)
    export_lists(context)


def pair_row(engine: Engine, space: Workspace, query: str, target: str, action: str, where: str) -> None:
    left, right, text, button = st.columns([1, 1, 4, 1], vertical_alignment="center")
    if query != EVERY:
        left.image(engine.picture(query) or placeholder(), width="stretch")
    right.image(engine.picture(target) or placeholder(), width="stretch")
    text.text(printable(f"{action} {target} {where}"))
    button.button(
        "Remove",
        key=f"remove-{action}-{pair_key(query, target)}",
        on_click=edit,
        args=(space.remove, query, action, target),
        width="stretch",
    )


def block_everywhere(space: Workspace) -> None:
    with st.form("block-everywhere", clear_on_submit=True):
        shirt = st.text_input("Block a shirt from every list (its id)")
        if st.form_submit_button("Block everywhere") and shirt.strip():
            if shirt.strip() not in page_context().index:
                st.error(plain(f"No shirt {shirt.strip()!r} in this catalog."))
            else:
                edit(space.block, EVERY, shirt.strip())
                st.rerun()


def the_file(space: Workspace, engine: Engine, curation: Curation) -> None:
    st.subheader("The curation file")
    st.download_button("Download the CSV", space.curation_csv(), "curation.csv", "text/csv", key="download-curation")
    upload = st.file_uploader("Replace it with a CSV (query_id,action,target_id,position)", type=["csv"])
    if upload is not None and st.button("Replace the curation with this file", key="replace-curation"):
        if upload.size > MAX_UPLOAD_BYTES:
            st.error(f"The file is larger than {MAX_UPLOAD_BYTES >> 20} MB: not a curation file.")
            return
        try:
            replaced = space.replace(upload.getvalue().decode("utf-8-sig"), engine.catalog)
        except (UnicodeDecodeError, CurationError) as e:
            st.error(plain(f"Nothing was changed: {e}"))
            return
        st.success(f"Replaced: {sum(map(len, replaced.pins.values()))} pins, {len(replaced.rows)} lines.")
        for problem in replaced.problems:
            st.warning(plain(problem))


def default_rules(context: PageContext) -> None:
    st.subheader("The rules' defaults")
    st.caption("Every visitor's lists start from these rules (a visitor may change them in the sidebar).")
    defaults, _ = context.workspace.default_rules()
    rules = rule_controls(context.engine.labels, defaults, "defaults")
    if st.button("Save as the defaults", key="save-defaults"):
        try:
            rules.check(context.engine.labels)
        except RulesError as e:
            st.error(plain(e))
            return
        context.workspace.save_default_rules(rules)
        if context.engine.labels is not None:
            reset(context.engine.labels, rules, "rule")  # this session's sidebar follows at once
        st.rerun()


def export_lists(context: PageContext) -> None:
    st.subheader("Export every product's list")
    st.caption(
        f"Lists of {context.k} in {context.mode.name} mode, under the sidebar's rules and the curation: what "
        "`shirtsim export` writes with the same flags."
    )
    fmt = st.radio("Format", ["jsonl", "csv"], horizontal=True, key="export-format")
    if st.button("Make the export", key="make-export"):
        maker = context.engine.list_maker(context.mode, context.k, context.rules, context.curation)
        settings = repr((context.mode.name, context.k, context.rules, context.curation.rows))
        progress = PageProgress()
        st.session_state[EXPORT] = context.engine.exports.make(maker, fmt, settings, progress)
        progress.clear()
    made = st.session_state.get(EXPORT)
    if made is not None:
        if not made.path.is_file():
            st.warning("The export's file is no longer there (the cache was cleared?): make it again.")
            return
        note = f"; {made.short:,} shorter than asked (the rules or blocks)" if made.short else ""
        st.caption(f"{made.products:,} lists, {made.path.stat().st_size / 1e6:.1f} MB{note}.")
        # The file's bytes are read when the button is pressed, not kept in the session.
        name = f"similar{made.path.suffix}"
        st.download_button(f"Download {name}", made.read, name, key="download-export")


shielded(curation_page, page_context())
