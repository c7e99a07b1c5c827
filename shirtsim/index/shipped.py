"""Vectors that ship with shirtsim: the demo catalog's, so a first start embeds nothing.

On a fresh machine the README's first command used to load VGG16 and embed the 200 demo shirts
before the grid could show (docs/performance.md, First start). The demo's raw ``style`` vectors for the packaged
weights are committed instead, one set per arithmetic path (bfloat16, int8 and float32 give
slightly different vectors, and an upload must meet catalog vectors made the same way), in the cache's own
checksummed ``.vec`` format (:mod:`shirtsim.store`: plain float32, nothing that can execute):

    assets/demo-vectors/<fingerprint>.vec      one row per image content
    assets/demo-vectors/<fingerprint>.hashes   the rows' content hashes (sha256), one per line

:func:`shipped_vector` is consulted only for a cache miss whose fingerprint has a shipped set, so
it serves the same image content (the demo's files, wherever they are copied) and nothing else.
``python tools/ship_demo_vectors.py`` rewrites the files (both paths; tests check them).
Seed-mode vectors (25,088 values each) are not shipped: they are embedded on first use.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from shirtsim.catalog.assets import DEMO_VECTORS
from shirtsim.store import CorruptFile, read_matrix, write_matrix

FOLDER = DEMO_VECTORS


def shipped_vector(fingerprint: str, content_hash: str) -> np.ndarray | None:
    """The shipped vector of ``content_hash`` made under ``fingerprint``, or None."""
    return _shipped(FOLDER, fingerprint).get(content_hash)


@functools.lru_cache(maxsize=4)
def _shipped(folder: Path, fingerprint: str) -> dict[str, np.ndarray]:
    matrix_path, hashes_path = folder / f"{fingerprint}.vec", folder / f"{fingerprint}.hashes"
    if not matrix_path.is_file() or not hashes_path.is_file():
        return {}
    try:
        matrix = read_matrix(matrix_path)
        hashes = hashes_path.read_text(encoding="ascii").split()
    except (CorruptFile, OSError, UnicodeDecodeError):
        return {}  # a damaged checkout: embed as if nothing shipped
    if len(hashes) != len(matrix):
        return {}
    return {h: row for h, row in zip(hashes, matrix) if np.isfinite(row).all()}


def write_shipped(folder: Path, fingerprint: str, vectors: dict[str, np.ndarray]) -> None:
    """Write one fingerprint's set (content hash -> raw vector), sorted by hash."""
    folder.mkdir(parents=True, exist_ok=True)
    hashes = sorted(vectors)
    write_matrix(folder / f"{fingerprint}.vec", np.stack([vectors[h] for h in hashes]))
    (folder / f"{fingerprint}.hashes").write_text("".join(h + "\n" for h in hashes), encoding="ascii")
    _shipped.cache_clear()
