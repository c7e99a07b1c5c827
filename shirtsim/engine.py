"""One catalog, one model, its indexes: what the CLI and the app both talk to."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from shirtsim.catalog.assets import DEMO_CATALOG
from shirtsim.catalog.crop import Box
from shirtsim.catalog.folder import MAX_ID_LEN
from shirtsim.catalog.images import decode_image, read_limited
from shirtsim.catalog.labels import read_catalog
from shirtsim.catalog.thumbnails import TILE, ThumbnailStore
from shirtsim.describe import colour_blind, steer
from shirtsim.describe.descriptors import (
    DEFAULT_MODE,
    MODES,
    STYLE_KIND,
    TEXTURE_DIM,
    TEXTURE_LAYER,
    Kind,
    Mode,
    texture_gram,
)
from shirtsim.describe.embed import embed
from shirtsim.describe.explain import Swatch, heat_map, palette, part_scores, texture_agreement
from shirtsim.describe.projection import Projection, ProjectionChoice, resolve_projection
from shirtsim.describe.texture import basis_for
from shirtsim.errors import ShirtsimError, UnknownShirtError
from shirtsim.feed.curation import Curation, Entry
from shirtsim.feed.exports import Exports
from shirtsim.feed.lists import ListMaker, Request, ResultList
from shirtsim.feed.rules import Rules
from shirtsim.index.build import IndexReport, build_index, fingerprint
from shirtsim.index.milvus_backend import MilvusBackend
from shirtsim.index.search import VectorIndex, weigh
from shirtsim.jobs import Jobs
from shirtsim.model.arithmetic import uses_bfloat16, uses_int8
from shirtsim.model.inputs import to_model_input
from shirtsim.model.loader import ModelLoader
from shirtsim.model.vgg16 import Embedder
from shirtsim.model.weights import Weights, resolve_weights
from shirtsim.overview.catalog_map import CatalogMap
from shirtsim.overview.duplicates import DuplicateScan
from shirtsim.overview.evaluate import Quality
from shirtsim.overview.overviews import Overviews
from shirtsim.pictures import Pictures
from shirtsim.progress import ProgressFn
from shirtsim.query import Explanation, Query, Steering
from shirtsim.settings import CATALOG, PROJECTION
from shirtsim.store import VectorStore, cache_warning, catalog_key, check_outside_catalog, default_cache_dir
from shirtsim.upload import Upload, read_photo

MAX_K = 100  # the most results one query returns (the CLI refuses more)
# Photos from outside decoded and embedded at once: the CPU has two cores, and each decode may take
# up to ~160 MB (shirtsim.catalog.images), so the server's memory stays bounded however many upload together.
UPLOADS_AT_ONCE = 2


def default_catalog_dir() -> Path:
    """``$SHIRTSIM_CATALOG``, else the bundled demo catalog."""
    return Path(CATALOG.get() or DEMO_CATALOG).expanduser()


def get_mode(name: str | None) -> Mode:
    name = name or DEFAULT_MODE
    if name not in MODES:
        raise ShirtsimError(f"Unknown mode '{name}': choose one of {', '.join(MODES)}.")
    return MODES[name]


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
        ``$SHIRTSIM_PROJECTION`` (:func:`shirtsim.describe.projection.resolve_projection`)."""
        from shirtsim.index.milvus import parse_backend  # noqa: PLC0415 (pymilvus: only for this backend)

        uri = parse_backend(index_backend)
        self.milvus = MilvusBackend(uri) if uri else None
        self._load_catalog(catalog_dir or default_catalog_dir())
        self.weights = weights or resolve_weights()
        if isinstance(projection, Projection):
            self.projection_choice = ProjectionChoice(projection, projection.source)
        else:
            self.projection_choice = resolve_projection(projection or PROJECTION.get(), self.weights)
        self.projection = self.projection_choice.projection
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        check_outside_catalog(self.cache_dir, self.catalog.root)
        get_embedder = get_embedder or (lambda w: Embedder(w, self.cache_dir))
        self.model: ModelLoader[Embedder] = ModelLoader(lambda: get_embedder(self.weights))
        # Read without a lock on every page run: replaced whole (never edited) when a build ends.
        self._indexes: dict[str, tuple[VectorIndex, IndexReport]] = {}
        self._generation = 0  # counts re-indexes: a build begun before one is not installed after it
        self._install_lock = threading.Lock()  # held only to swap in a finished build's results
        self._builds = Jobs("index")  # one build per kind at a time; nobody else waits (shirtsim.jobs)
        self.overviews = Overviews()
        self.exports = Exports(self.cache_dir / "exports" / catalog_key(self.catalog.root))  # one folder per catalog
        self._upload_slots = threading.BoundedSemaphore(UPLOADS_AT_ONCE)
        self.pictures = Pictures(ThumbnailStore(self.cache_dir))

    def _load_catalog(self, root: str | Path) -> None:
        self.catalog, self.labels, self.label_problems = read_catalog(root)

    def warm_up_in_background(self, kind: Kind) -> None:
        """Load the model and prepare ``kind``'s network in a thread, once, so the first upload
        does not wait for it (the app asks on every run, from the first page on; this returns at once)."""
        self.model.warm_up_in_background(lambda e: embed(e, kind, np.zeros((1, 224, 224, 3), np.uint8)))

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first need and once only, however many sessions ask at the same time."""
        return self.model.get()

    def index(self, kind: Kind, progress: ProgressFn | None = None, rebuild: bool = False) -> VectorIndex:
        return self.index_with_report(kind, progress, rebuild)[0]

    def index_with_report(
        self, kind: Kind, progress: ProgressFn | None = None, rebuild: bool = False, allow_removals: bool = False
    ) -> tuple[VectorIndex, IndexReport]:
        """The catalog's index for ``kind``, built on first use. ``rebuild`` re-reads the catalog
        folder; ``allow_removals`` does too, and confirms a removal the guard held back
        (:mod:`shirtsim.index.removals`; otherwise such shirts stay indexed and ``report.withheld`` says so).

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
        if self.milvus is not None:
            self.milvus.connect()  # fail fast, before a long local build
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
        built: tuple[VectorIndex, IndexReport] = (index, report)
        if self.milvus is not None:
            mirrored = self.milvus.mirror(
                kind, self.weights, self.cache_dir, catalog, labels, index, report, allow_removals
            )
            built = (mirrored, report)
        with self._install_lock:
            if rebuild:  # every kind's index and every overview describe the old folder: let them go
                self._generation += 1
                self.catalog, self.labels, self.label_problems = catalog, labels, label_problems
                self._indexes = {kind.name: built}
                self.overviews.forget()
                self.pictures.indexed(report.contents, fresh=True)
            elif generation == self._generation:
                self._indexes = {**self._indexes, kind.name: built}
                self.pictures.indexed(report.contents)
        return built

    @property
    def cache_warning(self) -> str | None:
        """What to tell the user, once, when the cache folder cannot be written (store.cache_warning)."""
        return cache_warning(self.cache_dir)

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
        """The catalog as a 2D map under ``mode`` (:class:`Overviews`)."""
        return self.overviews.catalog_map(self.index(mode.kind), mode)

    def duplicates(self, progress: ProgressFn | None = None) -> DuplicateScan:
        """The catalog's near-duplicate pairs (:class:`Overviews`; no model needed)."""
        return self.overviews.duplicates(self.catalog, self.cache_dir, progress)

    def quality(self, mode: Mode, columns: list[str]) -> Quality:
        """Precision@10 of ``mode`` on the catalog's own labels (:class:`Overviews`)."""
        if self.labels is None:
            raise ShirtsimError("This catalog has no labels.csv: quality is measured against its labels.")
        return self.overviews.quality(self.index(mode.kind), self.labels, mode, columns)

    def in_sample(self, ids: list[str]) -> int:
        """How many of these indexed shirts the learned projection was fitted on (0: held out)."""
        if self.projection is None:
            return 0
        contents = self.pictures.contents
        return self.projection.fitted_on([contents[i] for i in ids if i in contents])

    def check_id(self, shirt_id: str, index: VectorIndex) -> str:
        """``shirt_id`` if it is an indexed shirt, else :class:`UnknownShirtError` with a safe message."""
        if not isinstance(shirt_id, str) or len(shirt_id) > MAX_ID_LEN or shirt_id not in index:
            shown = repr(str(shirt_id)[:60])
            raise UnknownShirtError(f"No shirt with id {shown} in this catalog.")
        return shirt_id

    def similar_to_id(
        self,
        shirt_id: str,
        mode: Mode,
        k: int = 10,
        filters: dict[str, list[str]] | None = None,
        rules: Rules | None = None,
        curation: Curation | None = None,
    ) -> list[Entry]:
        """The ``k`` shirts most like catalog shirt ``shirt_id`` (itself excluded), under ``rules``
        (``filters``, ``{"colour": ["red"]}``, is the filter rule alone) and ``curation``."""
        index = self.index(mode.kind)
        self.check_id(shirt_id, index)
        request = Request(index.stored(shirt_id), shirt_id)
        return self.one_list(request, mode, k, Rules.with_filters(rules, filters), curation)

    def one_list(
        self, request: Request, mode: Mode, k: int, rules: Rules | None, curation: Curation | None = None
    ) -> list[Entry]:
        """One request's entries from :meth:`lists`."""
        return self.lists([request], mode, k, rules, curation)[0].entries

    def lists(
        self,
        requests: list[Request],
        mode: Mode,
        k: int = 10,
        rules: Rules | None = None,
        curation: Curation | None = None,
    ) -> list[ResultList]:
        """Each request's list of ``k`` under ``rules`` and ``curation`` (:mod:`shirtsim.feed.lists`:
        the one way every list is made, for ``similar``, the export and the page)."""
        return self.list_maker(mode, k, rules, curation).make(requests)

    def list_maker(
        self, mode: Mode, k: int = 10, rules: Rules | None = None, curation: Curation | None = None
    ) -> ListMaker:
        """What makes lists of ``k`` in ``mode`` under ``rules`` and ``curation`` (the export's)."""
        return ListMaker(self.index(mode.kind), self.labels, mode, _clamp(k), rules, curation)

    def similar_to_image_bytes(
        self, data: bytes, name: str, mode: Mode, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Entry]:
        """The ``k`` catalog shirts most like an uploaded photo (embedded in memory, never stored)."""
        return self.similar_to_vector(self.read_upload(data, name, mode.kind).vector, mode, k, filters)

    def read_upload(self, data: bytes, name: str, kind: Kind, box: Box | str | None = None) -> Upload:
        """Decode and embed a photo from outside (never stored), with a preview to show it.
        ``box``: None searches the whole photo as it is; a Box or ``"auto"`` (the proposed box)
        searches that part with its background made white (:mod:`shirtsim.catalog.crop`).
        The app keeps the result per upload, so a rerun (another mode, another k) does not embed again."""
        with self._upload_slots:  # twenty sessions uploading at once decode two photos at a time, not twenty
            return read_photo(self.embedder, kind, data, name, box)

    def similar_to_vector(
        self,
        raw: np.ndarray,
        mode: Mode,
        k: int = 10,
        filters: dict[str, list[str]] | None = None,
        rules: Rules | None = None,
        curation: Curation | None = None,
    ) -> list[Entry]:
        """The ``k`` catalog shirts most like a raw descriptor from :meth:`read_upload` (a photo has
        no labels: only the rules on the results' own labels apply, and only blocks of every list)."""
        index = self.index(mode.kind)
        return self.one_list(Request(index.prepare(raw)), mode, k, Rules.with_filters(rules, filters), curation)

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
        self,
        mode: Mode,
        steering: Steering,
        k: int = 10,
        filters: dict[str, list[str]] | None = None,
        rules: Rules | None = None,
        curation: Curation | None = None,
    ) -> list[Entry]:
        """The ``k`` shirts most like the liked ones and least like the unliked ones (the marked
        catalog shirts themselves left out), optionally in a colour or another shirt's colours.
        The rules and the curation are those of the first liked shirt, when it is a catalog shirt."""
        query, weights = self.steered_query(mode, steering)
        first = steering.like[0] if steering.like and isinstance(steering.like[0], str) else None
        request = Request(query, first, frozenset(steering.marked()))
        return self.one_list(request, weights, k, Rules.with_filters(rules, filters), curation)

    def search_prepared(
        self,
        query: np.ndarray,
        mode: Mode,
        k: int = 10,
        exclude: list[str] = (),
        filters: dict[str, list[str]] | None = None,
    ) -> list[Entry]:
        """The ``k`` best matches for a prepared query vector, ``exclude``'d shirts left out."""
        return self.one_list(Request(query, None, frozenset(exclude)), mode, k, Rules.with_filters(None, filters))

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
        """A small JPEG of a catalog shirt for the page (:class:`Pictures`), or None."""
        return self.pictures.picture(self.catalog, shirt_id, size)

    def file_present(self, shirt_id: str) -> bool:
        """Is a catalog shirt's file still there (the app says so when one vanished)?"""
        return self.pictures.file_present(self.catalog, shirt_id)

    @property
    def stale(self) -> dict[str, str]:
        """id -> what changed on disk since the index was built (seen while drawing pictures)."""
        return self.pictures.stale


def _palette(jpeg: bytes | None) -> list[Swatch]:
    return palette(Image.open(io.BytesIO(jpeg))) if jpeg else []


def _clamp(k: int) -> int:
    return int(np.clip(k, 1, MAX_K))
