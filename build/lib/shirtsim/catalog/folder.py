"""Catalog discovery: any folder of images is a catalog, read-only.

An item's id is its path relative to the catalog root without the extension, with ``/``
between folders: ``shirts/1015.jpg`` in catalog ``shirts`` is ``1015`` (as in the seed
notebook), ``shirts/men/1015.jpg`` is ``men/1015``.  Files that cannot be items are listed in
``Catalog.skipped`` with a reason, never fatal: empty or unreadable files, folders that cannot
be listed, ids longer than ``MAX_ID_LEN`` characters, and a second file with an id already taken.

Ids are printable text.  Linux allows file names that are not valid UTF-8 and names holding
control characters; ``os.walk`` hands the undecodable bytes over as lone surrogates
(U+DC80..U+DCFF, Python's ``surrogateescape``).  :func:`printable` turns such a name into the one
form used everywhere (grid, ``?shirt=`` links, the CLI, ``--json``, ``labels.csv``;
:func:`shirtsim.text.printable`):

* each undecodable byte becomes ``%XX``, the byte in uppercase hex (``caf\\xe9.jpg`` is item
  ``caf%E9``);
* each control character (U+0000..U+001F, U+007F..U+009F), U+2028, U+2029 and any other lone
  surrogate becomes ``%XX`` for each byte of its UTF-8 encoding (a newline is ``%0A``, U+D800 is
  ``%ED%A0%80``);
* everything else is kept as it is, ``%`` included.

The form is stable (the same file always has the same id) and always valid UTF-8, so it is safe
in JSON, URLs and terminals, but it is not reversible: a file really named ``caf%E9.jpg`` gets
the same id, and whichever of the two comes second is skipped as a duplicate id, with a reason.
``Item.rel`` keeps the real relative path, so the file is still opened under its own name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from shirtsim.catalog.images import IMAGE_SUFFIXES
from shirtsim.errors import CatalogError
from shirtsim.text import printable

# Longest id (characters) anywhere: catalog, links, CLI, Milvus' VARCHAR key. Longer paths are skipped with a reason.
MAX_ID_LEN = 512


@dataclass(frozen=True)
class Item:
    id: str  # printable(rel without its extension)
    rel: str  # the real path below the catalog root, with "/" (may hold surrogates): also the file-hash memo's key
    size: int
    mtime_ns: int
    root: Path

    @property
    def path(self) -> Path:
        # Made on demand: building 100,000 Path objects at start-up costs more than the listing.
        return self.root / self.rel


@dataclass(frozen=True)
class Skipped:
    """A file or folder that is not in the catalog; ``name`` and ``reason`` are made printable."""

    name: str
    reason: str

    def __post_init__(self) -> None:
        # Callers pass real paths and OS error texts, which may hold undecodable bytes.
        object.__setattr__(self, "name", printable(self.name))
        object.__setattr__(self, "reason", printable(self.reason))

    @classmethod
    def because(cls, name: str, err: Exception) -> Skipped:
        """``name`` skipped for ``err``; a BadImageError's text starts with the file name, which
        the entry already holds."""
        text = str(err)
        return cls(name, text.split(": ", 1)[1] if ": " in text else (text or type(err).__name__))


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
        raise CatalogError(f"Catalog folder not found: {printable(str(root))}")
    found: dict[str, Item] = {}
    skipped: list[Skipped] = []

    def unlisted(e: OSError) -> None:
        where = e.filename if isinstance(e.filename, str) else str(root)
        rel = os.path.relpath(where, root).replace(os.sep, "/")
        skipped.append(Skipped("./" if rel == "." else rel + "/", f"folder cannot be listed ({e.strerror or e})"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlisted):
        prefix = os.path.relpath(dirpath, root).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        listed = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            shown = printable(prefix + name)
            if len(shown) + 2 > MAX_ID_LEN:  # "/" and a one-character name below it would already be too long
                skipped.append(
                    Skipped(
                        shown + "/",
                        f"folder path is {len(shown)} characters long; every id below it would be over "
                        f"the limit of {MAX_ID_LEN} (shorten the folder names)",
                    )
                )
                continue
            listed.append(name)
        dirnames[:] = listed
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            rel = prefix + name
            shirt_id = printable(rel.rsplit(".", 1)[0])
            if len(shirt_id) > MAX_ID_LEN:
                limit = f"the limit is {MAX_ID_LEN} (shorten the file or folder names)"
                skipped.append(Skipped(rel, f"id is {len(shirt_id)} characters long; {limit}"))
                continue
            try:
                st = os.stat(os.path.join(dirpath, name))  # follows a file symlink; a dangling one fails here
            except OSError as e:
                skipped.append(Skipped(rel, f"cannot read ({e.strerror or e})"))
                continue
            if st.st_size == 0:
                skipped.append(Skipped(rel, "empty file"))
                continue
            if shirt_id in found:
                kept = found[shirt_id].rel
                note = ""
                if printable(rel) != rel or printable(kept) != kept:
                    note = "; ids show undecodable bytes and control characters as %XX"
                reason = f"duplicate id '{shirt_id}' (kept {kept.rsplit('/', 1)[-1]}{note})"
                skipped.append(Skipped(rel, reason))
                continue
            found[shirt_id] = Item(shirt_id, rel, st.st_size, st.st_mtime_ns, root)
    items = sorted(found.values(), key=lambda it: natural_key(it.id))
    return Catalog(root, items, skipped)


def natural_key(text: str) -> list[tuple[int, int, str]]:
    """Sort ``2`` before ``10``, as a person reading a shop listing expects."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]
