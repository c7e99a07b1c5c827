"""An uploaded photo on the Search page: read once per photo, kind and box, searched inside its
proposed box (:mod:`shirtsim.catalog.crop`), and a box editor to change that box: drag on the
photo, or type it in four inputs (fractions of the photo; tests drive these)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile
from streamlit_image_coordinates import streamlit_image_coordinates

from shirtsim.catalog.crop import WHOLE, Box, check_box, draw_box
from shirtsim.catalog.images import MAX_BYTES
from shirtsim.describe.descriptors import Mode
from shirtsim.engine import Engine
from shirtsim.errors import ShirtsimError
from shirtsim.text import markdown_literal as plain
from shirtsim.upload import Upload
from shirtsim.web.state import Photo, search_state

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp"]
BOX_KEYS = ("box-x0", "box-y0", "box-x1", "box-y1")  # the four numeric inputs of an upload's box
BOX_LABELS = ("Left", "Top", "Right", "Bottom")


def uploaded_photo(engine: Engine, file: UploadedFile, mode: Mode) -> Upload | None:
    """The upload read for ``mode``: a new photo inside its proposed box; a box changed in the
    inputs (or another mode) reads it again. Reruns for anything else reuse it."""
    state = search_state()
    photo = state.photo
    if photo is None or photo.file_id != file.file_id:  # a new upload becomes the query, its box proposed anew
        photo = state.photo = Photo(file.file_id)
        state.source = "upload"
    data = file.getvalue()
    if len(data) > MAX_BYTES:
        st.error(plain(f"{file.name}: file is too large (limit {MAX_BYTES // (1024 * 1024)} MB)."))
        return None
    digest = hashlib.sha256(data).hexdigest()
    box: Box | str = "auto"
    if photo.digest == digest:  # the photo was read before: the box in the inputs
        box = tuple(float(st.session_state.get(k, v)) for k, v in zip(BOX_KEYS, WHOLE))
        try:
            check_box(box)
        except ValueError as e:
            st.warning(plain(f"The box is not used: {e}. The results are for the last box that was."))
            box = photo.box
    if box == "auto" or photo.upload is None or photo.kind != mode.kind.name or photo.box != box:
        try:
            read = engine.read_upload(data, file.name, mode.kind, box)
        except ShirtsimError as e:
            st.error(plain(e))
            return None
        searched = read.box or WHOLE  # None: a studio shot, searched as it is
        if box == "auto":
            set_box(searched)
        photo.digest, photo.kind, photo.box, photo.upload = digest, mode.kind.name, searched, read
    return photo.upload


def set_box(box: Box) -> None:
    for key, value in zip(BOX_KEYS, box):
        st.session_state[key] = float(value)


def box_editor(photo: Upload) -> None:
    """The upload with the box that is searched drawn on it: drag on it for a new box, or type it in."""
    box = photo.box or WHOLE
    drawn = draw_box(Image.open(io.BytesIO(photo.preview)), box)
    draw_key = f"box-draw-{(search_state().photo.digest or '')[:16]}"  # a new photo starts a new drawing
    streamlit_image_coordinates(  # JPEG: the component's default PNG is ~0.6 MB, sent again on every rerun
        drawn,
        key=draw_key,
        use_column_width="always",
        click_and_drag=True,
        image_format="JPEG",
        jpeg_quality=85,
        on_click=lambda: box_drawn(draw_key),
    )
    st.caption("Your photo: the box is the part that is searched, its background made white. Drag on it for another.")
    inputs = st.columns(2)
    for n, (key, label) in enumerate(zip(BOX_KEYS, BOX_LABELS)):
        with inputs[n % 2]:
            st.number_input(label, min_value=0.0, max_value=1.0, step=0.01, format="%.2f", key=key)
    buttons = st.columns(2)
    if photo.proposed is not None:
        buttons[0].button("Auto box", key="box-proposed", on_click=set_box, args=(photo.proposed,))
    buttons[1].button("Whole photo", key="box-whole", on_click=set_box, args=(WHOLE,))


def box_drawn(draw_key: str) -> None:
    """A drag on the photo: its two corners, as fractions of the picture shown, become the box."""
    value = st.session_state.get(draw_key) or {}
    try:
        xs = sorted(float(value[k]) / float(value["width"]) for k in ("x1", "x2"))
        ys = sorted(float(value[k]) / float(value["height"]) for k in ("y1", "y2"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return  # a click, not a drag
    box = tuple(float(np.clip(v, 0.0, 1.0)) for v in (xs[0], ys[0], xs[1], ys[1]))
    try:
        set_box(check_box(box))
    except ValueError:
        st.toast("That box is too small: drag across the shirt.")
