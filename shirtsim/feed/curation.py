"""A merchandiser's corrections to the similar lists: pins and blocks, kept in a CSV file.

    query_id,action,target_id,position
    1001,pin,1050,1        1050 is shown first in 1001's list (marked pinned), whatever the rules say
    1001,block,1002,       1002 never appears in 1001's list
    *,block,1099,          1099 appears in no list (it keeps its own)

Blocks win over pins. Pins count toward k: a list never has more than k entries, and a pin beyond
the end of a shorter list goes last. Problems (unknown ids, a pin to the query itself, two pins at
one position, bad lines) are reported once each with their line numbers, and the rest is used.

The file is work, not a cache: its default lives in a data folder (:func:`default_curation_path`).
Every change is made under a lock, on the file as it is now (re-read), and written atomically, so
two editors saving at once both keep their changes.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import os
import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shirtsim.errors import ShirtsimError
from shirtsim.outputs import write_atomically
from shirtsim.settings import CURATION
from shirtsim.store import catalog_key
from shirtsim.text import printable

HEADER = ["query_id", "action", "target_id", "position"]
EVERY = "*"  # a block for every list
NOT_CSV = "not valid CSV; the rest of the file was ignored"
POSITION = re.compile(r"[0-9]{1,9}")  # ASCII digits only ("²".isdigit() is true), and not 4,300 of them
MAX_LINES_SHOWN = 5


class CurationError(ShirtsimError):
    """A curation file that cannot be used at all (not CSV, a wrong header, unreadable)."""


@dataclass(frozen=True)
class Entry:
    """One result of a list: its id, its real similarity to the query, and whether it was pinned."""

    id: str
    score: float
    pinned: bool = False

    def as_json(self) -> dict:
        return {"id": self.id, "score": round(self.score, 6), "pinned": self.pinned}


@dataclass
class Curation:
    """Pins and blocks per query id (see the module docstring)."""

    pins: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # query -> (position, target), by position
    blocks: dict[str, set[str]] = field(default_factory=dict)  # query (or EVERY) -> targets
    problems: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # the file's data lines as they are, for edits
    broken: bool = False  # a line was not CSV: what follows it was not read

    def blocked(self, query_id: str | None) -> set[str]:
        """The shirts never shown in ``query_id``'s list (its own blocks and everyone's)."""
        everyone = self.blocks.get(EVERY, set())
        own = self.blocks.get(query_id) if query_id else None
        return everyone | own if own else set(everyone)

    def pinned(self, query_id: str | None) -> list[tuple[int, str]]:
        """``query_id``'s pins not blocked, by position."""
        if not query_id:
            return []
        blocked = self.blocked(query_id)
        return [(p, t) for p, t in self.pins.get(query_id, []) if t not in blocked]

    def pinning_only(self, known: Container[str]) -> Curation:
        """This curation with only the pins of shirts in ``known`` (an index that lacks some)."""
        pins = {q: [(p, t) for p, t in found if t in known] for q, found in self.pins.items()}
        return Curation(pins, self.blocks, self.problems, self.rows, self.broken)

    def apply(self, query_id: str | None, ranked: list[Entry], k: int, score_of: Callable[[str], float]) -> list[Entry]:
        """``ranked`` (the rules' list, best first, without blocked or pinned shirts) with the pins
        put at their positions: at most ``k`` entries, a pin past a shorter list's end last."""
        pins = self.pinned(query_id)
        if not pins:
            return ranked[:k]
        slots: list[Entry | None] = [None] * k
        later = []
        for position, target in pins:
            if position <= k and slots[position - 1] is None:
                slots[position - 1] = Entry(target, score_of(target), pinned=True)
            else:
                later.append(Entry(target, score_of(target), pinned=True))
        fill = iter(ranked)
        for n, slot in enumerate(slots):
            if slot is None:
                slots[n] = next(fill, None)
        out = [e for e in slots if e is not None]
        return (out + later)[:k]


def default_curation_path(catalog_root: Path) -> Path:
    """``$SHIRTSIM_CURATION``, else a file per catalog in the user's data folder
    (``$XDG_DATA_HOME/shirtsim``, else ``~/.local/share/shirtsim``): never the cache, which may be
    deleted at any time."""
    if CURATION.is_set():
        return Path(CURATION.get()).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "shirtsim" / "curation"
    root = Path(catalog_root).resolve()
    return base / f"{root.name[:60] or 'catalog'}-{catalog_key(root)[:12]}.csv"


