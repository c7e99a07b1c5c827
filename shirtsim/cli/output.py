"""What the command line prints: one line per message (outside text escaped), JSON without NaN,
a progress bar on stderr, and the one line an operating-system failure becomes."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO

from shirtsim.errors import os_error_advice, os_error_reason
from shirtsim.text import printable

EXIT_BAD_INPUT = 2


class ProgressBar:
    """A one-line progress bar on stderr (redrawn at most ten times a second).

    When stderr is not a terminal (a log, a pipe) it writes one plain line when a long step
    starts and one when it ends, instead of carriage-return redraws.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width, self._last = width, 0.0
        self._steps: dict[str, float] = {}  # plain output: when each step started, was last said
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int, what: str) -> None:
        if total <= 0:  # size not known (yet): nothing to draw
            return
        now = time.monotonic()
        if not self.tty:
            self._plain(done, total, what, now)
            return
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / total) if total else self.width
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{what:<16} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}{end}")
        self.stream.flush()

    def _plain(self, done: int, total: int, what: str, now: float) -> None:
        """A log's lines: embedding's start and end; for other steps that last, a line every ten
        seconds and one at the end (short steps say nothing)."""
        if what == "embedding":
            line = f"embedding: {done}/{total} images{' done' if done == total else ''}" if done in (0, total) else ""
        else:
            start = self._steps.setdefault(what, now)
            last = self._steps.get(what + "/said")
            due = now - (last if last is not None else start) >= 10
            line = f"{what}: {done}/{total}" if due or (done >= total and last is not None) else ""
            if line:
                self._steps[what + "/said"] = now
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()


def say(text: str, err: bool = False) -> None:
    """Print one line of text that may quote outside text (ids, column names, values, paths):
    control characters and line breaks escaped (:func:`shirtsim.text.printable`), so a hostile
    label can neither break the line nor drive the terminal."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


def to_json(value: object) -> str:
    """JSON for ``--json``: a number that is not finite (which no reader parses) becomes null."""

    def clean(v: object) -> object:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(value), allow_nan=False)


def os_error_line(e: OSError) -> str:
    """One line for an operating-system failure: which file, what happened, what to do."""
    where = f"{printable(str(e.filename))}: " if e.filename else ""
    advice = os_error_advice(e)
    return f"{where}{os_error_reason(e)}" + (f". {advice}." if advice else ".")
