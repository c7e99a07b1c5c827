"""The page's pictures of catalog shirts: small JPEGs made once per image content, cached on disk
(:mod:`shirtsim.catalog.thumbnails`) and, for the pages people look at, in memory; and what was
seen to change on disk since the index was built (a file gone, a file replaced).

Never the catalog file itself: a 1800x2400 product photo costs ~75 ms to decode and re-encode on
every rerun; a cached 256 px tile costs nothing."""

from __future__ import annotations

import threading
from collections import OrderedDict

from shirtsim.catalog.folder import Catalog
from shirtsim.catalog.images import decode_image, read_limited
from shirtsim.catalog.thumbnails import PREVIEW, TILE, ThumbnailStore, make_thumbnail
from shirtsim.errors import BadImageError
from shirtsim.store import content_hash

PICTURES_IN_MEMORY = 4096  # thumbnails kept in this process (~15 KB each): the pages people look at
GONE = "its file is missing or unreadable"
CHANGED = "its file changed"


class Pictures:
    """Pictures of one catalog's shirts, and what changed on disk since it was indexed."""

    def __init__(self, thumbnails: ThumbnailStore) -> None:
        self.thumbnails = thumbnails
        self.contents: dict[str, str] = {}  # id -> content hash of the file when it was indexed
        self.stale: dict[str, str] = {}  # id -> what changed on disk since the index was built
        self._memory: OrderedDict[tuple[str, int], bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def indexed(self, contents: dict[str, str], fresh: bool = False) -> None:
        """A build's contents (id -> hash); ``fresh`` (a re-index): the old ones and pictures go."""
        if fresh:
            with self._lock:
                self._memory.clear()
            self.stale, self.contents = {}, dict(contents)
        else:
            self.contents = {**self.contents, **contents}

    def picture(self, catalog: Catalog, shirt_id: str, size: int = TILE) -> bytes | None:
        """A JPEG of a catalog shirt, ``size`` px on its long side (``TILE`` or ``PREVIEW``); None
        when its file is gone and no picture was made before."""
        key = (shirt_id, size)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        indexed = self.contents.get(shirt_id)
        jpeg = self.thumbnails.get(indexed, size) if indexed else None
        if jpeg is None:
            jpeg = self._make(catalog, shirt_id, indexed, size)
        with self._lock:
            self._memory[key] = jpeg
            while len(self._memory) > PICTURES_IN_MEMORY:
                self._memory.popitem(last=False)
        return jpeg

    def _make(self, catalog: Catalog, shirt_id: str, indexed: str | None, size: int) -> bytes | None:
        item = catalog.get(shirt_id)
        if item is None:
            return None
        try:
            data = read_limited(item.path)
            img = decode_image(data, shirt_id, at_least=(PREVIEW, PREVIEW))  # pictures need no more
        except BadImageError:
            self.stale[shirt_id] = GONE
            return None
        actual = content_hash(data)
        if indexed and actual != indexed:
            self.stale[shirt_id] = CHANGED
        self.thumbnails.put_all(actual, img)
        return self.thumbnails.get(actual, size) or make_thumbnail(img, size)

    def file_present(self, catalog: Catalog, shirt_id: str) -> bool:
        """Is a catalog shirt's file still there (the app says so when one vanished)?"""
        item = catalog.get(shirt_id)
        present = item is not None and item.path.is_file()
        if not present:
            self.stale[shirt_id] = GONE
        return present
