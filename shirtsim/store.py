"""On-disk embedding cache, keyed by image content hash and model fingerprint.

Layout below the cache folder (``$SHIRTSIM_CACHE_DIR``, default ``~/.cache/shirtsim``)::

    v1/<fingerprint>/<hh>/<sha256>.vec    one vector per distinct image content
    v1/<fingerprint>/packs/<catalog>-<contents>.vec  one catalog's prepared index, for a memory-mapped start
    v1/<fingerprint>/packs/<catalog>-<contents>.ivf  its approximate index (large catalogs only)
    v1/hashes/<catalog>.json              path -> (size, mtime, sha256), so unchanged files are not re-read

A ``.vec`` file is a fixed header (magic, rows, columns, CRC32 of the data) followed by
little-endian float32 rows: nothing in it can execute code, and a truncated or damaged file
fails its check and is rebuilt.  Every write goes to a temporary file that is renamed into
place, so a killed process never leaves a half-written file under a real name, and two
indexers writing the same entry both write the same bytes.

A cache that cannot be written (mounted read-only, a full disk, a quota) is not fatal: writes
into it go through :func:`cache_write`, which remembers the first failure per cache folder
(:func:`cache_problem`) and lets the caller go on with what it made in memory, so the app keeps
serving. Only inside :func:`writes_required` (``shirtsim index``, whose job is to write the
cache) is a failure raised.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from shirtsim.errors import CatalogError, os_error_reason
from shirtsim.outputs import write_atomically
from shirtsim.settings import CACHE_DIR
from shirtsim.text import printable

MAGIC = b"SHIRTSIM"
BLOB_MAGIC = b"SHIRTBLB"  # same header, opaque bytes (a serialised faiss index) instead of float32 rows
VERSION = 1
HEADER = struct.Struct("<8sHQQI")  # magic, version, rows, columns, crc32 of data
DTYPE = np.dtype("<f4")
log = logging.getLogger(__name__)
_problems: dict[Path, OSError] = {}  # cache folder -> the first write into it that failed
_problems_lock = threading.Lock()
_required = threading.Event()  # set inside writes_required()


class CorruptFile(Exception):
    """A cache file that fails its format or checksum test."""


@contextlib.contextmanager
def cache_write(path: Path) -> Iterator[None]:
    """Around one write into the cache below which ``path`` lies: a failure is raised inside
    :func:`writes_required`, else remembered once per cache folder, logged once, and swallowed."""
    try:
        yield
    except OSError as e:
        if _required.is_set():
            raise
        _remember(path, e)
    else:
        if _problems:  # space was freed, the mount made writable: stop saying it cannot be written
            with _problems_lock:
                _problems.pop(_cache_root(path), None)


def _remember(path: Path, e: OSError) -> None:
    root = _cache_root(path)
    with _problems_lock:
        first = root not in _problems
        _problems.setdefault(root, e)
    if first:  # the server log says it once; the page and the CLI say it from cache_problem()
        log.warning("cache folder %s cannot be written (%s); serving from memory", root, e)


def cache_warning(cache_dir: Path) -> str | None:
    """What to tell the user when ``cache_dir`` cannot be written (the page says it once in the
    sidebar, the CLI on stderr), or None: what the cache holds is served, the rest is kept in
    memory until the process ends."""
    e = cache_problem(cache_dir)
    if e is None:
        return None
    full = e.errno in (errno.ENOSPC, errno.EDQUOT)
    advice = "Free some space on that disk" if full else "Point SHIRTSIM_CACHE_DIR at a writable folder"
    return (
        f"The cache folder {printable(str(cache_dir))} cannot be written ({os_error_reason(e)}): new "
        f"vectors and pictures are kept in memory only, and made again after a restart. {advice}."
    )


def cache_problem(cache_dir: Path) -> OSError | None:
    """The first failed write into ``cache_dir`` by this process, or None."""
    with _problems_lock:
        return _problems.get(Path(cache_dir).expanduser().absolute())


@contextlib.contextmanager
def writes_required() -> Iterator[None]:
    """Within this block, a failed cache write raises (``shirtsim index``: nothing half-written
    is kept, and the user is told why) instead of being remembered."""
    _required.set()
    try:
        yield
    finally:
        _required.clear()


def _cache_root(path: Path) -> Path:
    """The cache folder ``path`` belongs to: the parent of its ``v1`` folder."""
    path = Path(path).expanduser().absolute()
    for parent in (path, *path.parents):
        if parent.name == f"v{VERSION}":
            return parent.parent
    return path  # the cache folder itself (made before anything is written into it)


def check_outside_catalog(cache_dir: Path, catalog_root: Path) -> None:
    """:class:`CatalogError` when the cache folder lies inside the catalog: the catalog is only
    ever read, and the cache's pictures would be found as shirts."""
    cache, root = Path(cache_dir).expanduser().resolve(), Path(catalog_root).expanduser().resolve()
    if cache == root or cache.is_relative_to(root):
        raise CatalogError(
            f"The cache folder {printable(str(cache))} is inside the catalog {printable(str(root))}: shirtsim never "
            "writes into a catalog. Point SHIRTSIM_CACHE_DIR at a folder outside it."
        )


