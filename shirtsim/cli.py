"""Command line: ``python -m shirtsim COMMAND`` (or ``shirtsim COMMAND`` once installed); ``--help`` lists them.

Errors are translated here, at the edge: one line on stderr and exit status 2 for bad input,
never a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from .colour_blind import DRAWINGS
from .engine import MAX_K
from .errors import RemovalRefused, ShirtsimError, os_error_advice, os_error_reason
from .outputs import refuse_to_fill, refuse_to_replace, write_atomically
from .text import printable

if TYPE_CHECKING:
    from .descriptors import Mode
    from .engine import Engine, Query
    from .index import IndexReport
    from .labels import Labels

EXIT_BAD_INPUT = 2


class ProgressBar:
    """A one-line progress bar on stderr (redrawn at most ten times a second).

    When stderr is not a terminal (a log, a pipe) it writes one plain line when a long step
    starts and one when it ends, instead of carriage-return redraws.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width, self._last = width, 0.0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int, what: str) -> None:
        if total <= 0:  # size not known (yet): nothing to draw
            return
        if not self.tty:
            if what == "embedding" and done in (0, total):
                self.stream.write(f"embedding: {done}/{total} images{' done' if done == total else ''}\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / total) if total else self.width
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{what:<16} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}{end}")
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
    """An argparse type: x0,y0,x1,y1 as fractions of the upright picture (shirtsim.crop)."""
    from .crop import parse_box  # noqa: PLC0415

    try:
        return parse_box(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def os_error_line(e: OSError) -> str:
    """One line for an operating-system failure: which file, what happened, what to do."""
    where = f"{printable(str(e.filename))}: " if e.filename else ""
    advice = os_error_advice(e)
    return f"{where}{os_error_reason(e)}" + (f". {advice}." if advice else ".")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except RemovalRefused as e:  # Milvus holds many more rows than the folder has shirts
        say(f"shirtsim: {e} If they really are gone, run `shirtsim index --allow-removals`.", err=True)
        return EXIT_BAD_INPUT
    except ShirtsimError as e:
        say(f"shirtsim: {e}", err=True)
        return EXIT_BAD_INPUT
    except OSError as e:  # the disk, permissions, names: a message that says what to fix, not a traceback
        if isinstance(e, BrokenPipeError):
            return 0
        say(f"shirtsim: {os_error_line(e)}", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        say("shirtsim: interrupted", err=True)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="shirtsim", description="Find visually similar shirts.")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    def catalog_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--catalog", metavar="DIR", help="folder of images (default: $SHIRTSIM_CATALOG or the demo)")
        sp.add_argument(
            "--weights", metavar="W", help="auto, imagenet, packaged or a file (default: $SHIRTSIM_WEIGHTS)"
        )
        sp.add_argument(
            "--projection",
            metavar="P",
            help="learned projection: auto, none or a file from fit-projection (default: $SHIRTSIM_PROJECTION)",
        )

    sp = sub.add_parser("index", help="build or update the embedding cache for a catalog")
    catalog_opts(sp)
    sp.add_argument("--mode", default=None, help="similarity mode whose vectors to build (default: balanced)")
    sp.add_argument(
        "--allow-removals",
        action="store_true",
        help="remove the shirts whose files are gone even when they are many "
        "(more than $SHIRTSIM_REMOVAL_LIMIT percent of the index, default 20, and more than 10)",
    )
    sp.set_defaults(run=cmd_index)

    sp = sub.add_parser("similar", help="the shirts most like a catalog id or an image file")
    sp.add_argument("query", nargs="?", help="a catalog id, or the path of an image file (optional with --like)")
    catalog_opts(sp)
    sp.add_argument("-k", type=int_between(1, MAX_K), default=10, help=f"number of results, 1 to {MAX_K} (default 10)")
    sp.add_argument("--mode", default=None, help="balanced (default), pattern, colour or seed")
    sp.add_argument("--like", action="append", default=[], metavar="ID", help="more like this shirt; repeat for more")
    sp.add_argument("--unlike", action="append", default=[], metavar="ID", help="less like this shirt; repeat")
    sp.add_argument("--colour", metavar="#RRGGBB", help="the query's pattern in this colour")
    sp.add_argument("--colour-of", metavar="ID", help="the query's pattern in this catalog shirt's colours")
    cropping = sp.add_mutually_exclusive_group()
    cropping.add_argument(
        "--box",
        type=box,
        metavar="X0,Y0,X1,Y1",
        help="search only this part of a photo QUERY (fractions of the upright picture), its background whitened",
    )
    cropping.add_argument(
        "--auto-box", action="store_true", help="search the part of a photo QUERY that shirtsim finds the shirt in"
    )
    sp.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="only shirts with this label (labels.csv); repeat for more values or columns",
    )
    sp.add_argument("--json", action="store_true", help="print a JSON list of {id, score}")
    sp.set_defaults(run=cmd_similar)

    sp = sub.add_parser("explain", help="why RESULT matches QUERY: the score part by part, and both palettes")
    sp.add_argument("query", help="a catalog id, or the path of an image file")
    sp.add_argument("result", help="a catalog id")
    catalog_opts(sp)
    sp.add_argument("--mode", default=None, help="balanced (default), pattern, colour or seed")
    sp.add_argument("--json", action="store_true", help="print the explanation as JSON")
    sp.set_defaults(run=cmd_explain)

    sp = sub.add_parser("evaluate", help="precision@k of same-label results over a labelled catalog")
    catalog_opts(sp)
    sp.add_argument("--labels", metavar="CSV", help="labels file (default: the catalog's labels.csv)")
    sp.add_argument("--columns", help="comma-separated label columns (default: all but id and name)")
    sp.add_argument("-k", type=int_between(1, MAX_K), default=10, help=f"results per query, 1 to {MAX_K} (default 10)")
    sp.add_argument("--mode", default=None)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(run=cmd_evaluate)

    sp = sub.add_parser(
        "duplicates", help="groups of photos that are the same picture (re-encoded, resized, cropped, mirrored)"
    )
    sp.add_argument("--catalog", metavar="DIR", help="folder of images (default: $SHIRTSIM_CATALOG or the demo)")
    sp.add_argument(
        "--threshold",
        type=score_between_0_and_1,
        default=None,
        metavar="T",
        help="lowest duplicate score (0-1, the detail correlation of shirtsim.duplicates; "
        "default 0.92, chosen in benchmarks/duplicates.py)",
    )
    sp.add_argument("--json", action="store_true", help='print [{"ids": [...], "score": s}, ...], best first')
    sp.set_defaults(run=cmd_duplicates)

    sp = sub.add_parser("fit-texture-basis", help="refit the style texture basis (PCA, no labels) on a catalog")
    catalog_opts(sp)
    sp.add_argument(
        "--every", type=int_between(1, 1_000_000), default=2, help="use every Nth image in id order (default 2: half)"
    )
    sp.add_argument(
        "--out",
        metavar="FILE",
        help="write it here instead of over the basis shipped for the packaged weights "
        "(to compare: other weights always use a basis fitted on the demo catalog)",
    )
    sp.add_argument("--force", action="store_true", help="replace FILE (or the shipped basis) if it exists")
    sp.set_defaults(run=cmd_fit_texture_basis)

    sp = sub.add_parser(
        "fit-colour-directions",
        help="refit the directions a colour change moves the texture part along (for 'this pattern in that colour')",
    )
    catalog_opts(sp)
    sp.add_argument(
        "--every", type=int_between(1, 1_000_000), default=3, help="use every Nth image in id order (default 3)"
    )
    sp.add_argument(
        "--drawings",
        type=int_between(1, 10_000),
        default=DRAWINGS,
        help=f"drawn shirts to add (default {DRAWINGS}, as shipped)",
    )
    sp.add_argument(
        "--out",
        metavar="FILE",
        help="write it here instead of over the file shipped for the packaged weights, to compare: "
        "nothing reads it (other weights fit theirs from drawings on first use and keep them in the cache)",
    )
    sp.add_argument("--force", action="store_true", help="replace FILE (or the shipped directions) if it exists")
    sp.set_defaults(run=cmd_fit_colour_directions)

    sp = sub.add_parser(
        "fit-projection", help="learn which descriptor directions matter from a labelled catalog (labels.csv)"
    )
    catalog_opts(sp)
    sp.add_argument("--labels", metavar="CSV", help="labels file (default: the catalog's labels.csv)")
    sp.add_argument(
        "--columns",
        help="comma-separated label columns to learn; prefix texture: or colour: to say which part learns it "
        "(default: every column but id and name; colour names from the colour parts, the rest from texture)",
    )
    sp.add_argument("--out", metavar="FILE", help="where to write it (default: in the cache; never in the catalog)")
    sp.add_argument("--force", action="store_true", help="replace the output file if it exists")
    sp.set_defaults(run=cmd_fit_projection)

    sp = sub.add_parser("make-demo-catalog", help="draw the procedural demo catalog into DIR")
    sp.add_argument("dir")
    sp.add_argument("--count", type=int_between(1, 10_000), default=200, help="how many shirts (default 200)")
    sp.add_argument("--force", action="store_true", help="draw into DIR even if it is not empty (same names replaced)")
    sp.set_defaults(run=cmd_make_demo)

    sp = sub.add_parser("download-seed-shirts", help="fetch the seed notebook's shirts into DIR")
    sp.add_argument("dir")
    sp.add_argument("--url", default=None, help=argparse.SUPPRESS)
    sp.add_argument("--timeout", type=seconds, default=10.0, help="seconds per connection step (default 10)")
    sp.add_argument("--force", action="store_true", help="unpack into DIR even if not empty (same names replaced)")
    sp.set_defaults(run=cmd_download)

    from .bench import add_parser as add_bench  # noqa: PLC0415

    add_bench(sub)
    return p


