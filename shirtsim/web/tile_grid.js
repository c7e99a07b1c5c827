// A grid of shirt tiles (a picture, a button, a note) drawn as one Streamlit element: see
// tile_grid.py. Pictures arrive once per session and grid as data URIs and are kept here by grid
// and content key, so a rerun that draws the same grid again sends ids and keys, not pictures.
const pictures = (window.__shirtsimPictures ??= new Map()); // "grid/key" -> data URI, oldest first
const KEPT = 1500; // in all grids: the page's memory stays bounded (tile_grid.py sends what it let go)

export default function ({ data, parentElement, setTriggerValue }) {
  const { grid: name, tiles, pictures: sent, help } = data;
  const named = (key) => `${name}/${key}`;
  for (const [key, src] of Object.entries(sent)) {
    pictures.delete(named(key)); // sent again: the newest now
    pictures.set(named(key), src);
  }
  const shown = new Set(tiles.map((t) => named(t.picture)));
  for (const key of pictures.keys()) {
    if (pictures.size <= KEPT) break;
    if (!shown.has(key)) pictures.delete(key); // the oldest first (a Map keeps insertion order)
  }
  const lost = tiles.map((t) => t.picture).filter((key) => !pictures.has(named(key)));
  // a run replaced before its pictures arrived, or pictures let go above: the next run sends them
  if (lost.length) setTriggerValue("lost", lost);
  let grid = parentElement.querySelector(".shirtsim-grid");
  if (!grid) {
    grid = document.createElement("div");
    grid.className = "shirtsim-grid";
    parentElement.appendChild(grid);
  }
  grid.onclick = (event) => {
    const button = event.target.closest("button[data-tile]");
    if (button) setTriggerValue("picked", grid.tiles[Number(button.dataset.tile)].id);
  };
  const signature = JSON.stringify([tiles, help]);
  // the same tiles, all drawn with their pictures last time: nothing to do
  if (grid.dataset.signature === signature && grid.dataset.whole === "yes") return;
  grid.dataset.signature = signature;
  grid.dataset.whole = lost.length ? "no" : "yes"; // drawn again once the lost pictures arrive
  grid.tiles = tiles;
  const focused = grid.contains(document.activeElement) ? document.activeElement.dataset.tile : undefined;
  grid.replaceChildren(
    ...tiles.map((tile, n) => {
      const cell = document.createElement("div");
      cell.className = "shirtsim-tile";
      const img = document.createElement("img");
      img.alt = "";
      img.src = pictures.get(named(tile.picture)) ?? "";
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.tile = String(n);
      button.title = help;
      button.textContent = tile.label; // text, never markup
      cell.append(img, button);
      if (tile.note) {
        const note = document.createElement("p");
        note.textContent = tile.note;
        cell.append(note);
      }
      return cell;
    }),
  );
  // a keyboard user's place survives the redraw (the results change under the tile just used)
  if (focused !== undefined) grid.querySelector(`button[data-tile="${focused}"]`)?.focus();
}
