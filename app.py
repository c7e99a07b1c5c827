"""shirtsim web page: browse the catalog, pick or upload a shirt, see the most similar ones.

UI only: every decision about images, embeddings and ranking lives in ``shirtsim``.
Run with ``streamlit run app.py`` (catalog: ``$SHIRTSIM_CATALOG``, default the bundled demo).
"""

from __future__ import annotations

import hashlib
import logging

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from shirtsim import settings
from shirtsim.descriptors import DEFAULT_MODE, MODES, Mode
from shirtsim.engine import Engine, default_catalog_dir
from shirtsim.errors import ShirtsimError
from shirtsim.images import MAX_BYTES, decode_image
from shirtsim.index import IndexReport
from shirtsim.search import Match, VectorIndex
from shirtsim.store import default_cache_dir
from shirtsim.weights import resolve_weights

COLUMNS = 5
PAGE_SIZE = 20
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp"]
MODE_LABELS = {"balanced": "overall", "pattern": "pattern", "colour": "colour", "seed": "seed (notebook)"}
log = logging.getLogger("shirtsim.app")
if not logging.getLogger("shirtsim").handlers:  # the library's info lines (model loads) go to the server log
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("shirtsim").addHandler(_handler)
    logging.getLogger("shirtsim").setLevel(logging.INFO)


@st.cache_resource(show_spinner="Loading the model (once per server)…")
def get_engine(catalog_dir: str, weights_spec: str, cache_dir: str, index_spec: str) -> Engine:
    """One engine (catalog, model, indexes) per server process, shared by every session."""
    return Engine(catalog_dir, weights=resolve_weights(weights_spec), cache_dir=cache_dir, index_backend=index_spec)


def main() -> None:
    st.set_page_config(page_title="shirtsim: similar shirts", page_icon="👕", layout="wide")
    st.title("shirtsim")
    st.caption("Pick a shirt or upload a photo: the most visually similar shirts in the catalog, best first.")
    try:
        engine = get_engine(
            str(default_catalog_dir()),
            settings.WEIGHTS.get(),
            str(default_cache_dir()),
            settings.INDEX.get(),
        )
    except ShirtsimError as e:
        st.error(str(e))
        st.stop()
    mode, k, reindex = sidebar()
    index = load_index(engine, mode, rebuild=reindex)
    if len(index) == 0:
        st.warning(f"The catalog {engine.catalog.root} has no readable images. Add some and press Re-index.")
        return

    upload = st.file_uploader("Upload a photo of a shirt (JPEG, PNG or WebP)", type=UPLOAD_TYPES)
    if upload is not None and st.session_state.get("upload_seen") != upload.file_id:
        st.session_state.upload_seen = upload.file_id  # a new upload becomes the query
        st.session_state.source = "upload"

    if upload is not None and st.session_state.get("source") == "upload":
        show_upload_results(engine, upload, mode, k)
    else:
        shirt = selected_shirt(engine, index)
        if shirt is not None:
            show_shirt_results(engine, shirt, mode, k)
    browse(engine, index)


def sidebar() -> tuple[Mode, int, bool]:
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
        k = st.slider("Number of results", 1, 30, 10, key="k")
        reindex = st.button("Re-index catalog", help="Re-read the folder and embed new or changed images.")
    return MODES[mode_name], k, reindex


def sidebar_status(engine: Engine, report: IndexReport) -> None:
    """Catalog and model facts, drawn after indexing so a re-index shows the new state at once."""
    with st.sidebar:
        st.divider()
        st.subheader("Catalog")
        st.text(str(engine.catalog.root))
        st.write(f"{len(engine.catalog)} images")
        if report.backend:  # the index lives in Milvus: say where, and what the last sync did
            st.caption(report.backend)
        if report.skipped:
            with st.expander(f"⚠️ {len(report.skipped)} file(s) skipped"):
                for s in report.skipped[:200]:
                    st.text(f"{s.name}: {s.reason}")
        for problem in report.problems[:5] + engine.label_problems:
            st.warning(problem)
        st.subheader("Model")
        st.write(f"VGG16, weights: {engine.weights.label}")
        if engine.weights.note:
            st.info(engine.weights.note)


