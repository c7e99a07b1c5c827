"""Tile grids under Streamlit's AppTest, which renders a component but has no driver for one:
what a grid was given, and a click on a tile sent the way the page sends it. The browse grid's
key is ``browse-grid``; the results' (steering tools off) ``res-grid``, ``up-grid`` (an upload's)
and ``cmp-grid`` (the compared mode's)."""

from __future__ import annotations

import json

GRID = "shirtsim.tile_grid"  # shirtsim.web.tile_grid.NAME
BROWSE = "browse-grid"


def _grid(at, key: str):
    grids = [e for e in at.get("bidi_component") if e.proto.component_name == GRID and e.key == key]
    assert len(grids) <= 1, f"{len(grids)} grids with the key {key}"
    return grids[0] if grids else None


def grid_data(at, key: str = BROWSE) -> dict | None:
    """What the grid ``key`` was given in AppTest's last run (tiles, pictures sent), or None."""
    grid = _grid(at, key)
    return json.loads(grid.proto.json) if grid else None


def grid_tiles(at, key: str = BROWSE) -> dict[str, str]:
    """The tiles of a grid: id -> the button's label, in the grid's order (row by row, best first)."""
    data = grid_data(at, key)
    return {t["id"]: t["label"] for t in data["tiles"]} if data else {}


def browse_tiles(at) -> dict[str, str]:
    return grid_tiles(at, BROWSE)


def grid_notes(at, key: str) -> dict[str, str]:
    """id -> the line under its tile, for the tiles that have one."""
    data = grid_data(at, key)
    return {t["id"]: t["note"] for t in data["tiles"] if t["note"]} if data else {}


def browse_picture(at, shirt_id: str) -> str:
    """The key of the picture the browse grid's tile of ``shirt_id`` shows."""
    (key,) = [t["picture"] for t in grid_data(at)["tiles"] if t["id"] == shirt_id]
    return key


def pick(at, shirt_id: str, key: str = BROWSE):
    """A click on a tile of the grid ``key`` under AppTest (setTriggerValue("picked", id))."""
    assert shirt_id in grid_tiles(at, key), f"{shirt_id} is not on the grid {key}"
    return send(at, key, "picked", shirt_id)


def send(at, key: str, event: str, value: object):
    """An event of the grid ``key``'s script put into the next run's widget states, and that run.
    Streamlit's own trigger naming is used, so a change there fails here, loudly."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    grid = _grid(at, key)
    assert grid is not None, f"no grid {key} on the page"
    states = at._tree.get_widget_states()
    trigger = states.widgets.add()
    trigger.id = _make_trigger_id(grid.proto.id, "events")
    trigger.json_trigger_value = json.dumps([{"event": event, "value": value}])
    return at._run(states)
