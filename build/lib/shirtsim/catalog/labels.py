"""A catalog's ``labels.csv``: text labels per shirt id, read from files written by any tool.

Product feeds carry 50 to 2,000 columns, most of them free text, numbers or ids, so labels are not
kept as a dict per row (a 2,000-column file of 1,700 rows took 170 MB that way). Each row's CSV
record is kept as it was in the file, and a column is coded as it is read (a byte per row into
its list of values) as long as it has at most :data:`MAX_FILTER_VALUES` distinct values: those are
the columns filters and the overview pages use (:meth:`Labels.usable_columns`). Any other column
is parsed from the records when asked for (a rule on price, a product group) and a few are kept.
Memory is then about the file's size, whatever its width.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shirtsim.catalog.folder import Catalog, discover
from shirtsim.errors import CatalogError
from shirtsim.text import printable

LABELS_FILE = "labels.csv"
MAX_LABEL_LEN = 200  # a value or column name is cut here
MAX_LABEL_ROWS = 2_000_000
MAX_LABEL_COLUMNS = 5_000  # columns after this many are ignored (and said so)
MAX_LINES_SHOWN = 5  # line numbers listed in one labels problem; the rest are counted
MAX_FILTER_VALUES = 50  # a column with more distinct values is not offered as a filter or a chart
WIDE_COLUMNS_KEPT = 8  # columns with more values, parsed from the records when asked for, kept at once
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape could not decode
_FIELD_LIMIT = "field larger than field limit"
_REST_IGNORED = "the rest of the file was ignored"


class Labels:
    """Text labels per catalog id (see the module docstring). ``rows`` is a read-only mapping
    id -> {column: value} built on access, for code that wants a row at a time."""

    def __init__(
        self,
        columns: list[str],
        rows: Mapping[str, Mapping[str, str]] | None = None,
        problems: Iterable[str] = (),
        *,
        keep: list[int] | None = None,
    ) -> None:
        """Labels of ``rows`` (id -> {column: value}). The reader passes no rows but ``keep``,
        the column positions in its records, and adds them with :meth:`_add`."""
        self.columns = list(columns)
        self.problems: list[str] = list(problems)
        self.ids: list[str] = []
        self._row: dict[str, int] = {}
        self._raw: list[str] = []  # each row's CSV record, as in the file: the wide columns' only copy
        self._keep = keep if keep is not None else list(range(1, len(self.columns) + 1))
        self._column = {c: n for n, c in enumerate(self.columns)}
        # Columns with few values, coded while reading: value lists and codes. A column that passes
        # MAX_FILTER_VALUES is dropped from these and read from the records when asked for.
        self._vocab: dict[str, list[str]] = {c: [""] for c in self.columns}
        self._lookup: dict[str, dict[str, int]] = {c: {"": 0} for c in self.columns}
        self._codes: dict[str, list[int] | np.ndarray] = {c: [] for c in self.columns}
        self._wide: OrderedDict[str, list[str]] = OrderedDict()  # a few wide columns, parsed when asked for
        self._lock = threading.Lock()
        for shirt_id, row in (rows or {}).items():
            values = [row.get(c, "") for c in self.columns]
            self._add(shirt_id, _record([shirt_id, *values]), values)
        if keep is None:  # made from rows: complete (the reader freezes when it is done)
            self._freeze()

    def _add(self, shirt_id: str, record: str, values: list[str]) -> None:
        self._row[shirt_id] = len(self.ids)
        self.ids.append(shirt_id)
        self._raw.append(record)
        for column, value in zip(self.columns, values):
            lookup = self._lookup.get(column)
            if lookup is None:
                continue  # already wide
            code = lookup.get(value)
            if code is None:
                if len(lookup) > MAX_FILTER_VALUES:  # one more than the most a filter shows: wide
                    del self._lookup[column], self._codes[column], self._vocab[column]
                    continue
                code = lookup[value] = len(lookup)
                self._vocab[column].append(value)
            self._codes[column].append(code)

    def _freeze(self) -> None:
        """Codes as bytes; the per-value lookups are dropped once reading is done."""
        self._codes = {c: np.asarray(codes, np.uint8) for c, codes in self._codes.items()}
        self._lookup = {}
        self._sorted: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, shirt_id: object) -> bool:
        return shirt_id in self._row

    @property
    def rows(self) -> Mapping[str, dict[str, str]]:
        return _Rows(self)

    def row(self, shirt_id: str) -> dict[str, str]:
        """``{column: value}`` of one shirt (empty values included), or {} when it has no row."""
        at = self._row.get(shirt_id)
        return {} if at is None else dict(zip(self.columns, self._parse(at)))

    def value(self, shirt_id: str, column: str) -> str:
        """One label ("" when the shirt has no row or the column no value)."""
        at, n = self._row.get(shirt_id), self._column.get(column)
        if at is None or n is None:
            return ""
        if column in self._codes:
            return self._vocab[column][self._codes[column][at]]
        return self._parse(at)[n]

    def column(self, column: str, ids: Iterable[str]) -> list[str]:
        """``column``'s value for each of ``ids`` ("" where there is none)."""
        every = self._every(column)
        return [every[at] if (at := self._row.get(i)) is not None else "" for i in ids]

    def values(self, column: str) -> list[str]:
        """The distinct non-empty values of ``column``, sorted."""
        if column not in self._column:
            return []
        if column not in self._sorted:
            every = self._vocab[column] if column in self._codes else self._every(column)
            self._sorted[column] = sorted(set(every) - {""})
        return self._sorted[column]

    def distinct(self, column: str) -> int:
        """How many distinct non-empty values ``column`` has."""
        if column in self._codes:
            return len(self._vocab[column]) - 1
        return len(self.values(column))

    def usable_columns(self, exclude: Iterable[str] = ("name",)) -> list[str]:
        """The columns a filter or an overview can use: 2 to :data:`MAX_FILTER_VALUES` distinct
        values (an id-like or free-text column has thousands; a constant one says nothing)."""
        skip = set(exclude)
        return [c for c in self.columns if c in self._codes and c not in skip and len(self._vocab[c]) > 2]

    def matching(self, ids: list[str], filters: Mapping[str, Iterable[str]]) -> np.ndarray:
        """A boolean per id: its label in each filtered column is one of the listed values."""
        keep = np.ones(len(ids), bool)
        for column, wanted in filters.items():
            if column not in self._column:
                return np.zeros(len(ids), bool)
            wanted = set(wanted) - {""}  # an empty value is no label
            keep &= np.fromiter((v in wanted for v in self.column(column, ids)), bool, len(ids))
        return keep

    def _every(self, column: str) -> list[str]:
        """Every row's value of ``column``, in row order."""
        if column in self._codes:
            vocab = self._vocab[column]
            return [vocab[c] for c in self._codes[column]]
        with self._lock:
            every = self._wide.get(column)
            if every is None:
                n = self._column[column]
                every = self._wide[column] = [self._parse(at)[n] for at in range(len(self.ids))]
                while len(self._wide) > WIDE_COLUMNS_KEPT:
                    self._wide.popitem(last=False)
            self._wide.move_to_end(column)
        return every

    def _parse(self, at: int) -> list[str]:
        record = next(csv.reader(io.StringIO(self._raw[at])))
        return [record[i].strip()[:MAX_LABEL_LEN] for i in self._keep]