def _engine(args: argparse.Namespace, index_backend: str | None = None, projection: str | None = None) -> Engine:
    """The engine a command asked for; ``projection`` overrides ``--projection`` (for commands
    that work below any projection)."""
    from .engine import Engine  # noqa: PLC0415
    from .weights import resolve_weights  # noqa: PLC0415

    projection = projection or getattr(args, "projection", None)
    engine = Engine(
        args.catalog, weights=resolve_weights(args.weights), index_backend=index_backend, projection=projection
    )
    for note in (engine.weights.note, engine.projection_choice.note):
        if note:
            say(f"note: {note}", err=True)
    return engine


def cmd_index(args: argparse.Namespace) -> int:
    """Its job is to write the cache: a write that fails (a full disk) is an error here, and a
    mass removal is refused until ``--allow-removals`` confirms it."""
    from .engine import get_mode  # noqa: PLC0415
    from .store import writes_required  # noqa: PLC0415

    mode = get_mode(args.mode)
    engine = _engine(args)
    with writes_required():
        _, report = engine.index_with_report(mode.kind, progress=ProgressBar(), allow_removals=args.allow_removals)
    say(f"catalog {engine.catalog.root}: {len(engine.catalog)} image files; {report.summary()}")
    if report.backend:
        say(f"  {report.backend}")
    for s in report.skipped:
        say(f"  skipped {s.name}: {s.reason}")
    for problem in report.problems + engine.label_problems:
        say(f"  {problem}")
    if report.withheld is not None:
        confirm = "If they really are gone, run it again with --allow-removals."
        say(f"shirtsim: index: {report.withheld} {confirm}", err=True)
        return EXIT_BAD_INPUT
    return 0


