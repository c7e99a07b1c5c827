"""Small JPEG pictures of catalog images for the page: grid tiles and the selected shirt.

A page never hands a catalog file to the browser: a 1800x2400 product photo costs ~75 ms to
decode, resize and re-encode on every rerun and moves ~0.5 MB. Instead each image content gets
two pictures, made once (while indexing, or on first display) and cached like the vectors:

- a tile (:data:`TILE`, 256 px on the long side, ~10-15 KB) for the browse and result grids;
- a preview (:data:`PREVIEW`, 512 px, ~30-50 KB) for the selected shirt and an upload.

Layout below the cache folder: ``v1/thumbs/<size>/<hh>/<sha256>.jpg``, each file the store's
checksummed blob format (:func:`shirtsim.store.write_blob`), written atomically; a damaged one
is made again from the catalog file.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from PIL import Image

from shirtsim.store import VERSION, CorruptFile, cache_write, read_blob, write_blob

TILE = 256
PREVIEW = 512
SIZES = (TILE, PREVIEW)
QUALITY = 85  # JPEG quality: small files, no visible artefacts at these sizes


def make_thumbnail(img: Image.Image, size: int) -> bytes:
    """``img`` (RGB) scaled to ``size`` px on its long side (never up), as JPEG bytes."""
    small = img.copy() if max(img.size) <= size else img.resize(_fit(img.size, size), Image.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    small.convert("RGB").save(buf, "JPEG", quality=QUALITY, optimize=True)
    return buf.getvalue()


def _fit(wh: tuple[int, int], size: int) -> tuple[int, int]:
    w, h = wh
    scale = size / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


class ThumbnailStore:
    """Thumbnails by image content hash and size, in the cache folder."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.root = Path(cache_dir) / f"v{VERSION}" / "thumbs"

    def _path(self, content_hash: str, size: int) -> Path:
        return self.root / str(size) / content_hash[:2] / f"{content_hash}.jpg"

    def get(self, content_hash: str, size: int) -> bytes | None:
        """The stored thumbnail, or None when missing or damaged (then it is simply made again)."""
        try:
            return read_blob(self._path(content_hash, size))
        except (OSError, CorruptFile):
            return None

    def put(self, content_hash: str, size: int, jpeg: bytes) -> None:
        path = self._path(content_hash, size)
        with cache_write(path):  # unwritable: the engine keeps the pictures people look at in memory
            write_blob(path, jpeg)

    def put_all(self, content_hash: str, img: Image.Image) -> None:
        """Make and store every size for one decoded image (while indexing: it is decoded anyway)."""
        for size in SIZES:
            if not self._path(content_hash, size).is_file():
                self.put(content_hash, size, make_thumbnail(img, size))


@functools.lru_cache(maxsize=1)
def placeholder() -> bytes:
    """A plain light-grey tile (3:4) for a shirt whose file is gone and was never pictured."""
    buf = io.BytesIO()
    Image.new("RGB", (TILE * 3 // 4, TILE), (236, 236, 236)).save(buf, "JPEG", quality=QUALITY)
    return buf.getvalue()
