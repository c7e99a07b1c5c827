"""Catalog discovery: any folder of images is a catalog, read-only.

An item's id is its path relative to the catalog root without the extension, with ``/``
between folders: ``shirts/1015.jpg`` in catalog ``shirts`` is ``1015`` (as in the seed
notebook), ``shirts/men/1015.jpg`` is ``men/1015``.  Files that cannot be items are listed in
``Catalog.skipped`` with a reason, never fatal.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CatalogError
from .images import IMAGE_SUFFIXES

LABELS_FILE = "labels.csv"
MAX_LABEL_LEN = 200
# Longest id (characters) anywhere: catalog, links, CLI, Milvus' VARCHAR key. Longer paths are skipped with a reason.
MAX_ID_LEN = 512
MAX_LABEL_ROWS = 2_000_000


@dataclass(frozen=True)
class Item:
    id: str
    rel: str  # path below the catalog root, with "/": also the key of the file-hash memo
    size: int
    mtime_ns: int
    root: Path

    @property
    def path(self) -> Path:
        # Made on demand: building 100,000 Path objects at start-up costs more than the listing.
        return self.root / self.rel


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass
class Catalog:
    root: Path
    items: list[Item]
    skipped: list[Skipped] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {item.id: item for item in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def get(self, shirt_id: str) -> Item | None:
        return self._by_id.get(shirt_id)

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]


def discover(root: str | Path) -> Catalog:
    """List the image files below ``root`` (recursively, following no folder symlinks)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise CatalogError(f"Catalog folder not found: {root}")
    found: dict[str, Item] = {}
    skipped: list[Skipped] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        prefix = os.path.relpath(dirpath, root).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            rel = prefix + name
            try:
                st = os.stat(os.path.join(dirpath, name))  # follows a file symlink; a dangling one fails here
            except OSError as e:
                skipped.append(Skipped(rel, f"cannot read ({e.strerror or e})"))
                continue
            if st.st_size == 0:
                skipped.append(Skipped(rel, "empty file"))
                continue
            shirt_id = rel.rsplit(".", 1)[0]
            if shirt_id in found:
                kept = found[shirt_id].rel.rsplit("/", 1)[-1]
                skipped.append(Skipped(rel, f"duplicate id '{shirt_id}' (kept {kept})"))
                continue
            found[shirt_id] = Item(shirt_id, rel, st.st_size, st.st_mtime_ns, root)
    items = sorted(found.values(), key=lambda it: _natural_key(it.id))
    return Catalog(root, items, skipped)


def _natural_key(text: str) -> list[tuple[int, int, str]]:
    """Sort ``2`` before ``10``, as a person reading a shop listing expects."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


@dataclass
class Labels:
    """Text labels per catalog id from ``labels.csv`` (first column ``id``)."""

    columns: list[str]
    rows: dict[str, dict[str, str]]
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The filter options, computed once per load rather than on every click.
        self._values = {c: sorted({row.get(c, "") for row in self.rows.values()} - {""}) for c in self.columns}

    def values(self, column: str) -> list[str]:
        """The distinct non-empty values of ``column``, sorted."""
        return self._values.get(column, [])


def load_labels(path: str | Path, known_ids: set[str] | None = None) -> Labels:
    """Read a labels CSV; rows whose id is not in ``known_ids`` are dropped and counted in ``problems``.

    Values are plain text (trimmed to ``MAX_LABEL_LEN``); the app shows them as text, never HTML.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or header[0].strip() != "id":
                raise CatalogError(f"{path.name}: the first column must be 'id'.")
            columns = [c.strip()[:MAX_LABEL_LEN] for c in header[1:]]
            rows: dict[str, dict[str, str]] = {}
            unknown = bad = 0
            for n, record in enumerate(reader):
                if n >= MAX_LABEL_ROWS:
                    break
                if not record or not record[0].strip():
                    continue
                if len(record) != len(header):
                    bad += 1
                    continue
                shirt_id = record[0].strip()
                if known_ids is not None and shirt_id not in known_ids:
                    unknown += 1
                    continue
                rows[shirt_id] = {c: v.strip()[:MAX_LABEL_LEN] for c, v in zip(columns, record[1:])}
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CatalogError(f"{path.name}: cannot read labels ({e}).") from None
    problems = []
    if unknown:
        problems.append(f"{path.name}: {unknown} row(s) name ids that are not in the catalog; ignored.")
    if bad:
        problems.append(f"{path.name}: {bad} row(s) have the wrong number of columns; ignored.")
    return Labels(columns, rows, problems)


def find_labels(catalog: Catalog) -> Labels | None:
    """The catalog's own ``labels.csv``, if it has one."""
    path = catalog.root / LABELS_FILE
    if not path.is_file():
        return None
    return load_labels(path, set(catalog.ids))
