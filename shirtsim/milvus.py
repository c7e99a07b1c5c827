"""The index on Milvus: Milvus Lite (a local file, embedded) or a Milvus server/cluster by URI.

``SHIRTSIM_INDEX=milvus:<uri>`` (see :func:`backend_from_env`), where ``<uri>`` is a file such as
``./shirts.db`` (Milvus Lite, through ``pymilvus.MilvusClient``) or ``http://host:19530``
(token from ``$SHIRTSIM_MILVUS_TOKEN``). One code path serves both.

Collection layout, one per catalog, descriptor fingerprint and learned projection
(``shirtsim_<catalog key>_<fingerprint>``; the catalog key is a digest of its folder path):

- ``id`` VARCHAR primary key: the shirt id;
- ``vector`` FLOAT_VECTOR: the prepared descriptor (learned projection applied, centred, each
  part normalised to its length), inner product, so a mode's re-weighed query scores as in
  memory. Index (:func:`index_type`, ``$SHIRTSIM_MILVUS_INDEX_TYPE``): FLAT (exact) below
  :data:`APPROX_FROM` shirts, HNSW from there (:data:`HNSW_BUILD`, searched with
  :func:`search_params`); Milvus Lite always searches exactly, whatever it is asked for;
- ``version`` VARCHAR: digest of the image content and its labels: a row is upserted only when
  it changes;
- ``labels`` JSON: the shirt's ``labels.csv`` row, for filters.

The centring mean is fixed when the collection is created and kept in a companion collection
(``<name>_meta``); re-indexing an edited catalog then upserts only the changed rows instead of
every row (a new mean would move every vector). Dropping the two collections makes the next
index build recreate them with the current mean.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .catalog import MAX_ID_LEN
from .descriptors import Kind, Mode
from .errors import ShirtsimError
from .search import Match, SearchIndex, prepare, weigh
from .settings import INDEX, MILVUS_INDEX_TYPE, MILVUS_TOKEN

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from .projection import Projection

CONNECT_TIMEOUT_S = 5.0
BATCH_BYTES = 16 * 1024**2  # vector bytes per upsert: well under Milvus' 64 MB message limit
MAX_BATCH = 500
INDEX_TYPES = ("FLAT", "HNSW", "IVF_FLAT")
# A server's default ("Bounded") lets a read miss a write of the last few seconds: the mean just
# stored, a shirt just upserted. "Strong" waits for the server's next time tick on every search
# (~200 ms). "Session": this client's reads see its own writes, and a search waits only if this
# client has just written.
CONSISTENCY = "Session"
APPROX_FROM = 50_000  # auto: a FLAT scan of 50,000 x 1,020 floats is ~20 ms on a server; HNSW from there
# HNSW: 16 links per node, a wide build. Search breadth ef: measured (README, `bench --index
# milvus:http://...`) for recall@10 >= 0.95 in every mode at 100,000 synthetic shirts.
HNSW_BUILD = {"M": 16, "efConstruction": 200}
HNSW_EF = 256
VECTORS_PER_FETCH = 1000  # ids per get() when the catalog map asks for every vector
IVF_PROBES = 32  # of sqrt(n) * 4 lists (see index_params)


class IndexBackendError(ShirtsimError):
    """The configured index backend cannot be used (bad setting, server unreachable)."""


def parse_backend(value: str | None) -> str | None:
    """The Milvus URI in an index setting (``memory`` or ``milvus:<uri>``), or None for memory.
    ``value`` None reads ``$SHIRTSIM_INDEX``."""
    value = (INDEX.get() if value is None else value).strip()
    if value in ("", "memory"):
        return None
    if value.startswith("milvus:") and len(value) > len("milvus:"):
        return value[len("milvus:") :]
    raise IndexBackendError(f"SHIRTSIM_INDEX={value[:80]!r}: use 'memory' or 'milvus:<file.db or http://host:19530>'.")


def connect(uri: str) -> MilvusClient:
    """A ``MilvusClient`` for ``uri``; :class:`IndexBackendError` within a few seconds if unreachable."""
    try:
        from pymilvus import MilvusClient  # noqa: PLC0415 (only this backend needs it)
    except ImportError:
        raise IndexBackendError(
            "The Milvus backend needs pymilvus and milvus-lite: pip install -r requirements.txt"
        ) from None
    # pymilvus logs its own failures with stack details; we report each one as a single line instead.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    # Milvus Lite serves in this process and logs each optional call it lacks (AllocTimestamp,
    # which the row iterator then replaces with a client-side timestamp) as an error with a trace.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=uri, token=MILVUS_TOKEN.get(), timeout=CONNECT_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 (pymilvus raises several kinds; all mean "cannot use it")
        raise IndexBackendError(f"Cannot reach Milvus at {shown(uri)}: {_first_line(e)}") from None


def index_type(uri: str, rows: int, setting: str | None = None) -> str:
    """The index a collection of ``rows`` shirts at ``uri`` gets: ``setting`` (default
    ``$SHIRTSIM_MILVUS_INDEX_TYPE``) or, for ``auto``, FLAT below APPROX_FROM rows, else HNSW.
    Milvus Lite (a file URI) gets FLAT: it searches every index exactly anyway."""
    value = (MILVUS_INDEX_TYPE.get() if setting is None else setting).strip()
    wanted = value.upper()
    if wanted not in INDEX_TYPES + ("AUTO",):
        raise IndexBackendError(f"SHIRTSIM_MILVUS_INDEX_TYPE={value[:40]!r}: use auto, " + ", ".join(INDEX_TYPES) + ".")
    if not is_server(uri):
        return "FLAT"
    if wanted == "AUTO":
        return "HNSW" if rows >= APPROX_FROM else "FLAT"
    return wanted


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def index_params(index_type: str, rows: int) -> dict:
    """Build parameters of ``index_type`` for a collection of ``rows`` shirts."""
    if index_type == "HNSW":
        return dict(HNSW_BUILD)
    if index_type == "IVF_FLAT":
        return {"nlist": int(min(65536, max(16, 4 * np.sqrt(max(rows, 1)))))}
    return {}


def search_params(index_type: str, k: int) -> dict:
    """What a search for ``k`` hits asks of ``index_type`` (HNSW's ef must be at least k)."""
    if index_type == "HNSW":
        return {"metric_type": "IP", "params": {"ef": max(HNSW_EF, k)}}
    if index_type == "IVF_FLAT":
        return {"metric_type": "IP", "params": {"nprobe": IVF_PROBES}}
    return {"metric_type": "IP"}


def collection_name(catalog_key: str, fingerprint: str) -> str:
    return "shirtsim_" + re.sub(r"[^0-9A-Za-z_]", "_", f"{catalog_key}_{fingerprint}")[:200]


def literal(value: str) -> str:
    """``value`` as a Milvus string literal: quoted, with backslashes and quotes escaped and
    control characters dropped, so no label text can change the meaning of an expression."""
    clean = "".join(ch for ch in str(value) if ch >= " " and ch != "\x7f")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(filters: dict[str, Iterable[str]] | None) -> str:
    """``{"colour": ["red", "blue"], ...}`` as a Milvus filter (values of one column OR-ed, columns AND-ed)."""
    parts = []
    for column, values in sorted((filters or {}).items()):
        values = sorted(set(values))
        if values:  # (Milvus Lite accepts no `in` on a JSON path, so equalities are OR-ed)
            field = f"labels[{literal(column)}]"
            parts.append("(" + " or ".join(f"{field} == {literal(v)}" for v in values) + ")")
    return " and ".join(parts)


class MilvusIndex:
    """The same search interface as :class:`~shirtsim.search.SearchIndex`, answered by Milvus."""

    def __init__(
        self,
        client: MilvusClient,
        name: str,
        kind: Kind,
        ids: list[str],
        mean: np.ndarray,
        projection: Projection | None = None,
        index_type: str = "FLAT",
    ) -> None:
        self.client, self.name, self.kind = client, name, kind
        self.index_type = index_type
        self.projection = projection
        self.layout = projection.layout if projection is not None else kind.layout
        self.ids = list(ids)
        self.mean = mean
        self._order = {shirt_id: n for n, shirt_id in enumerate(self.ids)}  # ties broken by catalog order

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, shirt_id: object) -> bool:
        return shirt_id in self._order

    def stored(self, shirt_id: str) -> np.ndarray:
        rows = self._call(self.client.get, collection_name=self.name, ids=[shirt_id], output_fields=["vector"])
        if not rows:  # the collection was changed behind our back
            raise self._missing(shirt_id)
        return np.asarray(rows[0]["vector"], dtype=np.float32)

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        return prepare(self.kind, self.projection, self.mean, raw)

    def vectors(self) -> np.ndarray:
        """Every stored vector, fetched from Milvus a thousand at a time."""
        out = np.zeros((len(self.ids), self.layout.dim), np.float32)
        for start in range(0, len(self.ids), VECTORS_PER_FETCH):
            chunk = self.ids[start : start + VECTORS_PER_FETCH]
            rows = self._call(self.client.get, collection_name=self.name, ids=chunk, output_fields=["vector"])
            found = {row["id"]: row["vector"] for row in rows}
            if len(found) != len(chunk):
                raise self._missing(next(i for i in chunk if i not in found))
            out[start : start + len(chunk)] = np.asarray([found[i] for i in chunk], np.float32)
        return out

    def search(
        self,
        query: np.ndarray,
        mode: Mode,
        k: int = 10,
        exclude: str | None = None,
        filters: dict[str, Iterable[str]] | None = None,
    ) -> list[Match]:
        if mode.kind is not self.kind:
            raise ValueError(f"mode {mode.name} needs {mode.kind.name} descriptors, index has {self.kind.name}")
        if k <= 0:
            return []
        expression = filter_expression(filters)
        extra = {"filter": expression} if expression else {}
        hits = self._call(
            self.client.search,
            collection_name=self.name,
            data=[weigh(self.layout, query, mode).tolist()],
            limit=k + 1,
            search_params=search_params(self.index_type, k + 1),
            **extra,
        )[0]
        found = sorted(
            (-float(h["distance"]), self._order.get(h["id"], len(self._order)), h["id"])
            for h in hits
            if h["id"] != exclude
        )
        return [Match(shirt_id, -neg) for neg, _, shirt_id in found[:k]]

    def _missing(self, shirt_id: str) -> IndexBackendError:
        return IndexBackendError(f"Shirt {shirt_id[:60]!r} is missing from Milvus collection {self.name}; re-index.")

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(timeout=CONNECT_TIMEOUT_S, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise IndexBackendError(f"Milvus query failed: {_first_line(e)}") from None


def sync(
    client: MilvusClient,
    name: str,
    local: SearchIndex,
    contents: dict[str, str],
    labels: dict[str, dict[str, str]],
    raw_of: Callable[[str], np.ndarray | None],
    rebuild: bool = False,
    index_type: str = "FLAT",
) -> tuple[MilvusIndex, dict[str, int]]:
    """Make collection ``name`` mirror ``local`` (ids, vectors, labels); returns the index and
    counts of rows ``{"upserted", "deleted", "kept"}``.

    ``contents`` maps each id to its image content hash: with the labels it decides which rows
    changed. When the collection's mean is not ``local``'s, changed rows are prepared from their
    raw descriptors (``raw_of``, the embedding cache) with the collection's mean. The vectors are
    indexed with ``index_type`` (:func:`index_type`); an index of another type is rebuilt.
    """
    try:
        if rebuild:
            for n in (name, name + "_meta"):
                if client.has_collection(n):
                    client.drop_collection(n)
        mean = _ensure_collections(client, name, local.layout.dim, local.mean, index_type, len(local))
        existing = _versions(client, name)
        wanted = {i: _version(contents[i], labels.get(i, {})) for i in local.ids}
        changed = [i for i in local.ids if existing.get(i) != wanted[i]]
        same_mean = np.array_equal(mean, local.mean)
        remote = MilvusIndex(client, name, local.kind, local.ids, mean, local.projection, index_type)
        batch = max(1, min(MAX_BATCH, BATCH_BYTES // (local.layout.dim * 4)))  # 500 style rows, 167 seed rows
        for start in range(0, len(changed), batch):
            rows = []
            for shirt_id in changed[start : start + batch]:
                raw = None if same_mean else raw_of(shirt_id)
                vec = local.stored(shirt_id) if raw is None else remote.prepare(raw)
                rows.append(
                    {
                        "id": shirt_id,
                        "vector": np.asarray(vec, np.float32).tolist(),
                        "version": wanted[shirt_id],
                        "labels": labels.get(shirt_id, {}),
                    }
                )
            client.upsert(collection_name=name, data=rows, timeout=CONNECT_TIMEOUT_S * 6)
        gone = [i for i in existing if i not in wanted]
        for start in range(0, len(gone), MAX_BATCH):
            client.delete(collection_name=name, ids=gone[start : start + MAX_BATCH], timeout=CONNECT_TIMEOUT_S * 6)
        if changed or gone:
            # Seal what was written: rows still in a growing segment are searched without the
            # index (10,000 rows: 0.7 s per query before, 12 ms after, on Milvus Lite).
            client.flush(collection_name=name)
    except IndexBackendError:
        raise
    except Exception as e:  # noqa: BLE001
        raise IndexBackendError(f"Milvus indexing failed: {_first_line(e)}") from None
    counts = {"upserted": len(changed), "deleted": len(gone), "kept": len(local.ids) - len(changed)}
    return remote, counts


def _ensure_collections(
    client: MilvusClient, name: str, dim: int, mean: np.ndarray, index_type: str, rows: int
) -> np.ndarray:
    from pymilvus import DataType, MilvusClient  # noqa: PLC0415

    meta = name + "_meta"
    if not client.has_collection(meta):
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=32)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="IP")
        client.create_collection(meta, schema=schema, index_params=params, consistency_level=CONSISTENCY)
        client.upsert(collection_name=meta, data=[{"key": "mean", "vector": np.asarray(mean, np.float32).tolist()}])
        if client.has_collection(name):  # vectors centred on an unknown mean: start over
            client.drop_collection(name)
    client.load_collection(meta)  # a collection another process created is not loaded in this one
    rows = client.get(collection_name=meta, ids=["mean"], output_fields=["vector"])
    stored_mean = np.asarray(rows[0]["vector"], dtype=np.float32)
    if not client.has_collection(name):
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field(
            "id", DataType.VARCHAR, is_primary=True, max_length=4 * MAX_ID_LEN
        )  # Milvus counts bytes: 4 per character at most
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("version", DataType.VARCHAR, max_length=64)
        schema.add_field("labels", DataType.JSON)
        params = client.prepare_index_params()
        params.add_index("vector", index_type=index_type, metric_type="IP", params=index_params(index_type, rows))
        client.create_collection(name, schema=schema, index_params=params, consistency_level=CONSISTENCY)
    elif _index_type_of(client, name) != index_type:  # the catalog grew past APPROX_FROM, or the setting changed
        client.release_collection(name)
        client.drop_index(name, "vector")
        params = client.prepare_index_params()
        params.add_index("vector", index_type=index_type, metric_type="IP", params=index_params(index_type, rows))
        client.create_index(name, params)
    client.load_collection(name)
    return stored_mean


def _index_type_of(client: MilvusClient, name: str) -> str | None:
    """The vector index's type, or None when the collection has none (a failure is raised, so a
    passing network error never drops an index)."""
    if "vector" not in client.list_indexes(name):
        return None
    return client.describe_index(name, "vector").get("index_type")


def _versions(client: MilvusClient, name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    it = client.query_iterator(collection_name=name, batch_size=1000, filter='id != ""', output_fields=["version"])
    while True:
        batch = it.next()
        if not batch:
            it.close()
            return out
        out.update((row["id"], row["version"]) for row in batch)


def _version(content_hash: str, labels: dict[str, str]) -> str:
    return hashlib.sha256((content_hash + json.dumps(labels, sort_keys=True)).encode()).hexdigest()[:32]


def shown(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)[:120]  # never print credentials in a URI


def _first_line(e: Exception) -> str:
    text = str(getattr(e, "message", None) or e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]
