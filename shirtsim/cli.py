"""Command line: ``python -m shirtsim COMMAND`` (or ``shirtsim COMMAND`` once installed); ``--help`` lists them.

Errors are translated here, at the edge: one line on stderr and exit status 2 for bad input,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import ShirtsimError

if TYPE_CHECKING:  # the engine imports numpy and more: loaded only by the commands that use it
    from .engine import Engine

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


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ShirtsimError as e:
        print(f"shirtsim: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("shirtsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shirtsim", description="Find visually similar shirts.")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    def catalog_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--catalog", metavar="DIR", help="folder of images (default: $SHIRTSIM_CATALOG or the demo)")
        sp.add_argument(
            "--weights", metavar="W", help="auto, imagenet, packaged or a file (default: $SHIRTSIM_WEIGHTS)"
        )

    sp = sub.add_parser("index", help="build or update the embedding cache for a catalog")
    catalog_opts(sp)
    sp.add_argument("--mode", default=None, help="similarity mode whose vectors to build (default: balanced)")
    sp.set_defaults(run=cmd_index)

    sp = sub.add_parser("similar", help="the shirts most like a catalog id or an image file")
    sp.add_argument("query", help="a catalog id, or the path of an image file")
    catalog_opts(sp)
    sp.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    sp.add_argument("--mode", default=None, help="balanced (default), pattern, colour or seed")
    sp.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="only shirts with this label (labels.csv); repeat for more values or columns",
    )
    sp.add_argument("--json", action="store_true", help="print a JSON list of {id, score}")
    sp.set_defaults(run=cmd_similar)

    sp = sub.add_parser("evaluate", help="precision@k of same-label results over a labelled catalog")
    catalog_opts(sp)
    sp.add_argument("--labels", metavar="CSV", help="labels file (default: the catalog's labels.csv)")
    sp.add_argument("--columns", help="comma-separated label columns (default: all but id and name)")
    sp.add_argument("-k", type=int, default=10)
    sp.add_argument("--mode", default=None)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(run=cmd_evaluate)

    sp = sub.add_parser("fit-texture-basis", help="refit the style texture basis (PCA, no labels) on a catalog")
    catalog_opts(sp)
    sp.add_argument("--every", type=int, default=2, help="use every Nth image in id order (default 2: half)")
    sp.add_argument(
        "--out",
        metavar="FILE",
        help="write it here instead of over the basis shipped for the packaged weights "
        "(to compare: other weights always use a basis fitted on the demo catalog)",
    )
    sp.set_defaults(run=cmd_fit_texture_basis)

    sp = sub.add_parser("make-demo-catalog", help="draw the procedural demo catalog into DIR")
    sp.add_argument("dir")
    sp.add_argument("--count", type=int, default=200)
    sp.set_defaults(run=cmd_make_demo)

    sp = sub.add_parser("download-seed-shirts", help="fetch the seed notebook's shirts into DIR")
    sp.add_argument("dir")
    sp.add_argument("--url", default=None, help=argparse.SUPPRESS)
    sp.add_argument("--timeout", type=float, default=10.0)
    sp.set_defaults(run=cmd_download)

    from .bench import add_parser as add_bench  # noqa: PLC0415

    add_bench(sub)
    return p


def _engine(args: argparse.Namespace, index_backend: str | None = None) -> Engine:
    from .engine import Engine  # noqa: PLC0415
    from .weights import resolve_weights  # noqa: PLC0415

    engine = Engine(args.catalog, weights=resolve_weights(args.weights), index_backend=index_backend)
    if engine.weights.note:
        print(f"note: {engine.weights.note}", file=sys.stderr)
    return engine


def cmd_index(args: argparse.Namespace) -> int:
    from .engine import get_mode  # noqa: PLC0415

    mode = get_mode(args.mode)
    engine = _engine(args)
    _, report = engine.index_with_report(mode.kind, progress=ProgressBar())
    print(f"catalog {engine.catalog.root}: {len(engine.catalog)} image files; {report.summary()}")
    if report.backend:
        print(f"  {report.backend}")
    for s in report.skipped:
        print(f"  skipped {s.name}: {s.reason}")
    for problem in report.problems + engine.label_problems:
        print(f"  {problem}")
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from .engine import get_mode  # noqa: PLC0415
    from .errors import BadImageError, UnknownShirtError  # noqa: PLC0415
    from .images import read_limited  # noqa: PLC0415

    mode = get_mode(args.mode)
    if args.k < 1:
        raise ShirtsimError("-k must be at least 1.")
    engine = _engine(args)
    filters = _filters(args.filter, engine)
    index = engine.index(mode.kind, progress=ProgressBar())
    if args.query in index:
        matches = engine.similar_to_id(args.query, mode, args.k, filters)
    else:
        path = Path(args.query)
        if path.is_file():
            matches = engine.similar_to_image_bytes(read_limited(path), path.name, mode, args.k, filters)
        elif path.exists():
            raise BadImageError(f"{args.query}: not a file.")
        else:
            raise UnknownShirtError(f"{args.query[:80]!r} is neither a catalog id nor an image file.")
    if args.json:
        print(json.dumps([{"id": m.id, "score": round(m.score, 6)} for m in matches]))
    else:
        for rank, m in enumerate(matches, 1):
            print(f"{rank:3d}  {m.id:<24} {m.score:.4f}")
    return 0


def _filters(pairs: list[str], engine: Engine) -> dict[str, list[str]] | None:
    """``["colour=red", "colour=blue"]`` -> ``{"colour": ["red", "blue"]}``, columns checked against labels.csv."""
    if not pairs:
        return None
    columns = engine.labels.columns if engine.labels else []
    out: dict[str, list[str]] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep:
            raise ShirtsimError(f"--filter {pair[:60]!r}: write COLUMN=VALUE.")
        if column not in columns:
            raise ShirtsimError(
                f"--filter: no label column {column[:60]!r}"
                + (f"; labels.csv has {', '.join(columns)}." if columns else " (the catalog has no labels.csv).")
            )
        out.setdefault(column, []).append(value)
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .catalog import load_labels  # noqa: PLC0415
    from .engine import get_mode  # noqa: PLC0415
    from .evaluate import evaluate  # noqa: PLC0415

    mode = get_mode(args.mode)
    # Ranking every shirt against all others needs the vectors in hand: always the in-memory
    # index, whose results a Milvus backend reproduces (tests/test_milvus.py).
    engine = _engine(args, index_backend="memory")
    labels_path = Path(args.labels) if args.labels else engine.catalog.root / "labels.csv"
    if not labels_path.is_file():
        raise ShirtsimError(f"No labels file: {labels_path} (pass --labels CSV).")
    index = engine.index(mode.kind, progress=ProgressBar())
    labels = load_labels(labels_path, set(index.ids))
    columns = args.columns.split(",") if args.columns else [c for c in labels.columns if c not in ("id", "name")]
    unknown = [c for c in columns if c not in labels.columns]
    if unknown:
        raise ShirtsimError(f"{labels_path.name} has no column {unknown[0]!r}; it has {', '.join(labels.columns)}.")
    try:
        quality = evaluate(index, labels, mode, columns, k=args.k)
    except ValueError as e:
        raise ShirtsimError(str(e)) from None
    if args.json:
        print(json.dumps(quality.as_json()))
    else:
        print(f"precision@{quality.k}, mode {quality.mode}, {quality.n} labelled shirts")
        for col in columns:
            if col in quality.precision:
                print(f"  {col:<14} {quality.precision[col]:.3f}   (chance {quality.chance[col]:.3f})")
        print(f"  {'mean':<14} {quality.precision['mean']:.3f}")
    return 0


def cmd_fit_texture_basis(args: argparse.Namespace) -> int:
    import numpy as np  # noqa: PLC0415

    from .texture import SHIPPED_BASIS_FILE, SHIPPED_BASIS_WEIGHTS, fit_texture_basis, texture_maps  # noqa: PLC0415

    if args.every < 1:
        raise ShirtsimError("--every must be at least 1.")
    engine = _engine(args, index_backend="memory")
    if not args.out and engine.weights.fingerprint != SHIPPED_BASIS_WEIGHTS:
        raise ShirtsimError(
            f"The shipped basis is for the packaged weights, not {engine.weights.label}: pass --out FILE."
        )
    items = engine.catalog.items[:: args.every]
    if len(items) < 2:
        raise ShirtsimError(f"{engine.catalog.root}: too few images to fit a basis ({len(items)}).")
    basis = fit_texture_basis(texture_maps([item.path for item in items], engine.embedder))
    out = Path(args.out) if args.out else SHIPPED_BASIS_FILE
    with open(out, "wb") as f:
        np.save(f, basis, allow_pickle=False)
    print(f"fitted on {len(items)} images of {engine.catalog.root}; wrote {out}")
    return 0


def cmd_make_demo(args: argparse.Namespace) -> int:
    from .demo import make_demo_catalog  # noqa: PLC0415

    rows = make_demo_catalog(args.dir, count=args.count)
    print(f"drew {len(rows)} shirts into {args.dir}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .download import SEED_SHIRTS_URL, download_seed_shirts  # noqa: PLC0415

    files = download_seed_shirts(args.dir, args.url or SEED_SHIRTS_URL, timeout=args.timeout, progress=ProgressBar())
    print(f"unpacked {len(files)} files into {args.dir}")
    return 0
