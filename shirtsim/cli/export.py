"""``export``: every product's similar list for a store's product pages (docs/feed.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from shirtsim.cli.args import catalog_opts, engine_for, int_between
from shirtsim.cli.output import ProgressBar, say
from shirtsim.cli.rules import curation_from, rule_opts, rules_from
from shirtsim.engine import MAX_K
from shirtsim.errors import ShirtsimError
from shirtsim.outputs import refuse_to_replace


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("export", help="every product's similar list, as JSON lines or CSV, under rules and curation")
    catalog_opts(sp)
    sp.add_argument("-k", type=int_between(1, MAX_K), default=10, help=f"list length, 1 to {MAX_K} (default 10)")
    sp.add_argument("--mode", default=None, help="balanced (default), pattern, colour or seed")
    sp.add_argument("--format", choices=("jsonl", "csv"), help="default: csv for an --out ending in .csv, else jsonl")
    sp.add_argument("--out", metavar="FILE", help="write here (atomically) instead of to stdout")
    sp.add_argument("--force", action="store_true", help="replace an existing --out file")
    rule_opts(sp)
    sp.add_argument("--diff", metavar="OLD", help="say how many lists changed since this earlier export")
    sp.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from shirtsim.engine import get_mode  # noqa: PLC0415
    from shirtsim.feed.export import export, read_export  # noqa: PLC0415

    mode = get_mode(args.mode)
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.is_dir():
            raise ShirtsimError(f"--out {args.out}: a folder, not a file.")
        refuse_to_replace(out, args.force)
    fmt = args.format or ("csv" if out is not None and out.suffix.lower() == ".csv" else "jsonl")
    old = read_export(Path(args.diff)) if args.diff else None
    engine = engine_for(args)
    rules = rules_from(args, engine)
    progress = ProgressBar()
    index = engine.index(mode.kind, progress=progress)
    curation = curation_from(args, engine, index)
    summary = export(engine.list_maker(mode, args.k, rules, curation), fmt, out, progress, old)
    where = f"to {out}" if out is not None else "to stdout"
    say(f"exported {summary.products:,} lists of up to {args.k} ({mode.name}) {where}", err=True)
    if summary.short:
        why = f"the rules ({rules.describe()})" if rules else "the catalog or the blocks"
        say(f"note: {summary.short:,} lists are shorter than {args.k}: {why} leave fewer shirts.", err=True)
    if old is not None:
        say(
            f"since {args.diff}: {summary.changed:,} lists changed; "
            f"{summary.added:,} pairs added, {summary.removed:,} removed",
            err=True,
        )
    return 0
