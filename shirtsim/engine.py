"""One catalog, one model, its indexes: what the CLI and the app both talk to."""

from __future__ import annotations

import errno
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import colour_blind, steer
from .catalog import MAX_ID_LEN, Catalog
from .catalog_map import CatalogMap, make_map
from .crop import Box
from .demo import DEMO_CATALOG
from .descriptors import DEFAULT_MODE, MODES, STYLE_KIND, TEXTURE_DIM, TEXTURE_LAYER, Kind, Mode, texture_gram
from .duplicates import DuplicateScan, scan_catalog
from .embedding import Embedder, to_model_input, uses_bfloat16, uses_int8
from .errors import BadImageError, ShirtsimError, UnknownShirtError, os_error_reason
from .evaluate import Quality, evaluate
from .explain import PartScore, Swatch, heat_map, palette, part_scores, texture_agreement
from .images import decode_image, read_limited
from .index import IndexReport, build_index, embed, fingerprint
from .jobs import Jobs, lower_priority
from .labels import Labels, read_catalog
from .progress import ProgressFn
from .projection import Projection, ProjectionChoice, resolve_projection
from .search import Match, SearchIndex, VectorIndex, weigh
from .settings import CATALOG, PROJECTION
from .store import VectorStore, cache_problem, catalog_key, check_outside_catalog, content_hash, default_cache_dir
from .text import printable
from .texture import basis_for
from .thumbnails import PREVIEW, TILE, ThumbnailStore, make_thumbnail
from .upload import Upload, read_photo
from .weights import Weights, resolve_weights

MAX_K = 100  # the most results one query returns (the CLI refuses more)
# Photos from outside decoded and embedded at once: the CPU has two cores, and each decode may take
# up to ~160 MB (shirtsim.images), so the server's memory stays bounded however many upload together.
UPLOADS_AT_ONCE = 2
QUALITY_QUERIES = 5000  # the Quality page ranks at most this many queries (a sample) against everything
PICTURES_IN_MEMORY = 4096  # thumbnails kept in this process (~15 KB each): the pages people look at
log = logging.getLogger(__name__)


def default_catalog_dir() -> Path:
    """``$SHIRTSIM_CATALOG``, else the bundled demo catalog."""
    return Path(CATALOG.get() or DEMO_CATALOG).expanduser()


def get_mode(name: str | None) -> Mode:
    name = name or DEFAULT_MODE
    if name not in MODES:
        raise ShirtsimError(f"Unknown mode '{name}': choose one of {', '.join(MODES)}.")
    return MODES[name]


Query = str | Upload  # a catalog shirt's id, or a photo from outside


@dataclass(frozen=True)
class Steering:
    """What the results should be like: ``like`` (at least one) and ``unlike`` shirts or photos,
    and optionally a colour (``#rrggbb``) or another catalog shirt whose colours to take."""

    like: tuple[Query, ...]
    unlike: tuple[Query, ...] = ()
    colour: str | None = None
    colour_of: str | None = None

    def marked(self) -> list[str]:
        """The catalog shirts marked, left out of the results."""
        return [q for q in self.like + self.unlike if isinstance(q, str)]


@dataclass(frozen=True)
class Explanation:
    """Why ``result`` matched ``query``: :func:`shirtsim.explain.part_scores` and both palettes."""

    score: float
    parts: list[PartScore]
    query_colours: list[Swatch]
    result_colours: list[Swatch]

    def as_json(self) -> dict:
        return {
            "score": round(self.score, 6),
            "parts": {
                p.name: {
                    "cosine": round(p.cosine, 6),
                    "weight": round(p.weight, 6),
                    "contribution": round(p.contribution, 6),
                }
                for p in self.parts
            },
            "colours": {
                "query": [{"hex": c.hex, "share": c.share} for c in self.query_colours],
                "result": [{"hex": c.hex, "share": c.share} for c in self.result_colours],
            },
        }