def _notes(engine: Engine, report: IndexReport) -> None:
    """What a command that reads the index says on stderr about its state: shirts whose removal
    waits for a confirmation, a cache that cannot be written."""
    if report.withheld is not None:
        say(f"note: {report.withheld} They stay in the index until `shirtsim index --allow-removals`.", err=True)
    if engine.cache_warning:
        say(f"note: {engine.cache_warning}", err=True)


def cmd_similar(args: argparse.Namespace) -> int:
    from .engine import Steering, get_mode  # noqa: PLC0415

    mode = get_mode(args.mode)
    if args.query is None and not args.like:
        raise ShirtsimError("Give a QUERY, or --like ID.")
    if args.colour is not None and args.colour_of is not None:
        raise ShirtsimError("Give --colour or --colour-of, not both.")
    engine = _engine(args)
    filters = _filters(args.filter, engine)
    index, report = engine.index_with_report(mode.kind, progress=ProgressBar())
    _notes(engine, report)
    crop = "auto" if args.auto_box else args.box
    if crop is not None and (args.query is None or args.query in index):
        raise ShirtsimError("--box and --auto-box cut a photo: give an image file as QUERY, not a catalog id.")
    query = _query(args.query, engine, mode, crop) if args.query is not None else None
    if args.like or args.unlike or args.colour is not None or args.colour_of is not None:
        like = ([query] if query is not None else []) + [engine.check_id(i, index) for i in args.like]
        unlike = tuple(engine.check_id(i, index) for i in args.unlike)
        matches = engine.steered(mode, Steering(tuple(like), unlike, args.colour, args.colour_of), args.k, filters)
        _note_a_far_colour(engine, args.colour)
    elif isinstance(query, str):
        matches = engine.similar_to_id(query, mode, args.k, filters)
    else:
        matches = engine.similar_to_vector(query.vector, mode, args.k, filters)
    if args.json:
        print(to_json([{"id": m.id, "score": round(m.score, 6)} for m in matches]))
    else:
        for rank, m in enumerate(matches, 1):
            say(f"{rank:3d}  {m.id:<24} {m.score:.4f}")
    return 0


