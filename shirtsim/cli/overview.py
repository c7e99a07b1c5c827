"""``evaluate`` and ``duplicates``: the whole catalog at a glance, from the command line."""

from __future__ import annotations

import argparse

from shirtsim.cli.args import (
    catalog_opts,
    engine_for,
    int_between,
    labels_path,
    read_labels,
    score_between_0_and_1,
)
from shirtsim.cli.output import ProgressBar, say, to_json
from shirtsim.engine import MAX_K
from shirtsim.errors import ShirtsimError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The evaluate, duplicates commands."""
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
        help="lowest duplicate score (0-1, the detail correlation of shirtsim.overview.duplicates; "
        "default 0.92, chosen in benchmarks/duplicates.py)",
    )
    sp.add_argument("--json", action="store_true", help='print [{"ids": [...], "score": s}, ...], best first')
    sp.set_defaults(run=cmd_duplicates)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from shirtsim.engine import get_mode  # noqa: PLC0415
    from shirtsim.overview.evaluate import evaluate  # noqa: PLC0415

    mode = get_mode(args.mode)
    # Ranking every shirt against all others needs the vectors in hand: always the in-memory
    # index, whose results a Milvus backend reproduces (tests/test_milvus.py).
    engine = engine_for(args, index_backend="memory")
    labels_file = labels_path(args, engine)
    index = engine.index(mode.kind, progress=ProgressBar())
    labels = read_labels(labels_file, index.ids)
    columns = args.columns.split(",") if args.columns else [c for c in labels.columns if c not in ("id", "name")]
    unknown = [c for c in columns if c not in labels.columns]
    if unknown:
        raise ShirtsimError(f"{labels_file.name} has no column {unknown[0]!r}; it has {', '.join(labels.columns)}.")
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
    """Needs no model: the prints are made from the pictures alone (shirtsim.overview.duplicates)."""
    from shirtsim.catalog.folder import discover  # noqa: PLC0415
    from shirtsim.engine import default_catalog_dir  # noqa: PLC0415
    from shirtsim.overview.duplicates import DEFAULT_THRESHOLD, scan_catalog  # noqa: PLC0415
    from shirtsim.store import default_cache_dir  # noqa: PLC0415

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