class Engine:
    """Finds similar shirts in one catalog. Indexes are built on first use and then kept."""

    def __init__(
        self,
        catalog_dir: str | Path | None = None,
        weights: Weights | None = None,
        cache_dir: str | Path | None = None,
        get_embedder: Callable[[Weights], Embedder] | None = None,
        index_backend: str | None = None,
        projection: str | Projection | None = None,
    ) -> None:
        """``index_backend``: ``memory`` or ``milvus:<uri>``; None reads ``$SHIRTSIM_INDEX`` (default memory).
        ``projection``: ``auto``, ``none``, a file, or a :class:`Projection`; None reads
        ``$SHIRTSIM_PROJECTION`` (:func:`shirtsim.projection.resolve_projection`)."""
        from .milvus import parse_backend  # noqa: PLC0415

        self.milvus_uri = parse_backend(index_backend)
        self._milvus = None
        self._load_catalog(catalog_dir or default_catalog_dir())
        self.weights = weights or resolve_weights()
        if isinstance(projection, Projection):
            self.projection_choice = ProjectionChoice(projection, projection.source)
        else:
            self.projection_choice = resolve_projection(projection or PROJECTION.get(), self.weights)
        self.projection = self.projection_choice.projection
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        check_outside_catalog(self.cache_dir, self.catalog.root)
        self._get_embedder = get_embedder or (lambda w: Embedder(w, self.cache_dir))
        self._embedder: Embedder | None = None
        # Read without a lock on every page run: replaced whole (never edited) when a build ends.
        self._indexes: dict[str, tuple[VectorIndex, IndexReport]] = {}
        self._generation = 0  # counts re-indexes: a build begun before one is not installed after it
        self._install_lock = threading.Lock()  # held only to swap in a finished build's results
        self._builds = Jobs("index")  # one build per kind at a time; nobody else waits (shirtsim.jobs)
        self._overviews = Jobs("overview")  # one map, quality or duplicate scan per key at a time
        self._maps: dict[str, tuple[VectorIndex, CatalogMap]] = {}  # mode name -> (its index, its map)
        self._duplicates: tuple[Catalog, DuplicateScan] | None = None
        self._quality: dict[tuple[str, tuple[str, ...]], tuple[VectorIndex, Quality]] = {}
        self._in_memory: tuple[VectorIndex, SearchIndex] | None = None  # Milvus' vectors, fetched once
        self._milvus_lock = threading.Lock()
        self._model_lock = threading.Lock()  # held while the model loads: only uploads need it
        self._warm_up: threading.Thread | None = None
        self._warm_up_lock = threading.Lock()
        self._upload_slots = threading.BoundedSemaphore(UPLOADS_AT_ONCE)
        self.thumbnails = ThumbnailStore(self.cache_dir)
        self._pictures: OrderedDict[tuple[str, int], bytes | None] = OrderedDict()
        self._pictures_lock = threading.Lock()
        self._contents: dict[str, str] = {}  # id -> content hash of the file when it was indexed
        self.stale: dict[str, str] = {}  # id -> what changed on disk since the index was built

    def _load_catalog(self, root: str | Path) -> None:
        self.catalog, self.labels, self.label_problems = read_catalog(root)

    def warm_up_in_background(self, kind: Kind) -> None:
        """Load the model and prepare ``kind``'s network in a thread, once, so the first upload
        does not wait for it (the app asks on every run, from the first page on; this returns at once)."""
        # Not the model lock: the warm-up thread holds that for the whole load, and every page run asks.
        with self._warm_up_lock:
            if self._warm_up is not None or self._embedder is not None:
                return
            self._warm_up = threading.Thread(target=self._warm, args=(kind,), name="shirtsim-warm-up", daemon=True)
        self._warm_up.start()

    def _warm(self, kind: Kind) -> None:
        lower_priority()  # the page is being drawn and clicked meanwhile: on two cores, its work comes first
        try:
            embed(self.embedder, kind, np.zeros((1, 224, 224, 3), np.uint8))  # loads, traces, fits the basis
        except Exception as e:  # noqa: BLE001 (an upload will meet the same problem and report it)
            log.warning("model warm-up failed: %s", e)

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first need and once only, however many sessions ask at the same time."""
        if self._embedder is None:
            with self._model_lock:
                if self._embedder is None:
                    self._embedder = self._get_embedder(self.weights)
        return self._embedder

    def index(self, kind: Kind, progress: ProgressFn | None = None, rebuild: bool = False) -> VectorIndex:
        return self.index_with_report(kind, progress, rebuild)[0]

    def index_with_report(
        self, kind: Kind, progress: ProgressFn | None = None, rebuild: bool = False, allow_removals: bool = False
    ) -> tuple[VectorIndex, IndexReport]:
        """The catalog's index for ``kind``, built on first use. ``rebuild`` re-reads the catalog
        folder; ``allow_removals`` does too, and confirms a removal the guard held back
        (:mod:`shirtsim.removals`; otherwise such shirts stay indexed and ``report.withheld`` says so).

        A build runs in the background (:mod:`shirtsim.jobs`): the caller waits and sees its
        progress, every other caller keeps the index it has, and nobody waits for another kind's build."""
        rebuild = rebuild or allow_removals
        built = self._indexes.get(kind.name)
        if built is not None and not rebuild:
            return built
        key = (kind.name, "rebuild" if rebuild else "build")
        return self._builds.run(key, lambda report: self._build(kind, report, rebuild, allow_removals), progress)

    def _build(
        self, kind: Kind, progress: ProgressFn, rebuild: bool, allow_removals: bool
    ) -> tuple[VectorIndex, IndexReport]:
        generation = self._generation
        if rebuild:
            catalog, labels, label_problems = read_catalog(self.catalog.root)
        else:
            built = self._indexes.get(kind.name)
            if built is not None:  # built by another job between the ask and this start
                return built
            catalog, labels, label_problems = self.catalog, self.labels, self.label_problems
        if self.milvus_uri:
            self._connect_milvus()  # fail fast, before a long local build
        index, report = build_index(
            catalog,
            kind,
            self.weights,
            lambda: self.embedder,
            self.cache_dir,
            progress,
            self.projection,
            allow_removals=allow_removals,
        )
        index.labels = labels
        remote = (
            self._mirror_to_milvus(kind, catalog, labels, index, report, allow_removals) if self.milvus_uri else None
        )
        built = (remote or index, report)
        with self._install_lock:
            if rebuild:  # every kind's index and every overview describe the old folder: let them go
                self._generation += 1
                self.catalog, self.labels, self.label_problems = catalog, labels, label_problems
                self._indexes = {kind.name: built}
                self._maps, self._quality, self._duplicates, self._in_memory = {}, {}, None, None
                with self._pictures_lock:
                    self._pictures.clear()
                self.stale, self._contents = {}, dict(report.contents)
            elif generation == self._generation:
                self._indexes = {**self._indexes, kind.name: built}
                self._contents = {**self._contents, **report.contents}
        return built

    def _connect_milvus(self) -> None:
        with self._milvus_lock:
            if self._milvus is None:
                from .milvus import connect, index_type  # noqa: PLC0415

                index_type(self.milvus_uri, 0)  # a bad SHIRTSIM_MILVUS_INDEX_TYPE
                self._milvus = connect(self.milvus_uri)

    @property
    def cache_warning(self) -> str | None:
        """What to tell the user when the cache folder cannot be written (said once, in the
        sidebar or on stderr), or None: the engine then serves what the cache holds and keeps the
        rest in memory until the process ends."""
        e = cache_problem(self.cache_dir)
        if e is None:
            return None
        full = e.errno in (errno.ENOSPC, errno.EDQUOT)
        advice = "Free some space on that disk" if full else "Point SHIRTSIM_CACHE_DIR at a writable folder"
        return (
            f"The cache folder {printable(str(self.cache_dir))} cannot be written ({os_error_reason(e)}): new "
            f"vectors and pictures are kept in memory only, and made again after a restart. {advice}."
        )

    def _mirror_to_milvus(
        self,
        kind: Kind,
        catalog: Catalog,
        labels: Labels | None,
        local: SearchIndex,
        report: IndexReport,
        allow_removals: bool,
    ) -> VectorIndex:
        """Upsert what changed into this catalog's Milvus collection; searches then go there."""
        from . import milvus  # noqa: PLC0415

        fp = fingerprint(self.weights, kind)
        store = VectorStore(self.cache_dir, fp)
        contents = report.contents
        space = fp + (f"-{local.projection.id}" if local.projection is not None else "")
        remote, counts = milvus.sync(
            self._milvus,
            milvus.collection_name(catalog_key(catalog.root), space),
            local,
            contents,
            _stored_labels(labels, local.ids),
            lambda shirt_id: store.get(contents[shirt_id]),
            index_type=milvus.index_type(self.milvus_uri, len(local)),
            allow_removals=allow_removals,
        )
        report.backend = (
            f"Milvus {remote.name} ({remote.index_type}): {counts['upserted']} upserted, {counts['deleted']} deleted, "
            f"{counts['kept']} unchanged"
        )
        return remote

    def raw_vectors(self, kind: Kind, progress: ProgressFn | None = None) -> tuple[list[str], np.ndarray]:
        """The catalog's ids and raw (cached, unprojected) descriptors, embedding what is missing."""
        index, report = self.index_with_report(kind, progress)
        store = VectorStore(self.cache_dir, fingerprint(self.weights, kind))
        ids, rows = [], []
        for shirt_id in index.ids:
            vector = store.get(report.contents[shirt_id])
            if vector is not None and vector.shape == (kind.dim,):
                ids.append(shirt_id)
                rows.append(vector)
        return ids, np.stack(rows) if rows else np.zeros((0, kind.dim), np.float32)

    def catalog_map(self, mode: Mode) -> CatalogMap:
        """The catalog as a 2D map under ``mode`` (:mod:`shirtsim.catalog_map`), made once per
        index and mode (in the background: :mod:`shirtsim.jobs`); on Milvus, from the vectors Milvus holds."""
        index = self.index(mode.kind)
        made = self._maps.get(mode.name)
        if made is None or made[0] is not index:

            def work(_progress: ProgressFn) -> tuple[VectorIndex, CatalogMap]:
                layout = make_map(index.ids, self._vectors_in_memory(index).matrix, index.layout, mode)
                self._maps = {**self._maps, mode.name: (index, layout)}
                return index, layout

            made = self._overviews.run(("map", mode.name, id(index)), work)
        return made[1]

    def duplicates(self, progress: ProgressFn | None = None) -> DuplicateScan:
        """The catalog's near-duplicate pairs (:mod:`shirtsim.duplicates`; no model needed),
        scored once per catalog folder state (a re-index reads it again); any threshold then
        only regroups them."""
        catalog = self.catalog
        made = self._duplicates
        if made is None or made[0] is not catalog:

            def work(report: ProgressFn) -> tuple[Catalog, DuplicateScan]:
                found = (catalog, scan_catalog(catalog, self.cache_dir, report))
                self._duplicates = found
                return found

            made = self._overviews.run(("duplicates", id(catalog)), work, progress)
        return made[1]

    def quality(self, mode: Mode, columns: list[str]) -> Quality:
        """Precision@10 of ``mode`` on the catalog's own labels (:func:`shirtsim.evaluate.evaluate`),
        ranked in memory whatever the backend (Milvus returns the same top 10); measured once per
        index, mode and columns (every shirt against all others: seconds at 10,000)."""
        labels = self.labels
        if labels is None:
            raise ShirtsimError("This catalog has no labels.csv: quality is measured against its labels.")
        index = self.index(mode.kind)
        key = (mode.name, tuple(columns))
        made = self._quality.get(key)
        if made is None or made[0] is not index:

            def work(_progress: ProgressFn) -> tuple[VectorIndex, Quality]:
                local = self._vectors_in_memory(index)  # Milvus returns the same top 10: ranked here
                try:
                    quality = evaluate(local, labels, mode, columns, max_queries=QUALITY_QUERIES)
                except ValueError as e:
                    raise ShirtsimError(f"Cannot measure quality: {e}.") from None
                self._quality = {**self._quality, key: (index, quality)}
                return index, quality

            made = self._overviews.run(("quality", key, id(index)), work)
        return made[1]

    def _vectors_in_memory(self, index: VectorIndex) -> SearchIndex:
        """``index`` itself, or (Milvus) its vectors fetched once per index for the overview pages:
        the map of each mode and the three modes' quality all read the same vectors."""
        if isinstance(index, SearchIndex):
            return index
        held = self._in_memory
        if held is None or held[0] is not index:
            local = SearchIndex(index.kind, index.ids, index.vectors(), index.mean, projection=index.projection)
            held = self._in_memory = (index, local)
        return held[1]

    def in_sample(self, ids: list[str]) -> int:
        """How many of these indexed shirts the learned projection was fitted on (0: held out)."""
        if self.projection is None:
            return 0
        return self.projection.fitted_on([self._contents[i] for i in ids if i in self._contents])

    def check_id(self, shirt_id: str, index: VectorIndex) -> str:
        """``shirt_id`` if it is an indexed shirt, else :class:`UnknownShirtError` with a safe message."""
        if not isinstance(shirt_id, str) or len(shirt_id) > MAX_ID_LEN or shirt_id not in index:
            shown = repr(str(shirt_id)[:60])
            raise UnknownShirtError(f"No shirt with id {shown} in this catalog.")
        return shirt_id

    def similar_to_id(
        self, shirt_id: str, mode: Mode, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Match]:
        """The ``k`` shirts most like catalog shirt ``shirt_id`` (itself excluded).

        ``filters`` (``{"colour": ["red"]}``) keeps only shirts whose labels match."""
        index = self.index(mode.kind)
        self.check_id(shirt_id, index)
        return index.search(
            index.stored(shirt_id), mode, _clamp(k), exclude=shirt_id, filters=self._filters_for(index, filters)
        )

    def similar_to_image_bytes(
        self, data: bytes, name: str, mode: Mode, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Match]:
        """The ``k`` catalog shirts most like an uploaded photo (embedded in memory, never stored)."""
        return self.similar_to_vector(self.read_upload(data, name, mode.kind).vector, mode, k, filters)

    def read_upload(self, data: bytes, name: str, kind: Kind, box: Box | str | None = None) -> Upload:
        """Decode and embed a photo from outside (never stored), with a preview to show it.
        ``box``: None searches the whole photo as it is; a Box or ``"auto"`` (the proposed box)
        searches that part with its background made white (:mod:`shirtsim.crop`).
        The app keeps the result per upload, so a rerun (another mode, another k) does not embed again."""
        with self._upload_slots:  # twenty sessions uploading at once decode two photos at a time, not twenty
            return read_photo(self.embedder, kind, data, name, box)

    def similar_to_vector(
        self, raw: np.ndarray, mode: Mode, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Match]:
        """The ``k`` catalog shirts most like a raw descriptor from :meth:`read_upload`."""
        index = self.index(mode.kind)
        return index.search(index.prepare(raw), mode, _clamp(k), filters=self._filters_for(index, filters))

    def prepared(self, query: Query, index: VectorIndex) -> np.ndarray:
        """A query as ``index`` stores vectors: a catalog shirt's own, or an upload prepared like them."""
        if isinstance(query, Upload):
            return index.prepare(query.vector)
        return index.stored(self.check_id(query, index))

    def steered_query(self, mode: Mode, steering: Steering) -> tuple[np.ndarray, Mode]:
        """One prepared query vector from ``steering``'s liked and unliked shirts or photos,
        optionally in a colour or in another shirt's colours, and the weights to rank it by."""
        index = self.index(mode.kind)
        layout = index.layout
        liked = [self.prepared(q, index) for q in steering.like]
        query = steer.combine(layout, liked, [self.prepared(q, index) for q in steering.unlike])
        if steering.colour is None and steering.colour_of is None:
            return query, mode
        if mode.kind is not STYLE_KIND:
            raise ShirtsimError(f"Mode {mode.name} has no colour part to change: use balanced, pattern or colour.")
        if steering.colour_of is not None:
            donor = index.stored(self.check_id(steering.colour_of, index))
        else:
            donor = index.prepare(steer.colour_swatch(steer.parse_hex(steering.colour or "")))
        directions = colour_blind.directions_for(self.weights, lambda: self.embedder, self.cache_dir)
        return steer.with_colour_of(layout, query, donor, directions), steer.recoloured(mode)

    def nearest_in_colour(self, colour: str) -> float:
        """How near the catalog comes to ``colour`` (#rrggbb): the colour-side cosine of the
        shirt whose colours are most like it. Under :data:`steer.FAR_COLOUR`, no shirt is near."""
        index = self.index(STYLE_KIND)
        found = index.search(index.prepare(steer.colour_swatch(steer.parse_hex(colour))), steer.COLOUR_ONLY, 1)
        return found[0].score if found else 0.0

    def steered(
        self, mode: Mode, steering: Steering, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Match]:
        """The ``k`` shirts most like the liked ones and least like the unliked ones (the marked
        catalog shirts themselves left out), optionally in a colour or another shirt's colours."""
        query, weights = self.steered_query(mode, steering)
        return self.search_prepared(query, weights, k, steering.marked(), filters)

    def search_prepared(
        self,
        query: np.ndarray,
        mode: Mode,
        k: int = 10,
        exclude: list[str] = (),
        filters: dict[str, list[str]] | None = None,
    ) -> list[Match]:
        """The ``k`` best matches for a prepared query vector, ``exclude``'d shirts left out."""
        index = self.index(mode.kind)
        k, skip = _clamp(k), set(exclude)
        found = index.search(query, mode, min(len(index), k + len(skip)), filters=self._filters_for(index, filters))
        return [m for m in found if m.id not in skip][:k]

    def _filters_for(self, index: VectorIndex, filters: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        """``filters`` as ``index`` can apply them. Milvus keeps only the label columns a filter can
        use (2 to 50 values: :func:`_stored_labels`); a filter on another one is refused there
        rather than quietly matching nothing."""
        if not filters or isinstance(index, SearchIndex) or self.labels is None:
            return filters
        stored = set(self.labels.usable_columns(exclude=()))
        for column in filters:
            if column not in stored:
                raise ShirtsimError(
                    f"Filtering by {column[:60]!r} on Milvus: Milvus keeps the label columns of 2 to 50 values for "
                    f"filters, and {column[:60]!r} has {self.labels.distinct(column):,}."
                )
        return filters

    def explain(self, query: Query, result_id: str, mode: Mode) -> Explanation:
        """Why ``result_id`` is a match for ``query`` under ``mode`` (no model needed)."""
        index = self.index(mode.kind)
        prepared = self.prepared(query, index)
        picture = query.preview if isinstance(query, Upload) else self.picture(query)
        return self.explain_prepared(prepared, picture, result_id, mode)

    def explain_prepared(
        self, query: np.ndarray, query_picture: bytes | None, result_id: str, mode: Mode, colours: bool = True
    ) -> Explanation:
        """:meth:`explain` for a prepared (possibly steered) query; ``colours`` False skips the palettes."""
        index = self.index(mode.kind)
        result = index.stored(self.check_id(result_id, index))
        score = float(np.dot(weigh(index.layout, query, mode), result))
        return Explanation(
            score,
            part_scores(index.layout, mode, query, result),
            _palette(query_picture) if colours else [],
            _palette(self.picture(result_id)) if colours else [],
        )

    def texture_heat_maps(self, query: Query, result_id: str, mode: Mode) -> tuple[bytes, bytes]:
        """Both pictures with where their textures agree painted over them (JPEGs, about 0.2 s:
        one forward pass for the two). Never stored."""
        if mode.kind is not STYLE_KIND:
            raise ShirtsimError(f"Mode {mode.name} has no texture part to show: use balanced, pattern or colour.")
        index = self.index(mode.kind)
        self.check_id(result_id, index)
        with self._upload_slots:  # decodes two catalog photos: bounded like uploads, whoever asks at once
            first = query.pixels if isinstance(query, Upload) else self._model_input(query)
            pictures = [first, self._model_input(result_id)]
            maps = self.embedder.forward(
                np.stack(pictures), STYLE_KIND.layers, bfloat16=uses_bfloat16(STYLE_KIND), int8=uses_int8(STYLE_KIND)
            )
        maps = maps[TEXTURE_LAYER]
        basis = basis_for(self.embedder)
        texture = texture_gram(maps, basis) - index.mean[:TEXTURE_DIM]
        return tuple(
            heat_map(Image.fromarray(pictures[n]), texture_agreement(maps[n], texture[1 - n], basis)) for n in (0, 1)
        )

    def _model_input(self, shirt_id: str) -> np.ndarray:
        item = self.catalog.get(shirt_id)
        if item is None:
            raise UnknownShirtError(f"No shirt with id {shirt_id[:60]!r} in this catalog.")
        return to_model_input(decode_image(read_limited(item.path), shirt_id))

    def picture(self, shirt_id: str, size: int = TILE) -> bytes | None:
        """A JPEG of a catalog shirt, ``size`` px on its long side (``TILE`` or ``PREVIEW``), for
        the page; None when its file is gone and no picture was made before.

        Never the catalog file itself: pictures are made once per image content (while indexing,
        or here on first use) and cached on disk and, for the pages people look at, in memory."""
        key = (shirt_id, size)
        with self._pictures_lock:
            if key in self._pictures:
                self._pictures.move_to_end(key)
                return self._pictures[key]
        indexed = self._contents.get(shirt_id)
        jpeg = self.thumbnails.get(indexed, size) if indexed else None
        if jpeg is None:
            jpeg = self._make_picture(shirt_id, indexed, size)
        with self._pictures_lock:
            self._pictures[key] = jpeg
            while len(self._pictures) > PICTURES_IN_MEMORY:
                self._pictures.popitem(last=False)
        return jpeg

    def _make_picture(self, shirt_id: str, indexed: str | None, size: int) -> bytes | None:
        item = self.catalog.get(shirt_id)
        if item is None:
            return None
        try:
            data = read_limited(item.path)
            img = decode_image(data, shirt_id, at_least=(PREVIEW, PREVIEW))  # pictures need no more
        except BadImageError:
            self.stale[shirt_id] = "its file is missing or unreadable"
            return None
        actual = content_hash(data)
        if indexed and actual != indexed:
            self.stale[shirt_id] = "its file changed"
        self.thumbnails.put_all(actual, img)
        return self.thumbnails.get(actual, size) or make_thumbnail(img, size)

    def file_present(self, shirt_id: str) -> bool:
        """Is a catalog shirt's file still there (the app says so when one vanished)?"""
        item = self.catalog.get(shirt_id)
        present = item is not None and item.path.is_file()
        if not present:
            self.stale[shirt_id] = "its file is missing or unreadable"
        return present


def _stored_labels(labels: Labels | None, ids: list[str]) -> dict[str, dict[str, str]]:
    """The labels a Milvus row carries, for filters there: the columns a filter can use (a wide
    product feed's other columns would make every row's JSON larger than Milvus takes)."""
    if labels is None:
        return {}
    columns = labels.usable_columns(exclude=())
    values = {c: labels.column(c, ids) for c in columns}
    return {i: {c: values[c][n] for c in columns} for n, i in enumerate(ids) if i in labels}


def _palette(jpeg: bytes | None) -> list[Swatch]:
    return palette(Image.open(io.BytesIO(jpeg))) if jpeg else []


def _clamp(k: int) -> int:
    return int(np.clip(k, 1, MAX_K))
