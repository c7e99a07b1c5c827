"""What each ``bench`` size needs in memory, judged before anything is allocated (the smaller of
the available memory and the address-space limit): a size that does not fit is refused in one line."""

from __future__ import annotations

import os

from shirtsim.cli.bench_data import SYNTHETIC_CHUNK, SYNTHETIC_CLUSTERS
from shirtsim.describe.descriptors import STYLE_KIND
from shirtsim.errors import ShirtsimError
from shirtsim.index.approx import APPROX_MIN_ITEMS, TRAIN_POINTS_PER_LIST, lists_for

# Per item, what the memory estimates count besides the arrays (measured at 20,000 and 100,000
# items, rounded up): an id string, two list slots, a row-dict entry and its int (143-151 bytes);
# an exact scan's scores, their negation and argpartition's rows (16 bytes); a cold-start file's
# path, names, content hash and memo entry (844 bytes traced, 1.5 KB resident).
PYTHON_BYTES_PER_ITEM = 160


SEARCH_BYTES_PER_ITEM = 24


COLD_START_BYTES_PER_ITEM = 2048


COLD_START_FIXED_BYTES = 64 << 20  # the modules a cold start imports, and the allocator's keep (~40 MB measured)


EXPORT_HEAP_BYTES_PER_ITEM = 64 * 12  # a row's heap of candidates: float32 scores and int64 rows


ITEM_BYTES_MAX = 4096  # a projected vector's bytes at most (shirtsim.describe.projection refuses more)


MODEL_BYTES = 1 << 30  # VGG16 and TensorFlow, loaded before any size is timed (1.0 GB resident, measured)


def query_peak_bytes(n: int) -> int:
    """The most memory :func:`bench_query` holds at once for ``n`` synthetic items, from its code:

    - making the vectors (:func:`_synthetic_raw`): them, a chunk's three (rows, D) temporaries
      (a centre pick, its weighted copy and the running sum), and the centres;
    - indexing them (``SearchIndex.build``): the raw vectors, the centred copy and the normalised
      copy (then the centred one is freed; a part's squares, for its norm, are smaller);
    - from ``APPROX_MIN_ITEMS`` on, the IVF (``build_ivf``): faiss' own copy of the vectors with
      an 8-byte id each, in lists grown one entry at a time (capacity doubling: at most twice
      what they hold; 1.33 times measured at 250,000 items), and its k-means sample;
    - searching: an exact scan's per-item temporaries next to the vectors (and the IVF);

    plus each item's Python objects."""
    row = STYLE_KIND.dim * 4
    vectors, chunk = n * row, min(n, SYNTHETIC_CHUNK) * row
    ivf = 2 * n * (row + 8) + lists_for(n) * TRAIN_POINTS_PER_LIST * row if n >= APPROX_MIN_ITEMS else 0
    phases = (vectors + 3 * chunk, 3 * vectors, vectors + ivf + n * SEARCH_BYTES_PER_ITEM)
    return SYNTHETIC_CLUSTERS * row + n * PYTHON_BYTES_PER_ITEM + max(phases)


def cold_start_peak_bytes(n: int) -> int:
    """The most memory :func:`bench_cold_start` holds for ``n`` items: the raw vectors and three
    projected copies at once (``SearchIndex.build``: projected, centred, normalised; then writing
    the pack: the packed copy, its bytes, the file's bytes), each at most :data:`ITEM_BYTES_MAX`
    an item, plus each file's Python objects and what opening the catalog imports."""
    return COLD_START_FIXED_BYTES + n * (STYLE_KIND.dim * 4 + 3 * ITEM_BYTES_MAX + COLD_START_BYTES_PER_ITEM)


def export_peak_bytes(n: int) -> int:
    """The most memory :func:`~shirtsim.cli.bench_export.bench_export` holds for ``n`` items: the
    index's making (as :func:`query_peak_bytes`), then during the export the index, its copy
    weighted for the all-pairs scan, and every row's heap (:mod:`shirtsim.feed.scan`)."""
    row = STYLE_KIND.dim * 4
    return max(query_peak_bytes(n), 2 * n * row + n * (EXPORT_HEAP_BYTES_PER_ITEM + PYTHON_BYTES_PER_ITEM))


def usable_memory() -> tuple[int, str]:
    """What this process may still allocate, and which limit that is: the smaller of the memory
    the system has available (MemAvailable) and the address-space limit (``ulimit -v``) less
    what the process maps already (VmSize)."""
    limits = []
    available = _proc_bytes("/proc/meminfo", "MemAvailable")
    if available is not None:
        limits.append((available, "available memory"))
    try:
        import resource  # noqa: PLC0415 (POSIX only: elsewhere there is no such limit to read)

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        unlimited = soft == resource.RLIM_INFINITY
    except (ImportError, OSError, ValueError):
        soft, unlimited = 0, True
    if not unlimited:
        mapped = _proc_bytes("/proc/self/status", "VmSize") or 0
        limits.append((max(0, soft - mapped), "address-space limit, ulimit -v"))
    return min(limits) if limits else (_total_memory(), "total memory")


def check_memory(
    sizes: list[int], cold_start_items: int | None, with_model: bool = True, export_items: int | None = None
) -> None:
    """ShirtsimError naming the first size (``--sizes``, ``--cold-start-items``, ``--export-items``)
    whose peak, with the model (loaded first and kept), is more than this process may use."""
    usable, limit = usable_memory()
    reserve = MODEL_BYTES if with_model else 0
    asked = [("--sizes", n, query_peak_bytes(n), "Use smaller sizes") for n in sizes]
    if cold_start_items is not None:
        n = cold_start_items
        asked.append(("--cold-start-items", n, cold_start_peak_bytes(n), "Use fewer items"))
    if export_items is not None:
        asked.append(("--export-items", export_items, export_peak_bytes(export_items), "Use fewer items"))
    for option, n, peak, advice in asked:
        if reserve + peak > usable:
            raise ShirtsimError(
                f"bench {option}: {n:,} items need about {_gb(reserve + peak)}"
                + (" with the model loaded" if reserve else "")
                + f"; this process may use {_gb(usable)} ({limit}). {advice}."
            )


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n < 10e9 else f"{n / 1e9:,.0f} GB"


def _proc_bytes(path: str, field: str) -> int | None:
    """A ``kB`` field of /proc/meminfo or /proc/self/status, in bytes (None where there is none)."""
    try:
        with open(path) as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":")), None)
    except (OSError, ValueError, IndexError):
        return None


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * 1024**3
