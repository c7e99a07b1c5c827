"""The index on Milvus: Milvus Lite (a local database, embedded) or a Milvus server/cluster by URI.

``SHIRTSIM_INDEX=milvus:<uri>`` (see :func:`backend_from_env`), where ``<uri>`` is a path such as
``./shirts.db`` (Milvus Lite, through ``pymilvus.MilvusClient``; Milvus Lite 3 makes it a folder)
or ``http://host:19530`` (token from ``$SHIRTSIM_MILVUS_TOKEN``). One code path serves both.

Collection layout, one per catalog, descriptor fingerprint and learned projection
(``shirtsim_<catalog key>_<fingerprint>``; the catalog key is a digest of its folder path):

- ``key`` VARCHAR primary key: :func:`row_key`, the SHA-256 of the shirt id in hex. Ids may hold
  any printable character, quotes and backslashes included, and pymilvus pastes primary keys into
  expressions unescaped (``get``/``delete`` by ids, the query iterator's cursor): only these 64 hex
  digits ever reach an expression, never an id;
- ``id`` VARCHAR: the shirt id, returned by searches;
- ``vector`` FLOAT_VECTOR: the prepared descriptor (learned projection applied, centred, each
  part normalised to its length), inner product, so a mode's re-weighed query scores as in
  memory. Index (:func:`index_type`, ``$SHIRTSIM_MILVUS_INDEX_TYPE``): FLAT (exact) below
  :data:`APPROX_FROM` shirts, HNSW from there (:data:`HNSW_BUILD`, searched with
  :func:`search_params`); Milvus Lite always searches exactly, whatever it is asked for;
- ``version`` VARCHAR: digest of the image content and its labels: a row is upserted only when
  it changes;
- ``labels`` JSON: the shirt's ``labels.csv`` row, for filters (:func:`filter_expression`).

The centring mean is fixed when the collection is created and kept in a companion collection
(``<name>_meta``); re-indexing an edited catalog then upserts only the changed rows instead of
every row (a new mean would move every vector). Every :func:`sync` repairs what it finds: a
collection of another layout (an older shirtsim's, keyed by id) or without its mean is dropped
and rebuilt; a row whose key is not its id's is deleted. Nobody drops a collection by hand.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shirtsim.describe.descriptors import Kind, Mode
from shirtsim.errors import ShirtsimError
from shirtsim.index.search import Match, prepare, weigh
from shirtsim.settings import INDEX, MILVUS_INDEX_TYPE, MILVUS_TOKEN

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from shirtsim.describe.projection import Projection

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
# HNSW: 16 links per node, a wide build. Search breadth ef: measured (docs/milvus.md, `bench --index
# milvus:http://...`) for recall@10 >= 0.95 in every mode at 100,000 synthetic shirts.
HNSW_BUILD = {"M": 16, "efConstruction": 200}
HNSW_EF = 256
VECTORS_PER_FETCH = 1000  # ids per get() when the catalog map asks for every vector
IVF_PROBES = 32  # of sqrt(n) * 4 lists (see index_params)
# The whole SHA-256 (64 hex digits), not a shortened one: ids are whatever the files are named, so
# two ids sharing a key must be out of reach, not merely unlikely; 32 more bytes a row.
KEY_LEN = 64
LITE_FILES = {"LOCK", "collections", "databases"}  # what Milvus Lite 3 keeps in a database folder


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
    # which the row iterator then replaces with a client-side timestamp) as an error with a trace,
    # and a database it cannot open with the traceback before pymilvus raises.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
    if uri.endswith(".db"):  # what pymilvus opens with Milvus Lite
        _check_lite_path(uri)
    try:
        return MilvusClient(uri=uri, token=MILVUS_TOKEN.get(), timeout=CONNECT_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 (pymilvus raises several kinds; all mean "cannot use it")
        raise IndexBackendError(f"Cannot reach Milvus at {shown(uri)}: {first_line(e)}") from None


def _check_lite_path(uri: str) -> None:
    """:class:`IndexBackendError` unless ``uri`` is free, an empty folder or a Milvus Lite 3
    database (a folder): Milvus Lite fails on a file with a traceback, and would write its own
    files into any folder."""
    path = Path(uri)
    try:
        names = {p.name for p in path.iterdir()} if path.is_dir() else None
        if not path.exists() or names is not None and (not names or LITE_FILES <= names):
            return
        what = "a folder of other files" if names else "an empty file" if path.stat().st_size == 0 else "a file"
    except OSError as e:
        raise IndexBackendError(f"Cannot open the Milvus Lite database {shown(uri)}: {e.strerror or e}.") from None
    raise IndexBackendError(
        f"{shown(uri)} is not a Milvus Lite database (it is {what}; Milvus Lite keeps a database in a folder of its "
        "own): point SHIRTSIM_INDEX at a new name ending in .db."
    )


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


# Milvus Lite reads no escape but these (no \u, \x or octal); both it and a server take every
# other character as it is, except a raw line break (measured: tests/test_milvus.py).
ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
KEY_FORM = re.compile(f"[0-9a-f]{{{KEY_LEN}}}")
NOTHING = 'key == ""'  # matched by no row: the filter on a value no literal can spell


def row_key(shirt_id: str) -> str:
    """The primary key of ``shirt_id``'s row: its SHA-256 in hex, safe in any expression."""
    return hashlib.sha256(shirt_id.encode("utf-8", "surrogatepass")).hexdigest()