def _note_a_far_colour(engine: Engine, colour: str | None) -> None:
    from .steer import FAR_COLOUR  # noqa: PLC0415

    if colour is not None and (nearest := engine.nearest_in_colour(colour)) < FAR_COLOUR:
        say(
            f"note: no shirt in this catalog comes near {colour.strip()} (the nearest colours match {nearest:.2f}): "
            "the results follow the pattern more than the colour.",
            err=True,
        )


def _query(text: str, engine: Engine, mode: Mode, crop: tuple | str | None = None) -> Query:
    """A catalog id, else an image file read as an upload (cut by ``crop``: Engine.read_upload)."""
    from .errors import BadImageError, UnknownShirtError  # noqa: PLC0415
    from .images import read_limited  # noqa: PLC0415

    if text in engine.index(mode.kind):
        return text
    path = Path(text)
    if path.is_file():
        return engine.read_upload(read_limited(path), path.name, mode.kind, crop)
    if path.exists():
        raise BadImageError(f"{text}: not a file.")
    raise UnknownShirtError(f"{text[:80]!r} is neither a catalog id nor an image file.")


def cmd_explain(args: argparse.Namespace) -> int:
    from .engine import get_mode  # noqa: PLC0415

    mode = get_mode(args.mode)
    engine = _engine(args)
    engine.index(mode.kind, progress=ProgressBar())
    explanation = engine.explain(_query(args.query, engine, mode), args.result, mode)
    if args.json:
        print(to_json(explanation.as_json()))
        return 0
    say(f"score {explanation.score:.4f} ({mode.name})")
    for p in explanation.parts:
        say(f"  {p.name:<16} cosine {p.cosine:+.4f} x weight {p.weight:.3f} = {p.contribution:+.4f}")
    for who, colours in (("query", explanation.query_colours), ("result", explanation.result_colours)):
        say(f"  {who + ' colours':<16} " + "  ".join(f"{c.hex} {c.share:.0%}" for c in colours))
    return 0


def _filters(pairs: list[str], engine: Engine) -> dict[str, list[str]] | None:
    """``["colour=red", "colour=blue"]`` -> ``{"colour": ["red", "blue"]}``, columns checked against
    labels.csv; a filter that no shirt passes is said on stderr (the list is then empty)."""
    if not pairs:
        return None
    labels = engine.labels
    columns = labels.columns if labels else []
    out: dict[str, list[str]] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep:
            raise ShirtsimError(f"--filter {pair[:60]!r}: write COLUMN=VALUE.")
        if column not in columns:
            raise ShirtsimError(
                f"--filter: no label column {column[:60]!r}"
                + (f"; labels.csv has {_listed(columns)}." if columns else " (the catalog has no labels.csv).")
            )
        out.setdefault(column, []).append(value)
    for column, values in out.items():
        if labels is not None and not set(values) & set(labels.values(column)):
            shown = " or ".join(repr(v[:60]) for v in values)
            say(f"note: --filter: no shirt has {column[:60]!r} = {shown}: the list is empty.", err=True)
    return out