def _record(values: list[str]) -> str:
    """``values`` as one CSV record (for labels made from dicts rather than read from a file)."""
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


class _Rows(Mapping):
    """``labels.rows``: id -> row, each row made when asked for."""

    def __init__(self, labels: Labels) -> None:
        self._labels = labels

    def __getitem__(self, shirt_id: str) -> dict[str, str]:
        if shirt_id not in self._labels:
            raise KeyError(shirt_id)
        return self._labels.row(shirt_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels.ids)

    def __len__(self) -> int:
        return len(self._labels)


@dataclass
class _Reading:
    """What reading one file found, line numbers as a text editor shows them."""

    name: str
    header: list[str]
    problems: list[str] = field(default_factory=list)
    undecoded: list[int] = field(default_factory=list)
    wrong_length: list[int] = field(default_factory=list)
    no_id: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    too_long: list[int] = field(default_factory=list)
    unknown: int = 0
    end: str = ""


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
        NAME line 1: 6,000 columns; those after the first 5000 are ignored
        NAME: 1 row(s) name ids that are not in the catalog; ignored.
        NAME: wrong number of columns on line 4 (the header has 3); ignored
        NAME: no id on lines 5, 8; ignored
        NAME: id repeated on lines 7, 9 (first kept); ignored
        NAME: a value longer than 131072 characters on line 6; that row is ignored
        NAME line 12: unterminated quote (or bad CSV); the rest of the file was ignored
        NAME line 2000002: more than 2000000 rows; the rest of the file was ignored

    More than five line numbers read ``on 12 lines (3, 4, 7, 9, 10, …)``.  Rows whose id is not in
    ``known_ids`` are dropped (and counted).  Values and column names are plain text, trimmed and
    cut at ``MAX_LABEL_LEN``; the app shows them as text, never HTML.
    """
    path = Path(path)
    name = printable(path.name)
    try:
        # surrogateescape, not replace: only then can we tell a bad byte from a real U+FFFD.
        with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
            undecoded: list[int] = []
            tape = _Tape(_decoded(f, undecoded))
            reader = csv.reader(tape, strict=True)
            reading = _Reading(name, _header(reader, name), undecoded=undecoded)
            tape.record()
            columns, keep = _columns(reading)
            labels = Labels(columns, keep=keep)
            _read_rows(reader, tape, reading, labels, keep, known_ids)
    except OSError as e:
        raise CatalogError(f"{name}: cannot read labels ({e.strerror or e}).") from None
    labels._freeze()
    labels.problems = _problems(reading)
    return labels


def _header(reader: Iterator[list[str]], name: str) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise CatalogError(f"{name} line 1: the header is not valid CSV ({e}).") from None
    if not header or header[0].strip().lstrip("\ufeff").strip().casefold() != "id":
        raise CatalogError(f"{name}: the first column must be 'id'.")
    return header


def _read_rows(
    reader: Iterator[list[str]],
    tape: _Tape,
    reading: _Reading,
    labels: Labels,
    keep: list[int],
    known_ids: set[str] | None,
) -> None:
    """Every record after the header into ``labels``; what is skipped is noted in ``reading``."""
    width, line, records = len(reading.header), reader.line_num, 0
    while True:
        start = line + 1  # where the next record begins (csv reports where it ended)
        try:
            record = next(reader, None)
            text = tape.record()
        except csv.Error as e:
            tape.record()
            line = reader.line_num
            if str(e).startswith(_FIELD_LIMIT):  # the reader goes on with the next line
                reading.too_long.append(start)
                continue
            reading.end = (
                f"{reading.name} line {start}: unterminated quote (or bad CSV); the rest of the file was ignored"
            )
            return
        line = reader.line_num
        if record is None:
            return
        records += 1
        if records > MAX_LABEL_ROWS:
            reading.end = (
                f"{reading.name} line {start}: more than {MAX_LABEL_ROWS} rows; the rest of the file was ignored"
            )
            return
        if not any(v.strip() for v in record):
            continue  # blank lines and spreadsheets' empty rows
        if len(record) != width:
            reading.wrong_length.append(start)
            continue
        shirt_id = record[0] if known_ids is not None and record[0] in known_ids else record[0].strip()
        if not shirt_id:
            reading.no_id.append(start)
        elif known_ids is not None and shirt_id not in known_ids:
            reading.unknown += 1
        elif shirt_id in labels:
            reading.repeated.append(start)
        else:
            labels._add(shirt_id, text, [record[i].strip()[:MAX_LABEL_LEN] for i in keep])


class _Tape:
    """The lines the CSV reader has taken since the last record: that record's own text, kept so
    that the wide columns need no other copy."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines, self._taken = lines, []

    def __iter__(self) -> _Tape:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def record(self) -> str:
        text, self._taken = "".join(self._taken), []
        return text


