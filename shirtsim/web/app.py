"""The web page's router: ``streamlit run app.py`` in a checkout, ``shirtsim app`` once installed
(which runs this file). Page config, the server log, the one private hook, replies without
Nagle's delay (:mod:`shirtsim.web.tcp`), then the page the URL names, over the catalog the
sidebar's settings open (:mod:`shirtsim.web.context`)."""

from __future__ import annotations

import logging

import streamlit as st

from shirtsim.web import hooks, tcp
from shirtsim.web.context import open_catalog
from shirtsim.web.navigation import navigation
from shirtsim.web.widgets import shielded

TITLE = "shirtsim"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_the_server() -> None:
    """The library's info lines (a model load, an unwritable cache) go to the server's log."""
    library = logging.getLogger("shirtsim")
    if not library.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        library.addHandler(handler)
        library.setLevel(logging.INFO)


def main() -> None:
    st.set_page_config(page_title="shirtsim: similar shirts", page_icon="👕", layout="wide")
    log_to_the_server()
    hooks.install()
    tcp.once_per_process()
    page = navigation()
    st.title(TITLE)
    st.caption("Pick a shirt or upload a photo: the most visually similar shirts in the catalog, best first.")
    if open_catalog() is not None:
        page.run()


if __name__ == "__main__":  # `streamlit run shirtsim/web/app.py` (what `shirtsim app` does)
    shielded(main)