def _listed(names: list[str], most: int = 12) -> str:
    """Column names for a message: the first ``most``, then how many more."""
    shown = ", ".join(repr(n[:40]) for n in names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .engine import get_mode  # noqa: PLC0415
    from .evaluate import evaluate  # noqa: PLC0415

    mode = get_mode(args.mode)
    # Ranking every shirt against all others needs the vectors in hand: always the in-memory
    # index, whose results a Milvus backend reproduces (tests/test_milvus.py).
    engine = _engine(args, index_backend="memory")
    labels_path = _labels_path(args, engine)
    index = engine.index(mode.kind, progress=ProgressBar())
    labels = _read_labels(labels_path, index.ids)
    columns = args.columns.split(",") if args.columns else [c for c in labels.columns if c not in ("id", "name")]
    unknown = [c for c in columns if c not in labels.columns]
    if unknown:
        raise ShirtsimError(f"{labels_path.name} has no column {unknown[0]!r}; it has {', '.join(labels.columns)}.")
    try:
        quality = evaluate(index, labels, mode, columns, k=args.k)
    except ValueError as e:
        raise ShirtsimError(str(e)) from None
    if args.json:
        print(to_json(quality.as_json()))
    else:
        say(f"precision@{quality.k}, mode {quality.mode}, {quality.n} labelled shirts")
        for col in columns:
            if col in quality.precision:
                say(f"  {col:<14} {quality.precision[col]:.3f}   (chance {quality.chance[col]:.3f})")
        say(f"  {'mean':<14} {quality.precision['mean']:.3f}")
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    """Needs no model: the prints are made from the pictures alone (shirtsim.duplicates)."""
    from .catalog import discover  # noqa: PLC0415
    from .duplicates import DEFAULT_THRESHOLD, scan_catalog  # noqa: PLC0415
    from .engine import default_catalog_dir  # noqa: PLC0415
    from .store import default_cache_dir  # noqa: PLC0415

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    catalog = discover(args.catalog or default_catalog_dir())
    found = scan_catalog(catalog, default_cache_dir(), progress=ProgressBar())
    for s in found.skipped:
        say(f"note: skipped {s.name}: {s.reason}", err=True)
    groups = found.groups(threshold)
    if args.json:
        print(to_json([g.as_json() for g in groups]))
        return 0
    say(f"{len(groups)} group(s) of near-duplicate photos among {len(found.ids)}, duplicate score >= {threshold:g}")
    for g in groups:
        say(f"  {g.score:.3f}  " + "  ".join(g.ids))
    return 0


def _labels_path(args: argparse.Namespace, engine: Engine) -> Path:
    """``--labels``, else the catalog's labels.csv; one line when there is none."""
    path = Path(args.labels) if args.labels else engine.catalog.root / "labels.csv"
    if not path.is_file():
        raise ShirtsimError(f"No labels file: {path} (pass --labels CSV).")
    return path


def _read_labels(path: Path, ids: list[str]) -> Labels:
    """The labels of ``ids``; rows left out are said on stderr (the rest of the file is still used)."""
    from .labels import load_labels  # noqa: PLC0415

    labels = load_labels(path, set(ids))
    for problem in labels.problems:
        say(f"note: {problem}", err=True)
    return labels


def _fitting_on(args: argparse.Namespace, shipped: str, fit: str) -> tuple[Engine, list]:
    """The engine (raw vectors: fitted below any projection) and every ``--every``th catalog item,
    for a command that refits a file shipped for the packaged weights."""
    from .texture import SHIPPED_BASIS_WEIGHTS  # noqa: PLC0415

    engine = _engine(args, index_backend="memory", projection="none")
    if not args.out and engine.weights.fingerprint != SHIPPED_BASIS_WEIGHTS:
        raise ShirtsimError(
            f"The shipped {shipped} for the packaged weights, not {engine.weights.label}: pass --out FILE."
        )
    items = engine.catalog.items[:: args.every]
    if len(items) < 2:
        raise ShirtsimError(f"{engine.catalog.root}: too few images to fit {fit} ({len(items)}).")
    return engine, items


def cmd_fit_texture_basis(args: argparse.Namespace) -> int:
    import numpy as np  # noqa: PLC0415

    from .texture import SHIPPED_BASIS_FILE, fit_texture_basis, texture_maps  # noqa: PLC0415

    engine, items = _fitting_on(args, "basis is", "a basis")  # no model yet: only the catalog and the weights' name
    out = Path(args.out) if args.out else SHIPPED_BASIS_FILE
    refuse_to_replace(out, args.force, "" if args.out else "the basis shipped for the packaged weights")
    basis = fit_texture_basis(texture_maps([item.path for item in items], engine.embedder))
    buffer = io.BytesIO()
    np.save(buffer, basis, allow_pickle=False)
    write_atomically(out, buffer.getvalue())
    say(f"fitted on {len(items)} images of {engine.catalog.root}; wrote {out}")
    return 0


def cmd_fit_colour_directions(args: argparse.Namespace) -> int:
    from . import colour_blind  # noqa: PLC0415
    from .images import decode_image, read_limited  # noqa: PLC0415

    engine, items = _fitting_on(args, "colour directions are", "colour directions")
    out = Path(args.out) if args.out else colour_blind.SHIPPED_FILE
    refuse_to_replace(out, args.force, "" if args.out else "the directions shipped for the packaged weights")

    decoded = []

    def photos():  # noqa: ANN202 (a generator of PIL images, imported lazily)
        for item in items:
            try:
                yield decode_image(read_limited(item.path), item.path.name)
                decoded.append(item.id)
            except ShirtsimError as e:  # one unreadable photo does not stop the fit
                say(f"note: {item.id}: {e}", err=True)

    sources = [
        colour_blind.hue_variants(photos()),
        colour_blind.drawn_variants(args.drawings),
        colour_blind.drawn_variants(args.drawings, hue=True),
    ]
    directions = colour_blind.fit_colour_directions(engine.embedder, sources)
    colour_blind.save_directions(out, directions, engine.weights)
    say(f"fitted on {len(decoded)} photos of {engine.catalog.root} and {args.drawings} drawn shirts; wrote {out}")
    return 0


def cmd_fit_projection(args: argparse.Namespace) -> int:
    from .descriptors import STYLE_KIND  # noqa: PLC0415
    from .projection import descriptor_id, fit_projection, parse_columns  # noqa: PLC0415
    from .store import catalog_key  # noqa: PLC0415

    engine = _engine(args, index_backend="memory", projection="none")  # fitted on the raw vectors
    root = engine.catalog.root.resolve()
    out = (
        Path(args.out).expanduser()
        if args.out
        else engine.cache_dir / "projections" / f"{root.name[:60]}-{catalog_key(root)[:12]}.npz"
    )
    if out.resolve().is_relative_to(root):
        raise ShirtsimError(f"{out}: inside the catalog folder; the catalog is never written to. Choose another --out.")
    refuse_to_replace(out, args.force)
    labels_path = _labels_path(args, engine)
    ids, raw = engine.raw_vectors(STYLE_KIND, progress=ProgressBar())
    contents = engine.index_with_report(STYLE_KIND)[1].contents
    labels = _read_labels(labels_path, ids)
    columns = parse_columns(args.columns, labels.columns)
    keep = [n for n, i in enumerate(ids) if i in labels.rows]
    values = {c: [labels.rows[ids[n]].get(c, "") for n in keep] for c, _ in columns}
    source = f"{root.name[:60]} ({len(keep)} labelled photos)"
    try:
        projection = fit_projection(
            raw[keep], values, columns, descriptor_id(engine.weights), source, [contents[ids[n]] for n in keep]
        )
    except ValueError as e:
        raise ShirtsimError(f"Cannot fit a projection: {e}.") from None
    projection.save(out)
    say(f"fitted on {len(keep)} labelled photos of {root}: {projection.describe()}")
    say(f"wrote {out}; use it with SHIRTSIM_PROJECTION={out} (or --projection {out})")
    return 0


def cmd_make_demo(args: argparse.Namespace) -> int:
    from .demo import make_demo_catalog  # noqa: PLC0415

    refuse_to_fill(Path(args.dir), args.force)
    rows = make_demo_catalog(args.dir, count=args.count)
    say(f"drew {len(rows)} shirts into {args.dir}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .download import SEED_SHIRTS_URL, download_seed_shirts  # noqa: PLC0415

    refuse_to_fill(Path(args.dir), args.force)
    files = download_seed_shirts(args.dir, args.url or SEED_SHIRTS_URL, timeout=args.timeout, progress=ProgressBar())
    say(f"unpacked {len(files)} files into {args.dir}")
    return 0
