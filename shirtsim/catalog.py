"""Catalog discovery: any folder of images is a catalog, read-only.

An item's id is its path relative to the catalog root without the extension, with ``/``
between folders: ``shirts/1015.jpg`` in catalog ``shirts`` is ``1015`` (as in the seed
notebook), ``shirts/men/1015.jpg`` is ``men/1015``.  Files that cannot be items are listed in
``Catalog.skipped`` with a reason, never fatal: empty or unreadable files, folders that cannot
be listed, ids longer than ``MAX_ID_LEN`` characters, and a second file with an id already taken.

Ids are printable text.  Linux allows file names that are not valid UTF-8 and names holding
control characters; ``os.walk`` hands the undecodable bytes over as lone surrogates
(U+DC80..U+DCFF, Python's ``surrogateescape``).  :func:`printable` turns such a name into the one
form used everywhere (grid, ``?shirt=`` links, the CLI, ``--json``, ``labels.csv``):

* each undecodable byte becomes ``%XX``, the byte in uppercase hex (``caf\\xe9.jpg`` is item
  ``caf%E9``);
* each control character (U+0000..U+001F, U+007F) and any other lone surrogate becomes ``%XX``
  for each byte of its UTF-8 encoding (a newline is ``%0A``, U+D800 is ``%ED%A0%80``);
* everything else is kept as it is, ``%`` included.

The form is stable (the same file always has the same id) and always valid UTF-8, so it is safe
in JSON, URLs and terminals, but it is not reversible: a file really named ``caf%E9.jpg`` gets
the same id, and whichever of the two comes second is skipped as a duplicate id, with a reason.
``Item.rel`` keeps the real relative path, so the file is still opened under its own name.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CatalogError
from .images import IMAGE_SUFFIXES

LABELS_FILE = "labels.csv"
MAX_LABEL_LEN = 200
# Longest id (characters) anywhere: catalog, links, CLI, Milvus' VARCHAR key. Longer paths are skipped with a reason.
MAX_ID_LEN = 512
MAX_LABEL_ROWS = 2_000_000
MAX_LINES_SHOWN = 5  # line numbers listed in one labels problem; the rest are counted

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape could not decode


def printable(text: str) -> str:
    """The printable form of a name or path from ``os.walk`` (see the module docstring).

    Undecodable bytes (U+DC80..U+DCFF) become ``%XX`` of the byte; control characters and other
    lone surrogates become ``%XX`` of each UTF-8 byte; the rest is unchanged.  The result always
    encodes as UTF-8.  ``printable(printable(s)) == printable(s)``.
    """
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_percent, text)


def _percent(match: re.Match[str]) -> str:
    code = ord(match.group())
    data = bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else match.group().encode("utf-8", "surrogatepass")
    return "".join(f"%{b:02X}" for b in data)


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
    """Read a labels CSV written by any tool; what cannot be used is reported in ``problems``.

    The first column must be ``id`` (trimmed, any case, byte-order mark allowed), else
    :class:`CatalogError`.  Ids are catalog ids in their printable form (``caf%E9``).  Everything
    else is kept or reported, one line per kind of problem, with line numbers as a text editor
    shows them, in this order (``NAME`` is the file's name)::

        NAME is not UTF-8: undecodable bytes are shown as \ufffd
        NAME line 1: column 3 has no name; shown as 'column 3'
        NAME line 1: columns 3, 5 have no name; shown as 'column 3', 'column 5'
        NAME line 1: column 'Colour' repeats 'colour'; ignored
        NAME line 1: column 'Colour' repeats 'colour', column 'SIZE' repeats 'size'; ignored
        NAME: 1 row(s) name ids that are not in the catalog; ignored.
        NAME: wrong number of columns on line 4 (the header has 3); ignored
        NAME: no id on lines 5, 8; ignored
        NAME: id repeated on lines 7, 9 (first kept); ignored
        NAME line 12: unterminated quote (or bad CSV); the rest of the file was ignored
        NAME line 2000002: more than 2000000 rows; the rest of the file was ignored

    More than five line numbers read ``on 12 lines (3, 4, 7, 9, 10, …)``.  Rows whose id is not in
    ``known_ids`` are dropped (and counted).  Values and column names are plain text, trimmed and
    cut at ``MAX_LABEL_LEN``; the app shows them as text, never HTML.
    """
    path = Path(path)
    name = printable(path.name)
    undecoded: list[int] = []
    try:
        # surrogateescape, not replace: only then can we tell a bad byte from a real U+FFFD.
        with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
            reader = csv.reader(_decoded(f, undecoded), strict=True)
            try:
                header = next(reader, None)
            except csv.Error as e:
                raise CatalogError(f"{name} line 1: the header is not valid CSV ({e}).") from None
            if not header or header[0].strip().lstrip("\ufeff").strip().casefold() != "id":
                raise CatalogError(f"{name}: the first column must be 'id'.")
            problems: list[str] = []
            columns, keep = _columns(name, header, problems)
            rows: dict[str, dict[str, str]] = {}
            wrong_length: list[int] = []
            no_id: list[int] = []
            repeated: list[int] = []
            unknown = records = 0
            end = ""
            line = reader.line_num
            while True:
                start = line + 1  # where the next record begins (csv reports where it ended)
                try:
                    record = next(reader, None)
                except csv.Error:
                    end = f"{name} line {start}: unterminated quote (or bad CSV); the rest of the file was ignored"
                    break
                line = reader.line_num
                if record is None:
                    break
                records += 1
                if records > MAX_LABEL_ROWS:
                    end = f"{name} line {start}: more than {MAX_LABEL_ROWS} rows; the rest of the file was ignored"
                    break
                if not any(v.strip() for v in record):
                    continue  # blank lines and spreadsheets' empty rows
                if len(record) != len(header):
                    wrong_length.append(start)
                    continue
                shirt_id = record[0] if known_ids is not None and record[0] in known_ids else record[0].strip()
                if not shirt_id:
                    no_id.append(start)
                    continue
                if known_ids is not None and shirt_id not in known_ids:
                    unknown += 1
                    continue
                if shirt_id in rows:
                    repeated.append(start)
                    continue
                rows[shirt_id] = {c: record[i].strip()[:MAX_LABEL_LEN] for c, i in zip(columns, keep)}
    except OSError as e:
        raise CatalogError(f"{name}: cannot read labels ({e.strerror or e}).") from None
    if undecoded:
        problems.insert(0, f"{name} is not UTF-8: undecodable bytes are shown as \ufffd")
    if unknown:
        problems.append(f"{name}: {unknown} row(s) name ids that are not in the catalog; ignored.")
    if wrong_length:
        expected = f"(the header has {len(header)})"
        problems.append(f"{name}: wrong number of columns {_lines(wrong_length)} {expected}; ignored")
    if no_id:
        problems.append(f"{name}: no id {_lines(no_id)}; ignored")
    if repeated:
        problems.append(f"{name}: id repeated {_lines(repeated)} (first kept); ignored")
    if end:
        problems.append(end)
    return Labels(columns, rows, problems)


def _decoded(lines: Iterable[str], undecoded: list[int]) -> Iterator[str]:
    """``lines`` with each undecodable byte (a surrogate) shown as U+FFFD; notes the line numbers."""
    for n, line in enumerate(lines, 1):
        if _UNDECODED.search(line):
            undecoded.append(n)
            line = _UNDECODED.sub("\ufffd", line)
        yield line


def _columns(name: str, header: list[str], problems: list[str]) -> tuple[list[str], list[int]]:
    """The usable column names after ``id`` and their positions; unnamed and repeated ones reported."""
    columns: list[str] = []
    keep: list[int] = []
    seen = {"id": "id"}  # case-folded name -> the name as first written
    unnamed: list[int] = []
    repeats: list[str] = []
    for i, raw in enumerate(header[1:], 1):
        column = raw.strip()[:MAX_LABEL_LEN]
        if not column:
            unnamed.append(i + 1)
            column = f"column {i + 1}"
        key = column.casefold()
        if key in seen:
            repeats.append(f"column '{column}' repeats '{seen[key]}'")
            continue
        seen[key] = column
        columns.append(column)
        keep.append(i)
    if len(unnamed) == 1:
        problems.append(f"{name} line 1: column {unnamed[0]} has no name; shown as 'column {unnamed[0]}'")
    elif unnamed:
        numbers = ", ".join(str(n) for n in unnamed)
        shown = ", ".join(f"'column {n}'" for n in unnamed)
        problems.append(f"{name} line 1: columns {numbers} have no name; shown as {shown}")
    if repeats:
        problems.append(f"{name} line 1: {', '.join(repeats)}; ignored")
    return columns, keep


def _lines(numbers: list[int]) -> str:
    """``on line 7``, ``on lines 7, 9`` or, past ``MAX_LINES_SHOWN``, ``on 12 lines (7, 9, 11, 13, 15, …)``."""
    if len(numbers) == 1:
        return f"on line {numbers[0]}"
    if len(numbers) <= MAX_LINES_SHOWN:
        return "on lines " + ", ".join(map(str, numbers))
    return f"on {len(numbers)} lines ({', '.join(map(str, numbers[:MAX_LINES_SHOWN]))}, …)"


def find_labels(catalog: Catalog) -> Labels | None:
    """The catalog's own ``labels.csv``, if it has one."""
    path = catalog.root / LABELS_FILE
    if not path.is_file():
        return None
    return load_labels(path, set(catalog.ids))
