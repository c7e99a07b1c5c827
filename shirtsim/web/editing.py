"""Who edits, and where edits go: the sidebar's editor sign-in and the catalog's workspace.

With ``$SHIRTSIM_EDITOR_PASSWORD`` set, the editing tools (Re-index, pin and block on the tiles,
the Curation page) appear only after that password is entered in the sidebar; the check is
:class:`shirtsim.feed.access.PasswordGate`'s (constant time, wrong tries slowed down for the whole
server). Without it, anyone can edit, and the sidebar says so. Visitors see the curation and the
default rules applied, and no tools.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from shirtsim.engine import Engine
from shirtsim.feed.access import PasswordGate, SignInBusy
from shirtsim.feed.curation import CurationError
from shirtsim.feed.workspace import Workspace
from shirtsim.settings import CURATION, EDITOR_PASSWORD
from shirtsim.text import markdown_literal as plain

EDITOR = "editor"  # session key: this session entered the password
PROBLEM = "edit-problem"  # session key: an edit a callback could not make, shown on the next run


@st.cache_resource
def _gate(secret: str) -> PasswordGate:
    return PasswordGate(secret)


def password_gate() -> PasswordGate:
    """One gate per server (and password): its slow-down counts every session's wrong tries."""
    return _gate(EDITOR_PASSWORD.get())


@st.cache_resource
def workspace(catalog_root: str, curation_setting: str) -> Workspace:
    """One workspace per catalog and ``$SHIRTSIM_CURATION``, shared by every session."""
    return Workspace(catalog_root, curation_setting or None)


def catalog_workspace(engine: Engine) -> Workspace:
    return workspace(str(engine.catalog.root), CURATION.get())


def may_edit() -> bool:
    """Whether this session may edit: no password is set, or it was entered here."""
    return not password_gate().required or bool(st.session_state.get(EDITOR))


def editor_sidebar() -> bool:
    """The sidebar's editing section; whether this session may edit."""
    gate = password_gate()
    st.subheader("Editing")
    if not gate.required:
        st.caption(
            "Anyone can edit here (re-index, pin, block). On a shared server, set SHIRTSIM_EDITOR_PASSWORD: "
            "docs/feed.md."
        )
        return True
    if st.session_state.get(EDITOR):
        st.caption("Signed in as an editor.")
        st.button("Sign out", key="sign-out", on_click=lambda: st.session_state.pop(EDITOR, None))
        return True
    with st.form("editor-sign-in", clear_on_submit=True, border=False):
        attempt = st.text_input("Editor password", type="password", key="editor-password")
        signed_in = st.form_submit_button("Sign in as an editor")
    if signed_in:
        try:
            right = gate.check(attempt)  # a wrong one returns late: guesses are slow
        except SignInBusy as e:
            st.warning(str(e))
            return False
        if right:
            st.session_state[EDITOR] = True
            st.rerun()
        st.error("That is not the editor password.")
    return False


def pair_key(query: str, target: str) -> str:
    """A widget key for one (query, target) pair: ids may hold hyphens (``a-b``, ``c`` and ``a``,
    ``b-c`` must not share a key), so the pair is hashed as a list."""
    return hashlib.sha1(json.dumps([query, target]).encode()).hexdigest()[:16]


def edit(change, *args: object) -> None:  # noqa: ANN001 (a Workspace method)
    """A tile's or the Curation page's callback: make the change, or keep why it failed for the
    next run to show (a callback cannot draw, and must never raise into Streamlit)."""
    try:
        change(*args)
    except (CurationError, OSError) as e:
        st.session_state[PROBLEM] = str(e)


def show_edit_problem() -> None:
    problem = st.session_state.pop(PROBLEM, None)
    if problem:
        st.error(plain(f"The change was not saved: {problem}"))
