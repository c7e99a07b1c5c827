"""A grid of shirt tiles drawn as one element (an ``st.components.v2`` component): the browse
grid, the results when the steering tools are off, and the overview pages' shirts. As Streamlit elements each tile was a
picture and a button in a column, and every rerun sent and drew them all again, one by one (about
half of a browse click's elements were the browse grid: docs/performance.md). Here a grid is one
element of ids and labels; each picture crosses the wire once per session and grid, and the page
keeps it.

The buttons are real ``<button>``s named by their label; labels and notes are put in as text,
never markup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files

import streamlit as st

from shirtsim.catalog.thumbnails import placeholder
from shirtsim.engine import Engine
from shirtsim.text import printable, unlinked
from shirtsim.web.widgets import inline_jpeg

NAME = "shirtsim.tile_grid"
KEPT = 500  # pictures a session remembers sending to one grid (the page keeps up to 1,500 in all)
RECORDS = "tile-grid-pictures"  # session state: grid key -> the keys of the pictures its page was sent
_mount = st.components.v2.component(
    NAME,
    css=files(__package__).joinpath("tile_grid.css").read_text(encoding="utf-8"),
    js=files(__package__).joinpath("tile_grid.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # a part of the page: its pictures are the document's, its buttons found by role
)


@dataclass(frozen=True)
class Tile:
    """One tile: a catalog shirt, its picture (JPEG), what its button says, a line under it."""

    id: str
    picture: bytes
    label: str
    note: str = ""


def shirt_tile(engine: Engine, shirt_id: str, label: str | None = None, note: str = "") -> Tile:
    """A catalog shirt's tile: its cached thumbnail (a grey placeholder when its file is gone and
    was never pictured), labelled by its id unless told otherwise."""
    return Tile(
        shirt_id, engine.picture(shirt_id) or placeholder(), tile_label(shirt_id) if label is None else label, note
    )


def tile_label(shirt_id: str) -> str:
    """A shirt's id as every other part of the page displays it."""
    return unlinked(printable(shirt_id))


def picture_key(jpeg: bytes) -> str:
    """A picture's name on the page: from its bytes, so a changed photo is a new picture."""
    return hashlib.blake2b(jpeg, digest_size=12).hexdigest()


def tile_grid(tiles: list[Tile], key: str, help_text: str, on_pick: Callable[[str], None]) -> None:
    """Tiles in rows of five; a tile's button calls ``on_pick`` with its shirt's id."""
    # Each grid has its own record: two grids drawn in one run are set up by the page in no set
    # order, so one cannot count on a picture the other was sent.
    sent: set[str] = st.session_state.setdefault(RECORDS, {}).setdefault(key, set())
    if len(sent) > KEPT:  # memory per session stays bounded: the pictures shown are sent again
        sent.clear()
    data: dict[str, object] = {"grid": key, "tiles": [], "pictures": {}, "help": help_text}
    for tile in tiles:
        digest = picture_key(tile.picture)
        data["tiles"].append({"id": tile.id, "label": tile.label, "note": tile.note, "picture": digest})
        if digest not in sent:
            data["pictures"][digest] = inline_jpeg(tile.picture)
            sent.add(digest)
    shown = frozenset(tile.id for tile in tiles)
    _mount(
        key=key,
        data=data,
        on_picked_change=lambda: picked(key, shown, on_pick),
        on_lost_change=lambda: lost(key, sent),
        width="stretch",
    )


def picked(key: str, shown: frozenset[str], on_pick: Callable[[str], None]) -> None:
    """A tile's click: its shirt, if it is one this grid showed (the page could send any text)."""
    shirt_id = st.session_state[key].picked
    if shirt_id in shown:
        on_pick(shirt_id)


def lost(key: str, sent: set[str]) -> None:
    """The page lacks pictures it was sent (their run was replaced before they arrived, or it let
    them go): they are sent again with the next run."""
    keys = st.session_state[key].lost
    if isinstance(keys, list):
        sent.difference_update(k for k in keys if isinstance(k, str))
    else:
        sent.clear()