def default_cache_dir() -> Path:
    if CACHE_DIR.is_set():
        return Path(CACHE_DIR.get()).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "shirtsim"


def write_matrix(path: Path, matrix: np.ndarray) -> None:
    """Atomically write a 2-D float32 matrix in the ``.vec`` format."""
    data = np.ascontiguousarray(matrix, dtype=DTYPE)
    if data.ndim != 2:
        raise ValueError("write_matrix needs a 2-D array")
    payload = data.tobytes()
    header = HEADER.pack(MAGIC, VERSION, data.shape[0], data.shape[1], zlib.crc32(payload))
    _atomic_write(path, header + payload)


def read_matrix(path: Path, *, mmap: bool = False, verify: bool = True) -> np.ndarray:
    """Read a ``.vec`` file; raise :class:`CorruptFile` if it is not exactly what was written.

    With ``mmap`` the data is memory-mapped (read-only), so opening a large pack is instant.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(HEADER.size)
    if len(head) < HEADER.size:
        raise CorruptFile(f"{path.name}: truncated header")
    magic, version, rows, cols, crc = HEADER.unpack(head)
    if magic != MAGIC or version != VERSION:
        raise CorruptFile(f"{path.name}: not a shirtsim vector file")
    if size != HEADER.size + rows * cols * DTYPE.itemsize:
        raise CorruptFile(f"{path.name}: size does not match its header (truncated?)")
    if mmap:
        matrix = np.memmap(path, dtype=DTYPE, mode="r", offset=HEADER.size, shape=(rows, cols))
    else:
        with open(path, "rb") as f:
            f.seek(HEADER.size)
            matrix = np.frombuffer(f.read(), dtype=DTYPE).reshape(rows, cols)
    if verify and zlib.crc32(memoryview(np.ascontiguousarray(matrix)).cast("B")) != crc:
        raise CorruptFile(f"{path.name}: checksum mismatch")
    return matrix


def write_blob(path: Path, data: bytes) -> None:
    """Atomically write bytes with the ``.vec`` header (rows 1, columns = length, CRC32)."""
    _atomic_write(path, HEADER.pack(BLOB_MAGIC, VERSION, 1, len(data), zlib.crc32(data)) + data)


def read_blob(path: Path) -> bytes:
    """Bytes written by :func:`write_blob`; :class:`CorruptFile` unless they are exactly those."""
    with open(path, "rb") as f:
        head, data = f.read(HEADER.size), f.read()
    if len(head) < HEADER.size:
        raise CorruptFile(f"{path.name}: truncated header")
    magic, version, _, length, crc = HEADER.unpack(head)
    if magic != BLOB_MAGIC or version != VERSION:
        raise CorruptFile(f"{path.name}: not a shirtsim index file")
    if len(data) != length or zlib.crc32(data) != crc:
        raise CorruptFile(f"{path.name}: truncated or damaged")
    return data


def _atomic_write(path: Path, data: bytes) -> None:
    """:func:`~shirtsim.outputs.write_atomically`, its error naming the file (a failed write does not)."""
    try:
        write_atomically(path, data)
    except OSError as e:
        if not e.filename:
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


class VectorStore:
    """Per-image vectors for one model fingerprint, addressed by image content hash."""

    def __init__(self, cache_dir: Path, fingerprint: str) -> None:
        self.root = Path(cache_dir) / f"v{VERSION}" / fingerprint
        self.problems: list[str] = []  # corrupt entries found (and then rebuilt by the caller)

    def _path(self, content_hash: str) -> Path:
        return self.root / content_hash[:2] / f"{content_hash}.vec"

    def get(self, content_hash: str) -> np.ndarray | None:
        """The stored vector, or None when missing or damaged (damage is noted in ``problems``)."""
        path = self._path(content_hash)
        try:
            matrix = read_matrix(path)
        except FileNotFoundError:
            return None
        except (CorruptFile, OSError) as e:
            self.problems.append(f"cache entry {path.name} was damaged ({e}); rebuilt")
            return None
        return matrix[0]

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        path = self._path(content_hash)
        with cache_write(path):
            write_matrix(path, np.asarray(vector, dtype=DTYPE)[None, :])

    def _pack_path(self, catalog_key: str, hashes: list[str], suffix: str = ".vec") -> Path:
        # The name commits to the exact list of contents, so a pack can never be paired with
        # the wrong rows, and writing one is a single atomic rename.
        digest = hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:24]
        return self.root / "packs" / f"{catalog_key}-{digest}{suffix}"

    def read_pack(self, catalog_key: str, hashes: list[str]) -> np.ndarray | None:
        """The memory-mapped matrix written for exactly ``hashes`` (in order), or None."""
        try:
            return read_matrix(self._pack_path(catalog_key, hashes), mmap=True)
        except (OSError, CorruptFile):
            return None

    def write_pack(self, catalog_key: str, hashes: list[str], matrix: np.ndarray) -> None:
        """Store a catalog's matrix in one file and drop its packs for other contents."""
        path = self._pack_path(catalog_key, hashes)
        with cache_write(path):
            write_matrix(path, matrix)
            for old in path.parent.glob(f"{catalog_key}-*"):
                if old.stem != path.stem and not old.name.startswith("."):
                    old.unlink(missing_ok=True)

    def read_pack_blob(self, catalog_key: str, hashes: list[str], suffix: str) -> bytes | None:
        """Bytes stored next to the pack for ``hashes``, or None when missing or damaged."""
        try:
            return read_blob(self._pack_path(catalog_key, hashes, suffix))
        except FileNotFoundError:
            return None
        except (OSError, CorruptFile) as e:
            self.problems.append(f"index file was damaged ({e}); rebuilt")
            return None

    def write_pack_blob(self, catalog_key: str, hashes: list[str], suffix: str, data: bytes) -> None:
        path = self._pack_path(catalog_key, hashes, suffix)
        with cache_write(path):
            write_blob(path, data)


