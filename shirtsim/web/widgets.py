"""What every page draws with: the guard that turns a bug into an apology, a progress bar for the
library's reports, and pictures sent inline (shirt tiles are :mod:`shirtsim.web.tile_grid`).

Text from outside (ids, file and folder names, ``labels.csv`` names and values, upload names,
``?shirt=``) reaches markdown-rendering elements only through ``plain``
(:func:`shirtsim.text.markdown_literal`); elsewhere it goes through ``st.text``. Pictures are the
engine's cached thumbnails (bytes), never catalog files.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from shirtsim.errors import ShirtsimError
from shirtsim.step_aside import PAGE_RUNS
from shirtsim.text import markdown_literal as plain

COLUMNS = 5
MODE_LABELS = {"balanced": "overall", "pattern": "pattern", "colour": "colour", "seed": "seed (notebook)"}
log = logging.getLogger("shirtsim.web")


def inline_jpeg(jpeg: bytes) -> str:
    """A JPEG as a data URI: the picture travels with the element that shows it. A click's pictures
    then need no requests of their own after the run (each took a round trip to a server still
    busy with the run: docs/performance.md)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def shielded(draw: Callable[..., None], *args: object) -> None:
    """Run part of the page; bad input becomes ``st.error``, a bug a logged one-line apology, never a
    traceback. (Streamlit's rerun and stop signals are not ``Exception``s: they pass through.)
    Every run starts here (the router, a fragment): background work steps aside from now on
    until the run ends (:mod:`shirtsim.step_aside`, :mod:`shirtsim.web.hooks`)."""
    PAGE_RUNS.started()
    try:
        draw(*args)
    except ShirtsimError as e:
        st.error(plain(e))
    except Exception:  # noqa: BLE001 (a bug, not bad input: log it for us, tell the user plainly)
        log.exception("unexpected error")
        st.error("Something went wrong on our side. Please try again; if it persists, press Re-index.")


class PageProgress:
    """A progress bar for the library's progress reports, drawn at the first one."""

    def __init__(self) -> None:
        self.bar: DeltaGenerator | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.bar is None:
            self.bar = st.progress(0.0, text=what)
        self.bar.progress(min(1.0, done / total) if total else 1.0, text=f"{what}: {done}/{total}")

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.empty()
