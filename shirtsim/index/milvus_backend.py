"""The engine's Milvus backend (``SHIRTSIM_INDEX=milvus:<uri>``): one client per engine, connected
on first need, the local index mirrored into the catalog's collection after each build, and the
filters Milvus can apply."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from shirtsim.catalog.folder import Catalog
from shirtsim.catalog.labels import Labels
from shirtsim.describe.descriptors import Kind
from shirtsim.index import milvus, milvus_sync
from shirtsim.index.build import IndexReport, fingerprint
from shirtsim.index.search import SearchIndex
from shirtsim.model.weights import Weights
from shirtsim.store import VectorStore, catalog_key

if TYPE_CHECKING:
    from pymilvus import MilvusClient


class MilvusBackend:
    """Milvus at ``uri`` (a Milvus Lite file or a server)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._client: MilvusClient | None = None
        self._lock = threading.Lock()

    def connect(self) -> MilvusClient:
        """The client, connected once (a bad setting or an unreachable server fails fast, before a
        long local build)."""
        with self._lock:
            if self._client is None:
                milvus.index_type(self.uri, 0)  # a bad SHIRTSIM_MILVUS_INDEX_TYPE
                self._client = milvus.connect(self.uri)
            return self._client

    def mirror(
        self,
        kind: Kind,
        weights: Weights,
        cache_dir: Path,
        catalog: Catalog,
        labels: Labels | None,
        local: SearchIndex,
        report: IndexReport,
        allow_removals: bool,
    ) -> milvus.MilvusIndex:
        """Upsert what changed into this catalog's collection; searches then go there."""
        fp = fingerprint(weights, kind)
        store = VectorStore(cache_dir, fp)
        contents = report.contents
        space = fp + (f"-{local.projection.id}" if local.projection is not None else "")
        remote, counts = milvus_sync.sync(
            self.connect(),
            milvus.collection_name(catalog_key(catalog.root), space),
            local,
            contents,
            stored_labels(labels, local.ids),
            lambda shirt_id: store.get(contents[shirt_id]),
            index_type=milvus.index_type(self.uri, len(local)),
            allow_removals=allow_removals,
        )
        report.backend = (
            f"Milvus {remote.name} ({remote.index_type}): {counts['upserted']} upserted, {counts['deleted']} deleted, "
            f"{counts['kept']} unchanged"
        )
        return remote


def stored_labels(labels: Labels | None, ids: list[str]) -> dict[str, dict[str, str]]:
    """The labels a Milvus row carries, for filters there: the columns a filter can use (a wide
    product feed's other columns would make every row's JSON larger than Milvus takes)."""
    if labels is None:
        return {}
    columns = labels.usable_columns(exclude=())
    values = {c: labels.column(c, ids) for c in columns}
    return {i: {c: values[c][n] for c in columns} for n, i in enumerate(ids) if i in labels}