def load_index(engine: Engine, mode: Mode, rebuild: bool) -> VectorIndex:
    bar = None

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar
        if bar is None:
            bar = st.progress(0.0, text=what)
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"{what}: {done}/{total}")

    try:
        index, report = engine.index_with_report(mode.kind, progress=progress, rebuild=rebuild)
    except ShirtsimError as e:
        st.error(str(e))
        st.stop()
    if bar is not None:
        bar.empty()
    sidebar_status(engine, report)
    return index


def selected_shirt(engine: Engine, index: VectorIndex) -> str | None:
    shirt = st.query_params.get("shirt")
    if not shirt:
        return None
    try:
        return engine.check_id(shirt, index)
    except ShirtsimError as e:
        st.error(str(e))
        return None


def select(shirt_id: str) -> None:
    st.query_params["shirt"] = shirt_id
    st.session_state.source = "shirt"


def show_shirt_results(engine: Engine, shirt: str, mode: Mode, k: int) -> None:
    left, right = st.columns([1, 3])
    with left:
        st.image(str(engine.image_path(shirt)), caption=f"Selected: {shirt}", width="stretch")
        labels = engine.labels.rows.get(shirt) if engine.labels else None
        if labels:
            st.text("\n".join(f"{c}: {v}" for c, v in labels.items() if v))
    with right:
        st.subheader(f"Most similar to {shirt}")
        results_grid(engine, engine.similar_to_id(shirt, mode, k), "res")


def show_upload_results(engine: Engine, upload: UploadedFile, mode: Mode, k: int) -> None:
    data = upload.getvalue()
    if len(data) > MAX_BYTES:
        st.error(f"{upload.name}: file is too large (limit {MAX_BYTES // (1024 * 1024)} MB).")
        return
    key = (hashlib.sha256(data).hexdigest(), mode.kind.name)
    try:
        img = decode_image(data, upload.name)
        if st.session_state.get("upload_vec_key") != key:  # embed once per upload, not per rerun
            st.session_state.upload_vec = engine.describe_image_bytes(data, upload.name, mode.kind)
            st.session_state.upload_vec_key = key
    except ShirtsimError as e:
        st.error(str(e))
        return
    matches = engine.similar_to_vector(st.session_state.upload_vec, mode, k)
    left, right = st.columns([1, 3])
    with left:
        st.image(img, caption="Your photo", width="stretch")
    with right:
        st.subheader("Most similar to your photo")
        results_grid(engine, matches, "up")


def results_grid(engine: Engine, matches: list[Match], key_prefix: str) -> None:
    shirt_grid(engine, [(m.id, f"{m.id} · {m.score:.3f}") for m in matches], key_prefix, "Find shirts like this one")


def shirt_grid(engine: Engine, tiles: list[tuple[str, str]], key_prefix: str, help_text: str) -> None:
    """Shirts as a grid, row by row over COLUMNS columns; each tile's button selects its shirt."""
    cols = st.columns(COLUMNS)
    for n, (shirt_id, label) in enumerate(tiles):
        with cols[n % COLUMNS]:
            st.image(str(engine.image_path(shirt_id)), width="stretch")
            st.button(
                label,
                key=f"{key_prefix}-{shirt_id}",
                on_click=select,
                args=(shirt_id,),
                help=help_text,
                width="stretch",
            )


def browse(engine: Engine, index: VectorIndex) -> None:
    st.divider()
    st.subheader("Browse the catalog")
    ids = index.ids
    if engine.labels and engine.labels.columns:
        filters = st.columns(min(4, len(engine.labels.columns)))
        for col_name, slot in zip(engine.labels.columns[:4], filters):
            chosen = slot.multiselect(col_name, engine.labels.values(col_name), key=f"filter-{col_name}")
            if chosen:
                ids = [i for i in ids if engine.labels.rows.get(i, {}).get(col_name) in chosen]
    if not ids:
        st.info("No shirt matches these filters.")
        return
    pages = (len(ids) + PAGE_SIZE - 1) // PAGE_SIZE
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="page") if pages > 1 else 1
    start = (int(page) - 1) * PAGE_SIZE
    shirt_grid(engine, [(i, i) for i in ids[start : start + PAGE_SIZE]], "pick", "Find similar shirts")


try:
    main()
except ShirtsimError as e:
    st.error(str(e))
except Exception:  # a bug, not bad input: log it for us, tell the user plainly, no traceback
    log.exception("unexpected error")
    st.error("Something went wrong on our side. Please try again; if it persists, press Re-index.")
