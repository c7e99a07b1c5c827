"""The overview pages' computations (map, near-duplicates, quality), made once per index or
catalog state in the background (:mod:`shirtsim.jobs`) and kept until a re-index."""

from __future__ import annotations

from shirtsim.catalog.folder import Catalog
from shirtsim.catalog.labels import Labels
from shirtsim.describe.descriptors import Mode
from shirtsim.errors import ShirtsimError
from shirtsim.index.search import SearchIndex, VectorIndex
from shirtsim.jobs import Jobs
from shirtsim.overview.catalog_map import CatalogMap, make_map
from shirtsim.overview.duplicates import DuplicateScan, scan_catalog
from shirtsim.overview.evaluate import Quality, evaluate
from shirtsim.progress import ProgressFn

QUALITY_QUERIES = 5000  # the Quality page ranks at most this many queries (a sample) against everything


class Overviews:
    """One map, quality measurement or duplicate scan per key at a time; each result is replaced
    whole when made (readers never lock)."""

    def __init__(self) -> None:
        self._jobs = Jobs("overview")
        self._maps: dict[str, tuple[VectorIndex, CatalogMap]] = {}  # mode name -> (its index, its map)
        self._duplicates: tuple[Catalog, DuplicateScan] | None = None
        self._quality: dict[tuple[str, tuple[str, ...]], tuple[VectorIndex, Quality]] = {}
        self._in_memory: tuple[VectorIndex, SearchIndex] | None = None  # Milvus' vectors, fetched once

    def forget(self) -> None:
        """Let every overview go (a re-index: they describe the old folder)."""
        self._maps, self._quality, self._duplicates, self._in_memory = {}, {}, None, None

    def catalog_map(self, index: VectorIndex, mode: Mode) -> CatalogMap:
        """The catalog as a 2D map under ``mode`` (:mod:`shirtsim.overview.catalog_map`), once per
        index and mode; on Milvus, from the vectors Milvus holds."""
        made = self._maps.get(mode.name)
        if made is None or made[0] is not index:

            def work(_progress: ProgressFn) -> tuple[VectorIndex, CatalogMap]:
                layout = make_map(index.ids, self.vectors_in_memory(index).matrix, index.layout, mode)
                self._maps = {**self._maps, mode.name: (index, layout)}
                return index, layout

            made = self._jobs.run(("map", mode.name, id(index)), work)
        return made[1]

    def duplicates(self, catalog: Catalog, cache_dir: object, progress: ProgressFn | None = None) -> DuplicateScan:
        """The catalog's near-duplicate pairs (:mod:`shirtsim.overview.duplicates`; no model needed),
        scored once per catalog folder state; any threshold then only regroups them."""
        made = self._duplicates
        if made is None or made[0] is not catalog:

            def work(report: ProgressFn) -> tuple[Catalog, DuplicateScan]:
                found = (catalog, scan_catalog(catalog, cache_dir, report))
                self._duplicates = found
                return found

            made = self._jobs.run(("duplicates", id(catalog)), work, progress)
        return made[1]

    def quality(self, index: VectorIndex, labels: Labels, mode: Mode, columns: list[str]) -> Quality:
        """Precision@10 of ``mode`` on the catalog's own labels (:func:`evaluate`), ranked in memory
        whatever the backend (Milvus returns the same top 10); once per index, mode and columns."""
        key = (mode.name, tuple(columns))
        made = self._quality.get(key)
        if made is None or made[0] is not index:

            def work(_progress: ProgressFn) -> tuple[VectorIndex, Quality]:
                local = self.vectors_in_memory(index)
                try:
                    quality = evaluate(local, labels, mode, columns, max_queries=QUALITY_QUERIES)
                except ValueError as e:
                    raise ShirtsimError(f"Cannot measure quality: {e}.") from None
                self._quality = {**self._quality, key: (index, quality)}
                return index, quality

            made = self._jobs.run(("quality", key, id(index)), work)
        return made[1]

    def vectors_in_memory(self, index: VectorIndex) -> SearchIndex:
        """``index`` itself, or (Milvus) its vectors fetched once per index for the overview pages:
        the map of each mode and the three modes' quality all read the same vectors."""
        if isinstance(index, SearchIndex):
            return index
        held = self._in_memory
        if held is None or held[0] is not index:
            local = SearchIndex(index.kind, index.ids, index.vectors(), index.mean, projection=index.projection)
            held = self._in_memory = (index, local)
        return held[1]
