"""What every page stands on, set up by the router on each run: the server's one engine, the
sidebar's settings, the catalog's index for the chosen mode, and what the sidebar says about them."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from shirtsim import settings
from shirtsim.describe.descriptors import DEFAULT_MODE, MODES, Mode
from shirtsim.engine import Engine, default_catalog_dir
from shirtsim.errors import RemovalRefused, ShirtsimError
from shirtsim.feed.curation import Curation, CurationError
from shirtsim.feed.rules import Rules, RulesError
from shirtsim.feed.workspace import Workspace
from shirtsim.index.build import IndexReport
from shirtsim.index.search import VectorIndex
from shirtsim.model.weights import resolve_weights
from shirtsim.store import default_cache_dir
from shirtsim.text import markdown_literal as plain
from shirtsim.text import printable
from shirtsim.web.editing import catalog_workspace, editor_sidebar
from shirtsim.web.rules_panel import rule_controls
from shirtsim.web.widgets import MODE_LABELS, PageProgress

KEY = "page-context"
NO_COMPARISON = "(none)"


@dataclass(frozen=True)
class PageContext:
    """The engine, the index of the sidebar's mode, and the sidebar's settings, for one run."""

    engine: Engine
    index: VectorIndex
    report: IndexReport
    mode: Mode
    k: int
    editor: bool  # this session may edit (:mod:`shirtsim.web.editing`)
    rules: Rules  # this session's rules (the sidebar's, from the store's defaults)
    curation: Curation
    workspace: Workspace


@st.cache_resource(show_spinner="Opening the catalog…")
def server_engine(catalog_dir: str, weights_spec: str, cache_dir: str, index_spec: str, projection_spec: str) -> Engine:
    """One engine (catalog, model, indexes) per server process and settings, shared by every session."""
    return Engine(
        catalog_dir,
        weights=resolve_weights(weights_spec),
        cache_dir=cache_dir,
        index_backend=index_spec,
        projection=projection_spec,
    )


def open_catalog() -> PageContext | None:
    """The engine, the sidebar and the index (built with a progress bar if it must be); None when the
    catalog has nothing to show. Errors are shown, and the run stops."""
    try:
        engine = server_engine(
            str(default_catalog_dir()),
            settings.WEIGHTS.get(),
            str(default_cache_dir()),
            settings.INDEX.get(),
            settings.PROJECTION.get(),
        )
    except ShirtsimError as e:
        st.error(plain(e))
        st.stop()
    space = catalog_workspace(engine)
    mode, k, reindex, editor, rules = sidebar_settings(engine, space)
    engine.warm_up_in_background(mode.kind)  # from the first page on: the first upload does not wait for the model
    confirmed = st.session_state.pop("confirm-removals", False)
    index, report = load_index(engine, mode, rebuild=reindex, allow_removals=confirmed)
    sidebar_status(engine, report)
    if report.withheld is not None:
        removal_notice(report.withheld)
    if len(index) == 0:
        st.warning(plain(f"The catalog {engine.catalog.root} has no readable images. Add some and press Re-index."))
        return None
    curation = store_curation(space, engine, editor)
    context = PageContext(engine, index, report, mode, k, editor, rules, curation, space)
    st.session_state[KEY] = context
    return context


def page_context() -> PageContext:
    """The context the router set up for this run."""
    return st.session_state[KEY]


def sidebar_settings(engine: Engine, space: Workspace) -> tuple[Mode, int, bool, bool, Rules]:
    """The sidebar's controls: mode, comparison, tools, k, the rules, and the editor's section
    (Re-index is an editor's)."""
    with st.sidebar:
        st.header("Settings")
        names = list(MODES)
        mode_name = st.radio(
            "Match on",
            names,
            index=names.index(DEFAULT_MODE),
            key="mode",
            format_func=lambda n: MODE_LABELS[n],
            help="\n".join(f"- **{MODE_LABELS[m.name]}**: {m.help}" for m in MODES.values()),
        )
        st.selectbox(
            "Compare with",
            [NO_COMPARISON] + names,
            key="compare",
            format_func=lambda n: MODE_LABELS.get(n, n),
            help="Show the results of a second mode beside the first, for the same query.",
        )
        st.toggle(
            "Steer and explain results",
            key="tools",
            help="Under each result: more like it, less like it, and why it matched. Off: a lighter, faster grid.",
        )
        k = st.slider("Number of results", 1, 30, 10, key="k")
        defaults, problem = space.default_rules()
        with st.expander("Rules", expanded=bool(defaults)):
            if problem:
                st.warning(plain(problem))
            rules = rule_controls(engine.labels, defaults, "rule")
            try:
                rules.check(engine.labels)
            except RulesError as e:  # the defaults name a column labels.csv no longer has
                st.warning(plain(f"{e} The rules are not applied."))
                rules = Rules()
        editor = editor_sidebar()
        reindex = editor and st.button("Re-index catalog", help="Re-read the folder and embed new or changed images.")
    return MODES[mode_name], k, reindex, editor, rules


def store_curation(space: Workspace, engine: Engine, editor: bool) -> Curation:
    """The curation every list follows; its file's problems are shown to editors."""
    try:
        curation = space.curation(engine.catalog)
    except CurationError as e:
        st.sidebar.warning(plain(f"{e} Pins and blocks are not applied."))
        return Curation()
    if editor and curation.problems:
        with st.sidebar.expander(f"⚠️ The curation file has {len(curation.problems)} kind(s) of problem"):
            st.text("\n".join(curation.problems))
    return curation


def sidebar_status(engine: Engine, report: IndexReport) -> None:
    """Catalog and model facts, drawn after indexing so a re-index shows the new state at once."""
    with st.sidebar:
        st.divider()
        if engine.cache_warning:
            st.warning(plain(engine.cache_warning))
        st.subheader("Catalog")
        st.text(printable(str(engine.catalog.root)))
        st.write(f"{len(engine.catalog)} images")
        if report.backend:  # the index lives in Milvus: say where, and what the last sync did
            st.caption(plain(report.backend))
        if report.skipped:
            with st.expander(f"⚠️ {len(report.skipped)} file(s) skipped"):
                st.text("\n".join(f"{s.name}: {s.reason}" for s in report.skipped[:200]))
        for problem in report.problems[:5] + engine.label_problems:
            st.warning(plain(problem))
        stale = dict(engine.stale)
        if stale:
            first, why = next(iter(stale.items()))
            st.warning(
                plain(f"{len(stale)} shirt(s) changed on disk since the index was built ({first}: {why}).")
                + " Press **Re-index catalog** to update."
            )
        st.session_state.stale_shown = len(stale)
        st.subheader("Model")
        st.write(f"VGG16, weights: {plain(engine.weights.label)}")
        if engine.weights.note:
            st.info(plain(engine.weights.note))
        st.write(f"Learned projection: {plain(engine.projection_choice.label)}")
        if engine.projection_choice.note:
            st.info(plain(engine.projection_choice.note))


def load_index(
    engine: Engine, mode: Mode, rebuild: bool, allow_removals: bool = False
) -> tuple[VectorIndex, IndexReport]:
    progress = PageProgress()
    try:
        index, report = engine.index_with_report(
            mode.kind, progress=progress, rebuild=rebuild, allow_removals=allow_removals
        )
    except RemovalRefused as e:  # Milvus holds many more rows than the folder has shirts
        removal_notice(e)
        st.stop()
    except ShirtsimError as e:
        st.error(plain(e))
        st.stop()
    progress.clear()
    return index, report


def removal_notice(withheld: RemovalRefused) -> None:
    """Many indexed shirts' files are gone at once: nothing was removed until a person confirms."""
    st.error(plain(f"{withheld} Those shirts stay in the index, and on this page, until you confirm."))
    st.button(
        f"Remove the {withheld.removed:,} missing shirts from the index",
        key="remove-missing",
        on_click=lambda: st.session_state.update({"confirm-removals": True}),
        help="Only when their files really are gone for good: they are then removed from the index.",
    )
