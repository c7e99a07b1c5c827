"""The browse grid under Streamlit's AppTest, which renders a component but has no driver for
one: what the grid was given, and a click on a tile sent the way the page sends it."""

from __future__ import annotations

import json

GRID = "shirtsim.tile_grid"  # shirtsim.web.tile_grid.NAME


def browse_grid(at) -> dict | None:
    """What the browse grid was given in AppTest's last run (tiles, pictures sent), or None."""
    grids = [e for e in at.get("bidi_component") if e.proto.component_name == GRID]
    if not grids:
        return None
    (grid,) = grids
    return json.loads(grid.proto.json)


def browse_tiles(at) -> dict[str, str]:
    """The browse grid's tiles under AppTest: id -> the button's label, in the grid's order."""
    grid = browse_grid(at)
    return {t["id"]: t["label"] for t in grid["tiles"]} if grid else {}


def browse_picture(at, shirt_id: str) -> str:
    """The key of the picture the browse grid's tile of ``shirt_id`` shows."""
    (key,) = [t["picture"] for t in browse_grid(at)["tiles"] if t["id"] == shirt_id]
    return key


def pick(at, shirt_id: str):
    """A click on a browse tile under AppTest, which has no driver for components: the event the
    grid's script sends (setTriggerValue("picked", id)) put into the next run's widget states.
    Streamlit's own trigger naming is used, so a change there fails here, loudly."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    (grid,) = [e for e in at.get("bidi_component") if e.proto.component_name == GRID]
    assert shirt_id in browse_tiles(at), f"{shirt_id} is not on the browse grid"
    states = at._tree.get_widget_states()
    event = states.widgets.add()
    event.id = _make_trigger_id(grid.proto.id, "events")
    event.json_trigger_value = json.dumps([{"event": "picked", "value": shirt_id}])
    return at._run(states)
