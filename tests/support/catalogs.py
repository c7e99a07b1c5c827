"""Large catalogs made from real photos, for the benchmarks and the load test (never committed)."""

import csv
import io
import os
from pathlib import Path

from PIL import Image

WHITE = (255, 255, 255)


def make_large_catalog(src: Path, dest: Path, count: int = 200, size=(1800, 2400)) -> list[str]:
    """The first ``count`` photos of ``src/labels.csv`` (file order), scaled to ``size[0]`` px wide
    and padded with white to ``size`` (centred vertically), as ``dest/<id>.jpg`` (quality 90) with
    their ``labels.csv`` rows. Deterministic; does nothing when ``dest`` already holds exactly
    these files. Returns the ids."""
    src, dest = Path(src), Path(dest)
    with open(src / "labels.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns, rows = reader.fieldnames, [row for _, row in zip(range(count), reader)]
    ids = [row["id"] for row in rows]
    labels = io.StringIO()
    writer = csv.DictWriter(labels, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)

    labels_file = dest / "labels.csv"
    wanted = {f"{i}.jpg" for i in ids}
    if dest.is_dir() and labels_file.is_file() and labels_file.read_text(encoding="utf-8") == labels.getvalue():
        if {p.name for p in dest.glob("*.jpg")} == wanted:
            return ids

    dest.mkdir(parents=True, exist_ok=True)
    labels_file.unlink(missing_ok=True)  # written last: its presence says the photos are complete
    for stale in dest.glob("*.jpg"):
        if stale.name not in wanted:
            stale.unlink()
    width, height = size
    for shirt_id in ids:
        with Image.open(src / f"{shirt_id}.jpg") as photo:
            photo = photo.convert("RGB")
            scaled = photo.resize((width, round(photo.height * width / photo.width)), Image.LANCZOS)
        canvas = Image.new("RGB", size, WHITE)
        canvas.paste(scaled, (0, (height - scaled.height) // 2))
        tmp = dest / f".{shirt_id}.jpg.tmp"
        canvas.save(tmp, "JPEG", quality=90)
        os.replace(tmp, dest / f"{shirt_id}.jpg")
    labels_file.write_text(labels.getvalue(), encoding="utf-8")
    return ids
