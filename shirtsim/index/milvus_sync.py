"""Making a catalog's Milvus collection mirror its index: rows upserted only when they change,
deleted only when their shirt is gone (and not too many at once), and a collection that is not
this layout (an older version's, another program's, a damaged one) rebuilt rather than trusted.

Collection layout, one per catalog, descriptor fingerprint and learned projection: ``key`` (the
primary key, :func:`shirtsim.index.milvus.row_key`), ``id``, ``vector``, ``version`` (digest of
the image content and its labels), ``labels`` (JSON); the centring mean in ``<name>_meta``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from shirtsim.catalog.folder import MAX_ID_LEN
from shirtsim.errors import ShirtsimError
from shirtsim.index.milvus import (
    BATCH_BYTES,
    CONNECT_TIMEOUT_S,
    CONSISTENCY,
    KEY_FORM,
    KEY_LEN,
    MAX_BATCH,
    IndexBackendError,
    MilvusIndex,
    first_line,
    index_params,
    row_key,
)
from shirtsim.index.removals import check_removals
from shirtsim.index.search import SearchIndex

if TYPE_CHECKING:
    from pymilvus import MilvusClient

# (name, type, primary key, max_length or dim) of the shirts' collection and its ``_meta`` companion
SHIRT_FIELDS = (
    ("key", "VARCHAR", True, KEY_LEN),
    ("id", "VARCHAR", False, 4 * MAX_ID_LEN),  # Milvus counts bytes: 4 per character at most
    ("vector", "FLOAT_VECTOR", False, None),  # None: the descriptor's dim
    ("version", "VARCHAR", False, 64),
    ("labels", "JSON", False, None),
)


META_FIELDS = (("key", "VARCHAR", True, 32), ("vector", "FLOAT_VECTOR", False, None))


def sync(
    client: MilvusClient,
    name: str,
    local: SearchIndex,
    contents: dict[str, str],
    labels: dict[str, dict[str, str]],
    raw_of: Callable[[str], np.ndarray | None],
    rebuild: bool = False,
    index_type: str = "FLAT",
    allow_removals: bool = False,
) -> tuple[MilvusIndex, dict[str, int]]:
    """Make collection ``name`` mirror ``local`` (ids, vectors, labels); returns the index and
    counts of rows ``{"upserted", "deleted", "kept"}``.

    ``contents`` maps each id to its image content hash: with the labels it decides which rows
    changed. When the collection's mean is not ``local``'s, changed rows are prepared from their
    raw descriptors (``raw_of``, the embedding cache) with the collection's mean. The vectors are
    indexed with ``index_type`` (:func:`index_type`); an index of another type is rebuilt.

    What is not this module's layout is repaired (module docstring). Removing many shirts at once
    needs ``allow_removals`` (:func:`shirtsim.index.removals.check_removals`; also when a collection to
    rebuild holds many more rows than the folder has shirts). When refused, :class:`RemovalRefused`
    is raised before any row is written or deleted, not only before the deletions: the folder that
    lost them is suspect (another share mounted in its place would get its shirts mixed in), so a
    refused sync leaves the collection as it was. ``rebuild`` (the benchmark's fresh start) drops
    both collections first, unguarded: the caller asked for exactly that.
    """
    where = f"the catalog folder (Milvus collection {name})"
    dim = local.layout.dim
    try:
        if rebuild:
            _drop(client, name)
        elif not _usable(client, name, dim):
            _start_over(client, name, len(local), where, allow_removals)
        mean = _ensure_collections(client, name, dim, local.mean, index_type, len(local))
        stored = _stored_rows(client, name)
        if stored is None:  # a key shirtsim never writes: another program wrote here
            _start_over(client, name, len(local), where, allow_removals)
            mean = _ensure_collections(client, name, dim, local.mean, index_type, len(local))
            stored = {}, []
        existing, strays = stored
        wanted = {i: _version(contents[i], labels.get(i, {})) for i in local.ids}
        changed = [i for i in local.ids if existing.get(i) != wanted[i]]
        gone = [i for i in existing if i not in wanted]
        check_removals(len(gone), len(existing), where, allow=allow_removals)
        same_mean = np.array_equal(mean, local.mean)
        remote = MilvusIndex(client, name, local.kind, local.ids, mean, local.projection, index_type)
        batch = max(1, min(MAX_BATCH, BATCH_BYTES // (dim * 4)))  # 500 style rows, 167 seed rows
        for start in range(0, len(changed), batch):
            rows = []
            for shirt_id in changed[start : start + batch]:
                raw = None if same_mean else raw_of(shirt_id)
                vec = local.stored(shirt_id) if raw is None else remote.prepare(raw)
                rows.append(
                    {
                        "key": row_key(shirt_id),
                        "id": shirt_id,
                        "vector": np.asarray(vec, np.float32).tolist(),
                        "version": wanted[shirt_id],
                        "labels": labels.get(shirt_id, {}),
                    }
                )
            client.upsert(collection_name=name, data=rows, timeout=CONNECT_TIMEOUT_S * 6)
        # Hex keys only (pymilvus quotes them unescaped). A stray under a wanted key was just overwritten.
        doomed = [row_key(i) for i in gone] + sorted(set(strays) - {row_key(i) for i in changed})
        for start in range(0, len(doomed), MAX_BATCH):
            client.delete(collection_name=name, ids=doomed[start : start + MAX_BATCH], timeout=CONNECT_TIMEOUT_S * 6)
        if changed or doomed:
            # Seal what was written: rows still in a growing segment are searched without the
            # index (10,000 rows: 0.7 s per query before, 12 ms after, on Milvus Lite).
            client.flush(collection_name=name)
    except ShirtsimError:  # IndexBackendError, RemovalRefused: already a sentence for the person
        raise
    except Exception as e:  # noqa: BLE001
        raise IndexBackendError(f"Milvus indexing failed: {first_line(e)}") from None
    counts = {"upserted": len(changed), "deleted": len(doomed), "kept": len(local.ids) - len(changed)}
    return remote, counts


def _usable(client: MilvusClient, name: str, dim: int) -> bool:
    """Are the collections (those that exist) this module's layout, with the mean the vectors are
    centred on? Missing ones are created by :func:`_ensure_collections`."""
    meta = name + "_meta"
    if not client.has_collection(meta):
        return not client.has_collection(name)  # vectors centred on an unknown mean
    if not _has_layout(client, meta, META_FIELDS, dim):
        return False
    _load(client, meta)  # a collection another process created is not loaded in this one
    if not client.get(collection_name=meta, ids=["mean"], output_fields=["vector"]):
        return False
    return not client.has_collection(name) or _has_layout(client, name, SHIRT_FIELDS, dim)


def _has_layout(client: MilvusClient, name: str, fields: tuple, dim: int) -> bool:
    from pymilvus import DataType  # noqa: PLC0415

    described = client.describe_collection(name)
    found = sorted(
        (f["name"], DataType(f["type"]).name, bool(f.get("is_primary")), _size(f), bool(f.get("nullable")))
        for f in described["fields"]
    )
    wanted = sorted(
        (n, kind, primary, dim if kind == "FLOAT_VECTOR" else size, False) for n, kind, primary, size in fields
    )
    return not described.get("auto_id") and found == wanted


def _size(field: dict) -> int | None:
    params = field.get("params") or {}
    return int(params.get("max_length") or params.get("dim") or 0) or None


def _start_over(client: MilvusClient, name: str, shirts: int, where: str, allow_removals: bool) -> None:
    """Drop the collections to rebuild them; refused (:class:`RemovalRefused`) when the folder's
    ``shirts`` are so many fewer than the rows that the rebuild would remove too many."""
    rows = _row_count(client, name)
    check_removals(max(0, rows - shirts), rows, where, allow=allow_removals)
    _drop(client, name)


def _drop(client: MilvusClient, name: str) -> None:
    for n in (name, name + "_meta"):
        if client.has_collection(n):
            client.drop_collection(n)


def _row_count(client: MilvusClient, name: str) -> int:
    if not client.has_collection(name):
        return 0
    try:
        client.load_collection(name)
        return int(client.query(collection_name=name, filter="", output_fields=["count(*)"])[0]["count(*)"])
    except Exception:  # noqa: BLE001 (one that cannot be loaded, without a vector index: what it stores)
        return int(client.get_collection_stats(name)["row_count"])


def _ensure_collections(
    client: MilvusClient, name: str, dim: int, mean: np.ndarray, index_type: str, rows: int
) -> np.ndarray:
    """Create what is missing (after :func:`_usable`); the mean the collection is centred on."""
    from pymilvus import DataType, MilvusClient  # noqa: PLC0415

    def create(collection: str, fields: tuple, index: str, params: dict) -> None:
        schema = MilvusClient.create_schema(auto_id=False)
        for field, kind, primary, size in fields:
            size_of = {"VARCHAR": {"max_length": size}, "FLOAT_VECTOR": {"dim": dim}}.get(kind, {})
            schema.add_field(field, DataType[kind], is_primary=primary, **size_of)
        index_params = client.prepare_index_params()
        index_params.add_index("vector", index_type=index, metric_type="IP", params=params)
        client.create_collection(collection, schema=schema, index_params=index_params, consistency_level=CONSISTENCY)

    meta = name + "_meta"
    if not client.has_collection(meta):
        create(meta, META_FIELDS, "FLAT", {})
        client.upsert(collection_name=meta, data=[{"key": "mean", "vector": np.asarray(mean, np.float32).tolist()}])
    _load(client, meta)  # a collection another process created is not loaded in this one
    rows_of_mean = client.get(collection_name=meta, ids=["mean"], output_fields=["vector"])
    stored_mean = np.asarray(rows_of_mean[0]["vector"], dtype=np.float32)
    if not client.has_collection(name):
        create(name, SHIRT_FIELDS, index_type, index_params(index_type, rows))
    elif _index_type_of(client, name) != index_type:  # the catalog grew past APPROX_FROM, or the setting changed
        client.release_collection(name)
        client.drop_index(name, "vector")
        params = client.prepare_index_params()
        params.add_index("vector", index_type=index_type, metric_type="IP", params=index_params(index_type, rows))
        client.create_index(name, params)
    _load(client, name)
    return stored_mean


def _load(client: MilvusClient, name: str) -> None:
    """Load a collection unless it is loaded (loading a loaded one still costs a round of polls)."""
    state = client.get_load_state(name).get("state")
    if getattr(state, "name", None) != "Loaded":
        client.load_collection(name)


def _index_type_of(client: MilvusClient, name: str) -> str | None:
    """The vector index's type, or None when the collection has none (a failure is raised, so a
    passing network error never drops an index)."""
    if "vector" not in client.list_indexes(name):
        return None
    return client.describe_index(name, "vector").get("index_type")


def _stored_rows(client: MilvusClient, name: str) -> tuple[dict[str, str], list[str]] | None:
    """The collection's ``{id: version}`` and the keys of rows that are not any id's (to delete);
    None at a key shirtsim never writes, before the query iterator pastes it into its next filter."""
    existing: dict[str, str] = {}
    strays: list[str] = []
    it = client.query_iterator(collection_name=name, batch_size=1000, filter="", output_fields=["id", "version"])
    try:
        while batch := it.next():
            for row in batch:
                key, shirt_id, version = row.get("key"), row.get("id"), row.get("version")
                if not isinstance(key, str) or not KEY_FORM.fullmatch(key):
                    return None
                if isinstance(shirt_id, str) and isinstance(version, str) and key == row_key(shirt_id):
                    existing[shirt_id] = version
                else:
                    strays.append(key)
    finally:
        it.close()
    return existing, strays


def _version(content_hash: str, labels: dict[str, str]) -> str:
    return hashlib.sha256((content_hash + json.dumps(labels, sort_keys=True)).encode()).hexdigest()[:32]