class HashCache:
    """Remembers each catalog file's content hash by (size, mtime), like git's index."""

    def __init__(self, cache_dir: Path, catalog_root: Path) -> None:
        key = catalog_key(catalog_root)
        self.path = Path(cache_dir) / f"v{VERSION}" / "hashes" / f"{key}.json"
        self.entries: dict[str, list] = {}
        self.dirty = False
        try:
            with open(self.path, encoding="utf-8") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                self.entries = loaded
        except (OSError, ValueError):
            pass  # missing or damaged: every file is simply hashed again

    def lookup(self, rel: str, size: int, mtime_ns: int) -> str | None:
        entry = self.entries.get(rel)
        if isinstance(entry, list) and len(entry) == 3 and entry[0] == size and entry[1] == mtime_ns:
            return str(entry[2])
        return None

    def remember(self, rel: str, size: int, mtime_ns: int, content_hash: str) -> None:
        self.entries[rel] = [size, mtime_ns, content_hash]
        self.dirty = True

    def save(self, keep: set[str]) -> None:
        stale = set(self.entries) - keep
        for rel in stale:
            del self.entries[rel]
        if self.dirty or stale:
            with cache_write(self.path):
                _atomic_write(self.path, json.dumps(self.entries).encode())
                self.dirty = False


def catalog_key(root: Path) -> str:
    return hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