def literal(value: str) -> str:
    """``value`` as a double-quoted Milvus string that both Milvus Lite and a server read back as
    exactly ``value``; :class:`ValueError` for text that is not Unicode (a lone surrogate), which
    no stored label can hold.

    One exception, as a JSON key (``labels["..."]``) on a server: there the key is compared as
    JSON spells it (``\\u0001``), which Milvus Lite rejects, so a column name holding a control
    character other than tab, line feed or carriage return matches nothing on a server."""
    text = str(value)
    text.encode("utf-8")  # UnicodeEncodeError is a ValueError
    return '"' + text.translate(ESCAPES) + '"'


def filter_expression(filters: dict[str, Iterable[str]] | None) -> str:
    """``{"colour": ["red", "blue"], ...}`` as a Milvus filter (values of one column OR-ed, columns AND-ed)."""
    parts = []
    for column, values in sorted((filters or {}).items()):
        values = sorted(set(values))
        if values:  # (Milvus Lite accepts no `in` on a JSON path, so equalities are OR-ed)
            terms = [f"labels[{literal(column)}] == {literal(v)}" for v in values if _spellable(column, v)]
            parts.append("(" + " or ".join(terms) + ")" if terms else NOTHING)
    return " and ".join(parts)


def _spellable(*texts: str) -> bool:
    try:
        return all(literal(text) for text in texts)
    except ValueError:
        return False


class MilvusIndex:
    """The same search interface as :class:`~shirtsim.index.search.SearchIndex`, answered by Milvus."""

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

    @property
    def rows(self) -> dict[str, int]:
        """id -> its place in :attr:`ids` (catalog order)."""
        return self._order

    def stored_many(self, shirt_ids: list[str]) -> np.ndarray:
        """The stored vectors of ``shirt_ids``, in that order, a thousand per request."""
        out = np.zeros((len(shirt_ids), self.layout.dim), np.float32)
        for start in range(0, len(shirt_ids), VECTORS_PER_FETCH):
            chunk = shirt_ids[start : start + VECTORS_PER_FETCH]
            keys = [row_key(i) for i in chunk]
            rows = self._call(self.client.get, collection_name=self.name, ids=keys, output_fields=["vector"])
            found = {row["key"]: row["vector"] for row in rows}
            if len(found) != len(set(keys)):
                raise self._missing(next(i for i, key in zip(chunk, keys) if key not in found))
            out[start : start + len(chunk)] = np.asarray([found[key] for key in keys], np.float32)
        return out

    def stored(self, shirt_id: str) -> np.ndarray:
        rows = self._call(self.client.get, collection_name=self.name, ids=[row_key(shirt_id)], output_fields=["vector"])
        if not rows:  # the collection was changed behind our back
            raise self._missing(shirt_id)
        return np.asarray(rows[0]["vector"], dtype=np.float32)

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        return prepare(self.kind, self.projection, self.mean, raw)

    def vectors(self) -> np.ndarray:
        """Every stored vector, fetched from Milvus a thousand at a time."""
        out = np.zeros((len(self.ids), self.layout.dim), np.float32)
        for start in range(0, len(self.ids), VECTORS_PER_FETCH):
            chunk = [(shirt_id, row_key(shirt_id)) for shirt_id in self.ids[start : start + VECTORS_PER_FETCH]]
            keys = [key for _, key in chunk]
            rows = self._call(self.client.get, collection_name=self.name, ids=keys, output_fields=["vector"])
            found = {row["key"]: row["vector"] for row in rows}
            if len(found) != len(chunk):
                raise self._missing(next(i for i, key in chunk if key not in found))
            out[start : start + len(chunk)] = np.asarray([found[key] for key in keys], np.float32)
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
            output_fields=["id"],
            **extra,
        )[0]
        ids = [(h["entity"]["id"], float(h["distance"])) for h in hits]  # (h["id"] is the key on a server)
        found = sorted((-score, self._order.get(i, len(self._order)), i) for i, score in ids if i != exclude)
        return [Match(shirt_id, -neg) for neg, _, shirt_id in found[:k]]

    def _missing(self, shirt_id: str) -> IndexBackendError:
        return IndexBackendError(f"Shirt {shirt_id[:60]!r} is missing from Milvus collection {self.name}; re-index.")

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(timeout=CONNECT_TIMEOUT_S, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise IndexBackendError(f"Milvus query failed: {first_line(e)}") from None


def shown(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)[:120]  # never print credentials in a URI


def first_line(e: Exception) -> str:
    text = str(getattr(e, "message", None) or e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]
