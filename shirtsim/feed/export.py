"""Every product's similar list, written for a store's product pages (``shirtsim export``).

Lists are made a batch at a time (:class:`~shirtsim.feed.lists.ListMaker`: never an N x N matrix;
one batch's scores at most), streamed to the output as they come, and the output is written to a
temporary file renamed into place at the end, so an interrupted export leaves no half file.

Formats: JSON lines, one product a line (``{"id": Q, "similar": [{"id": R, "score": s, "pinned":
false}, ...]}``), or CSV (``id,rank,similar_id,score,pinned``). Each product's list is what
``shirtsim similar Q --json`` says with the same flags.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from shirtsim.errors import ShirtsimError
from shirtsim.feed.curation import Entry
from shirtsim.feed.lists import ListMaker
from shirtsim.outputs import atomic_file
from shirtsim.progress import ProgressFn
from shirtsim.text import printable

FORMATS = ("jsonl", "csv")
CSV_HEADER = ["id", "rank", "similar_id", "score", "pinned"]
CHUNK = 2048  # products whose lists are made and written at a time


@dataclass
class Summary:
    products: int = 0
    short: int = 0  # lists the rules or blocks left shorter than k
    changed: int | None = None  # --diff: products whose list is not the old one's
    added: int | None = None  # --diff: (product, similar) pairs new in this export
    removed: int | None = None  # --diff: pairs the old export had


def export(
    maker: ListMaker,
    fmt: str,
    out: Path | None,
    progress: ProgressFn | None = None,
    old: dict[str, list[str]] | None = None,
) -> Summary:
    """Write every product's list of ``maker``'s index to ``out`` (stdout when None)."""
    if fmt not in FORMATS:
        raise ShirtsimError(f"--format {fmt[:20]!r}: use {' or '.join(FORMATS)}.")
    index = maker.index
    summary = Summary()
    if old is not None:
        summary.changed = summary.added = summary.removed = 0
    with _output(out) as stream:
        writer = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
        if writer is not None:
            writer.writerow(CSV_HEADER)
        total = len(index.ids)
        for chunk, lists in maker.catalog(CHUNK, progress):
            for shirt_id, made in zip(chunk, lists):
                _write(stream, writer, shirt_id, made.entries)
                summary.short += made.short
                if old is not None:
                    _compare(summary, old.get(shirt_id, []), [e.id for e in made.entries])
            summary.products += len(chunk)
            if progress:
                progress(summary.products, total, "writing the lists")
    if old is not None:  # products the old export had and this one has not: all their pairs went
        for shirt_id, was in old.items():
            if shirt_id not in index:
                summary.changed += 1
                summary.removed += len(was)
    return summary


def _write(stream: TextIO, writer: csv.writer | None, shirt_id: str, entries: list[Entry]) -> None:
    if writer is None:
        stream.write(json.dumps({"id": shirt_id, "similar": [e.as_json() for e in entries]}) + "\n")
        return
    for rank, e in enumerate(entries, 1):
        writer.writerow([shirt_id, rank, e.id, f"{round(e.score, 6):.6f}", "true" if e.pinned else "false"])


def _compare(summary: Summary, was: list[str], now: list[str]) -> None:
    if was != now:
        summary.changed += 1
    before, after = set(was), set(now)
    summary.added += len(after - before)
    summary.removed += len(before - after)


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    """stdout, or a temporary file beside ``out`` renamed onto it once everything is written."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_file(out, "w", encoding="utf-8", newline="") as stream:
        yield stream


def read_export(path: Path) -> dict[str, list[str]]:
    """An earlier export's lists (product id -> similar ids, in order), JSON lines or CSV."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ShirtsimError(f"--diff {printable(str(path))}: cannot read it ({e}).") from None
    lists: dict[str, list[str]] = {}
    if text.startswith(",".join(CSV_HEADER)):
        for row in csv.DictReader(io.StringIO(text)):
            lists.setdefault(row["id"], []).append(row["similar_id"])
        return lists
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            lists[str(item["id"])] = [str(e["id"]) for e in item["similar"]]
        except (ValueError, KeyError, TypeError):
            raise ShirtsimError(
                f"--diff {printable(str(path))} line {n}: neither an export's JSON line nor its CSV."
            ) from None
    return lists
