"""Exports asked for on the Curation page: each one a background job, its file on disk.

An export of 100,000 products takes about a minute and a half on two cores and makes tens of MB
(docs/feed.md). Made in the editor's own page run and kept in the session, it ran at the page's
priority and held the whole file in memory per editor. Here it runs as a job (:mod:`shirtsim.jobs`:
a lower priority, one job for two editors asking for the same export at once), and is written to
the cache folder; the session keeps only :class:`ExportFile`, and the download reads the file.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from shirtsim.errors import ShirtsimError
from shirtsim.feed.export import export
from shirtsim.feed.lists import ListMaker
from shirtsim.jobs import Jobs
from shirtsim.progress import ProgressFn
from shirtsim.text import printable

KEEP_S = 24 * 3600  # an export file older than this is removed when the next one is made


@dataclass(frozen=True)
class ExportFile:
    """A finished export: where it is, how many lists, how many shorter than asked."""

    path: Path
    products: int
    short: int

    def read(self) -> bytes:
        """The file's bytes (for the download, read when it is clicked)."""
        return self.path.read_bytes()


class Exports:
    """The exports of one catalog's engine, written to ``folder`` (the engine's is the catalog's own
    under the cache: two catalogs sharing a cache never write each other's files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._jobs = Jobs("export")

    def make(self, maker: ListMaker, fmt: str, settings: str, progress: ProgressFn | None = None) -> ExportFile:
        """``maker``'s lists exported in ``fmt``. ``settings`` names what the lists depend on (mode,
        k, rules, curation): the same settings asked again while their export runs wait for that
        one, and write the same file when asked later."""
        name = hashlib.sha256(f"{settings}\0{fmt}".encode()).hexdigest()[:16]
        path = self.folder / f"similar-{name}.{fmt}"

        def work(report: ProgressFn) -> ExportFile:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._remove_old()
                summary = export(maker, fmt, path, report)
            except OSError as e:
                where = printable(str(self.folder))
                raise ShirtsimError(f"Cannot write the export in {where}: {e.strerror or e}.") from None
            return ExportFile(path, summary.products, summary.short)

        return self._jobs.run((name, id(maker.index)), work, progress)

    def _remove_old(self) -> None:
        cutoff = time.time() - KEEP_S
        for old in self.folder.glob("similar-*"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
            except OSError:
                continue  # removed by another job meanwhile
