"""Arguments every command shares: range-checked types, the one-line parser, the catalog
options and the engine they open, the labels file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from shirtsim.cli.output import EXIT_BAD_INPUT, say
from shirtsim.errors import ShirtsimError

if TYPE_CHECKING:
    from shirtsim.catalog.labels import Labels
    from shirtsim.engine import Engine


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit status 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("shirtsim").strip()
        say(f"shirtsim: {command + ': ' if command else ''}{message} (see --help)", err=True)
        sys.exit(EXIT_BAD_INPUT)


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: use {low} to {high:,}")
        return value

    return parse


def seconds(text: str) -> float:
    """An argparse type: a time-out in seconds, above 0 and at most 10 minutes."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text[:40]} is out of range: use more than 0 and at most 600 seconds")
    return value


def score_between_0_and_1(text: str) -> float:
    """An argparse type: a score from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is out of range: use a score from 0 to 1")
    return value


def box(text: str) -> tuple[float, float, float, float]:
    """An argparse type: x0,y0,x1,y1 as fractions of the upright picture (shirtsim.catalog.crop)."""
    from shirtsim.catalog.crop import parse_box  # noqa: PLC0415

    try:
        return parse_box(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def engine_for(args: argparse.Namespace, index_backend: str | None = None, projection: str | None = None) -> Engine:
    """The engine a command asked for; ``projection`` overrides ``--projection`` (for commands
    that work below any projection)."""
    from shirtsim.engine import Engine  # noqa: PLC0415
    from shirtsim.model.weights import resolve_weights  # noqa: PLC0415

    projection = projection or getattr(args, "projection", None)
    engine = Engine(
        args.catalog, weights=resolve_weights(args.weights), index_backend=index_backend, projection=projection
    )
    for note in (engine.weights.note, engine.projection_choice.note):
        if note:
            say(f"note: {note}", err=True)
    return engine


def labels_path(args: argparse.Namespace, engine: Engine) -> Path:
    """``--labels``, else the catalog's labels.csv; one line when there is none."""
    path = Path(args.labels) if args.labels else engine.catalog.root / "labels.csv"
    if not path.is_file():
        raise ShirtsimError(f"No labels file: {path} (pass --labels CSV).")
    return path


def read_labels(path: Path, ids: list[str]) -> Labels:
    """The labels of ``ids``; rows left out are said on stderr (the rest of the file is still used)."""
    from shirtsim.catalog.labels import load_labels  # noqa: PLC0415

    labels = load_labels(path, set(ids))
    for problem in labels.problems:
        say(f"note: {problem}", err=True)
    return labels


def catalog_opts(sp: argparse.ArgumentParser) -> None:
    """--catalog, --weights and --projection: what every command that opens a catalog takes."""
    sp.add_argument("--catalog", metavar="DIR", help="folder of images (default: $SHIRTSIM_CATALOG or the demo)")
    sp.add_argument("--weights", metavar="W", help="auto, imagenet, packaged or a file (default: $SHIRTSIM_WEIGHTS)")
    sp.add_argument(
        "--projection",
        metavar="P",
        help="learned projection: auto, none or a file from fit-projection (default: $SHIRTSIM_PROJECTION)",
    )
