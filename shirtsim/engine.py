"""One catalog, one model, its indexes: what the CLI and the app both talk to."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .catalog import MAX_ID_LEN, Catalog, Labels, discover, find_labels
from .demo import DEMO_CATALOG
from .descriptors import DEFAULT_MODE, MODES, Kind, Mode
from .embedding import Embedder
from .errors import CatalogError, ShirtsimError, UnknownShirtError
from .images import decode_image
from .index import IndexReport, build_index, embed_images, fingerprint
from .progress import ProgressFn
from .search import Match, SearchIndex, VectorIndex
from .settings import CATALOG
from .store import VectorStore, catalog_key, default_cache_dir
from .weights import Weights, resolve_weights

MAX_K = 100


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
    ) -> None:
        """``index_backend``: ``memory`` or ``milvus:<uri>``; None reads ``$SHIRTSIM_INDEX`` (default memory)."""
        from .milvus import parse_backend  # noqa: PLC0415

        self.milvus_uri = parse_backend(index_backend)
        self._milvus = None
        self._load_catalog(catalog_dir or default_catalog_dir())
        self.weights = weights or resolve_weights()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._get_embedder = get_embedder or Embedder
        self._embedder: Embedder | None = None
        self._indexes: dict[str, tuple[VectorIndex, IndexReport]] = {}
        self._lock = threading.Lock()  # index builds
        self._model_lock = threading.Lock()  # not the same lock: building an index may load the model

    def _load_catalog(self, root: str | Path) -> None:
        """(Re)read the catalog folder and its labels; label problems are kept for the user."""
        self.catalog: Catalog = discover(root)
        try:
            self.labels: Labels | None = find_labels(self.catalog)
        except CatalogError as e:
            self.labels, self.label_problems = None, [str(e)]
        else:
            self.label_problems = list(self.labels.problems) if self.labels else []

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
        self, kind: Kind, progress: ProgressFn | None = None, rebuild: bool = False
    ) -> tuple[VectorIndex, IndexReport]:
        """The catalog's index for ``kind``; ``rebuild`` re-reads the catalog folder first."""
        with self._lock:
            if rebuild:
                self._load_catalog(self.catalog.root)
                self._indexes.clear()  # every kind's index describes the old folder
            if kind.name not in self._indexes:
                if self.milvus_uri and self._milvus is None:  # fail fast, before a long local build
                    from .milvus import connect  # noqa: PLC0415

                    self._milvus = connect(self.milvus_uri)
                index, report = build_index(
                    self.catalog, kind, self.weights, lambda: self.embedder, self.cache_dir, progress
                )
                index.labels = self.labels.rows if self.labels else {}
                remote = self._mirror_to_milvus(kind, index, report) if self.milvus_uri else None
                self._indexes[kind.name] = (remote or index, report)
            return self._indexes[kind.name]

    def _mirror_to_milvus(self, kind: Kind, local: SearchIndex, report: IndexReport) -> VectorIndex:
        """Upsert what changed into this catalog's Milvus collection; searches then go there."""
        from . import milvus  # noqa: PLC0415

        fp = fingerprint(self.weights, kind)
        store = VectorStore(self.cache_dir, fp)
        contents = report.contents
        remote, counts = milvus.sync(
            self._milvus,
            milvus.collection_name(catalog_key(self.catalog.root), fp),
            local,
            contents,
            self.labels.rows if self.labels else {},
            lambda shirt_id: store.get(contents[shirt_id]),
        )
        report.backend = (
            f"Milvus {remote.name}: {counts['upserted']} upserted, {counts['deleted']} deleted, "
            f"{counts['kept']} unchanged"
        )
        return remote

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
        return index.search(index.stored(shirt_id), mode, _clamp(k), exclude=shirt_id, filters=filters)

    def similar_to_image_bytes(
        self, data: bytes, name: str, mode: Mode, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Match]:
        """The ``k`` catalog shirts most like an uploaded photo (embedded in memory, never stored)."""
        return self.similar_to_vector(self.describe_image_bytes(data, name, mode.kind), mode, k, filters)

    def describe_image_bytes(self, data: bytes, name: str, kind: Kind) -> np.ndarray:
        """The raw ``kind`` descriptor of an uploaded photo: decoded and embedded, never stored.
        The app keeps it per upload, so a rerun (another mode, another k) does not embed again."""
        return embed_images(self.embedder, kind, [decode_image(data, name)])[0]

    def similar_to_vector(
        self, raw: np.ndarray, mode: Mode, k: int = 10, filters: dict[str, list[str]] | None = None
    ) -> list[Match]:
        """The ``k`` catalog shirts most like a raw descriptor from :meth:`describe_image_bytes`."""
        index = self.index(mode.kind)
        return index.search(index.prepare(raw), mode, _clamp(k), filters=filters)

    def image_path(self, shirt_id: str) -> Path:
        item = self.catalog.get(shirt_id)
        if item is None:
            raise UnknownShirtError(f"No shirt with id {shirt_id[:60]!r} in this catalog.")
        return item.path


def _clamp(k: int) -> int:
    return int(np.clip(k, 1, MAX_K))