def _decoded(lines: Iterable[str], undecoded: list[int]) -> Iterator[str]:
    """``lines`` with each undecodable byte (a surrogate) shown as U+FFFD; notes the line numbers."""
    for n, line in enumerate(lines, 1):
        if _UNDECODED.search(line):
            undecoded.append(n)
            line = _UNDECODED.sub("\ufffd", line)
        yield line


def _columns(reading: _Reading) -> tuple[list[str], list[int]]:
    """The usable column names after ``id`` and their positions; unnamed, repeated and surplus
    ones reported."""
    name, header, problems = reading.name, reading.header, reading.problems
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
        more = ", …" if len(unnamed) > MAX_LINES_SHOWN else ""
        numbers = ", ".join(str(n) for n in unnamed[:MAX_LINES_SHOWN]) + more
        shown = ", ".join(f"'column {n}'" for n in unnamed[:MAX_LINES_SHOWN]) + more
        problems.append(f"{name} line 1: columns {numbers} have no name; shown as {shown}")
    if repeats:
        more = f" and {len(repeats) - MAX_LINES_SHOWN} more" if len(repeats) > MAX_LINES_SHOWN else ""
        problems.append(f"{name} line 1: {', '.join(repeats[:MAX_LINES_SHOWN])}{more}; ignored")
    if len(columns) > MAX_LABEL_COLUMNS:
        problems.append(
            f"{name} line 1: {len(columns) + 1:,} columns; those after the first {MAX_LABEL_COLUMNS} are ignored"
        )
        columns, keep = columns[:MAX_LABEL_COLUMNS], keep[:MAX_LABEL_COLUMNS]
    return columns, keep


def _problems(reading: _Reading) -> list[str]:
    """Everything ``reading`` noted, one line per kind, in the documented order."""
    name, out = reading.name, list(reading.problems)
    if reading.undecoded:
        out.insert(0, f"{name} is not UTF-8: undecodable bytes are shown as \ufffd")
    if reading.unknown:
        out.append(f"{name}: {reading.unknown} row(s) name ids that are not in the catalog; ignored.")
    if reading.wrong_length:
        expected = f"(the header has {len(reading.header)})"
        out.append(f"{name}: wrong number of columns {_lines(reading.wrong_length)} {expected}; ignored")
    if reading.no_id:
        out.append(f"{name}: no id {_lines(reading.no_id)}; ignored")
    if reading.repeated:
        out.append(f"{name}: id repeated {_lines(reading.repeated)} (first kept); ignored")
    if reading.too_long:
        limit = csv.field_size_limit()
        out.append(f"{name}: a value longer than {limit} characters {_lines(reading.too_long)}; that row is ignored")
    if reading.end:
        out.append(reading.end)
    return out


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


def read_catalog(root: str | Path) -> tuple[Catalog, Labels | None, list[str]]:
    """The catalog folder's items, its labels (if any) and the problems found in them: a labels
    file that cannot be used at all is a problem, not a failure."""
    catalog = discover(root)
    try:
        labels = find_labels(catalog)
    except CatalogError as e:
        return catalog, None, [str(e)]
    return catalog, labels, list(labels.problems) if labels else []