def load_curation(path: Path, known_ids: set[str] | None = None) -> Curation:
    """The curation in ``path`` (an empty one when the file does not exist yet)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return Curation()
    except (OSError, UnicodeDecodeError) as e:
        raise CurationError(f"{printable(path.name)}: cannot read the curation file ({e}).") from None
    return parse_curation(text, printable(path.name), known_ids)


def parse_curation(text: str, name: str, known_ids: set[str] | None = None) -> Curation:
    """Pins and blocks from CSV text; each kind of problem is reported once, with its lines."""
    reader = csv.reader(io.StringIO(text, newline=""))  # a lone \r inside a line is the csv module's to judge
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as e:
        raise CurationError(f"{name} line 1: not valid CSV ({e}).") from None
    if header[:4] != HEADER:
        raise CurationError(f"{name}: the first line must be {','.join(HEADER)}.")
    found = Curation()
    problems: dict[str, list[int]] = {}
    positions: dict[tuple[str, int], str] = {}
    line = 1
    while True:
        try:
            row = next(reader, None)
        except csv.Error:
            problems.setdefault(NOT_CSV, []).append(reader.line_num)
            found.broken = True
            break
        line = reader.line_num
        if row is None:
            break
        if not any(v.strip() for v in row):
            continue
        found.rows.append(row)
        why = _add(found, row, known_ids, positions)
        if why:
            problems.setdefault(why, []).append(line)
    for pins in found.pins.values():
        pins.sort()
    found.problems = [f"{name}: {why} {_lines(lines)}; ignored" for why, lines in problems.items()]
    return found


def _add(found: Curation, row: list[str], known_ids: set[str] | None, positions: dict) -> str:
    """Add one data line; the problem's wording when it cannot be used ("" when it can)."""
    if len(row) < 3 or len(row) > 4:
        return "a line without the four fields"
    query, action, target, position = (row + [""])[:4]
    query, target = _id(query, known_ids), _id(target, known_ids)
    action, position = action.strip().lower(), position.strip()
    if action not in ("pin", "block"):
        return "an action that is neither pin nor block"
    if known_ids is not None and ((query != EVERY and query not in known_ids) or (target not in known_ids)):
        return "an id that is not in the catalog"
    if query == target:
        return "a shirt pinned or blocked in its own list"
    if action == "block":
        if position:
            return "a position on a block"
        found.blocks.setdefault(query, set()).add(target)
        return ""
    if query == EVERY:
        return "a pin for every list (pins are per query)"
    if not POSITION.fullmatch(position) or int(position) < 1:
        return "a pin without a position of 1 or more"
    place, pair = (query, int(position)), (query, "pinned", target)
    if place in positions or pair in positions:
        return "two pins at one position (or one shirt pinned twice)"
    positions[place] = positions[pair] = target
    found.pins.setdefault(query, []).append((int(position), target))
    return ""


def _id(text: str, known_ids: set[str] | None) -> str:
    """An id field: as written when the catalog has it so (an id may end in a space), else trimmed
    (a hand-written file's ``1001, pin, 1002, 3``)."""
    return text if known_ids is not None and text in known_ids else text.strip()


def _lines(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"on line {numbers[0]}"
    shown = ", ".join(map(str, numbers[:MAX_LINES_SHOWN]))
    return f"on lines {shown}" if len(numbers) <= MAX_LINES_SHOWN else f"on {len(numbers)} lines ({shown}, …)"


# ---------------------------------------------------------------------------------------------
# Editing: under a lock, on the file as it is now, written whole or not at all
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def edit(path: Path, change: Callable[[list[list[str]]], list[list[str]]]) -> None:
    """Apply ``change`` to the file's data lines under the lock, re-read first, written atomically."""
    path = Path(path)
    with _locked(path):
        try:
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))[1:]
        except FileNotFoundError:
            rows = []
        except (OSError, UnicodeDecodeError, csv.Error) as e:  # left as it is: it may be someone's work
            raise CurationError(f"{printable(path.name)}: cannot read the curation file to change it ({e}).") from None
        write_rows(path, change([r for r in rows if any(v.strip() for v in r)]))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    write_atomically(path, out.getvalue().encode("utf-8"))


def pin(path: Path, query_id: str, target_id: str, position: int) -> None:
    """Pin ``target_id`` at ``position`` in ``query_id``'s list (replacing a pin of it or at that
    place, and a block of it for this query)."""

    def change(rows: list[list[str]]) -> list[list[str]]:
        kept = [r for r in rows if not _same(r, query_id, target_id) and not _at(r, query_id, position)]
        return kept + [[query_id, "pin", target_id, str(position)]]

    edit(path, change)


def block(path: Path, query_id: str, target_id: str) -> None:
    """Block ``target_id`` from ``query_id``'s list (``*``: from every list)."""

    def change(rows: list[list[str]]) -> list[list[str]]:
        return [r for r in rows if not _same(r, query_id, target_id)] + [[query_id, "block", target_id, ""]]

    edit(path, change)


def remove(path: Path, query_id: str, action: str, target_id: str) -> None:
    """Remove one pin or block."""
    edit(path, lambda rows: [r for r in rows if not (_same(r, query_id, target_id) and _action(r) == action)])


def replace_all(path: Path, text: str, known_ids: set[str] | None = None) -> Curation:
    """Replace the file with an uploaded CSV (checked first: a wrong header or a line that is not
    CSV changes nothing). Lines with other problems are reported and kept: an unknown id may be a
    shirt that comes back."""
    parsed = parse_curation(text, "the uploaded file", known_ids)
    if parsed.broken:
        raise CurationError(next(p for p in parsed.problems if NOT_CSV in p).replace("; ignored", ""))
    with _locked(Path(path)):
        write_rows(Path(path), parsed.rows)
    return parsed


def _same(row: list[str], query_id: str, target_id: str) -> bool:
    return len(row) >= 3 and _is(row[0], query_id) and _is(row[2], target_id)


def _at(row: list[str], query_id: str, position: int) -> bool:
    return len(row) >= 4 and _is(row[0], query_id) and _action(row) == "pin" and row[3].strip() == str(position)


def _is(field: str, shirt_id: str) -> bool:
    """Whether a line's id field names ``shirt_id`` (as written, or trimmed: see :func:`_id`)."""
    return field == shirt_id or field.strip() == shirt_id


def _action(row: list[str]) -> str:
    return row[1].strip().lower() if len(row) > 1 else ""
