// A grid of shirt tiles (a picture, a button, a note) drawn as one Streamlit element: see
// tile_grid.py. Pictures arrive once per session and grid as data URIs and are kept here by
// content key, so a rerun that draws the same grid again sends ids and keys, not pictures.
const kept = (window.__shirtsimPictures ??= new Map()); // grid -> (picture key -> data URI)
const KEPT = 1000; // per grid: twice what the server remembers sending (KEPT in tile_grid.py)

export default function ({ data, parentElement, setTriggerValue }) {
  const { grid: name, tiles, pictures: sent, help } = data;
  if (!kept.has(name)) kept.set(name, new Map());
  const pictures = kept.get(name);
  for (const [key, src] of Object.entries(sent)) pictures.set(key, src);
  const shown = new Set(tiles.map((t) => t.picture));
  for (const key of pictures.keys()) {
    if (pictures.size <= KEPT) break;
    if (!shown.has(key)) pictures.delete(key); // the oldest first (a Map keeps insertion order)
  }
  const lost = tiles.filter((t) => !pictures.has(t.picture)).map((t) => t.picture);
  if (lost.length) setTriggerValue("lost", lost); // this page forgot them (a reload): sent again
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
  grid.replaceChildren(
    ...tiles.map((tile, n) => {
      const cell = document.createElement("div");
      cell.className = "shirtsim-tile";
      const img = document.createElement("img");
      img.alt = "";
      img.src = pictures.get(tile.picture) ?? "";
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
}
