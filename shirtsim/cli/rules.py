"""The rules' and the curation's flags, shared by ``similar`` and ``export`` (same flags, same lists)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from shirtsim.cli.output import say
from shirtsim.errors import ShirtsimError

if TYPE_CHECKING:
    from shirtsim.engine import Engine
    from shirtsim.feed.curation import Curation
    from shirtsim.feed.rules import Rules
    from shirtsim.index.search import VectorIndex


def rule_opts(sp: argparse.ArgumentParser) -> None:
    """--filter, --same, --one-per, --near and --curation (docs/feed.md)."""
    sp.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="only shirts with this label (labels.csv); repeat for more values or columns",
    )
    sp.add_argument(
        "--same", action="append", default=[], metavar="COLUMN", help="only shirts with the query's value in COLUMN"
    )
    sp.add_argument(
        "--one-per",
        action="append",
        default=[],
        metavar="COLUMN",
        help="at most one shirt per value of COLUMN, none with the query's (the variants of one product)",
    )
    sp.add_argument(
        "--near",
        action="append",
        default=[],
        metavar="COLUMN=PCT",
        help="only shirts whose number in COLUMN (a price) is within PCT percent of the query's",
    )
    sp.add_argument(
        "--curation",
        metavar="FILE",
        help="pins and blocks (query_id,action,target_id,position); default $SHIRTSIM_CURATION or the data folder's",
    )


def rules_from(args: argparse.Namespace, engine: Engine) -> Rules | None:
    """The rules the flags ask for (None: none), their columns checked against labels.csv."""
    from shirtsim.feed.rules import parse_rules  # noqa: PLC0415

    rules = parse_rules(args.filter, args.same, args.one_per, args.near)
    if not rules:
        return None
    rules.check(engine.labels)
    return rules


def curation_from(args: argparse.Namespace, engine: Engine, index: VectorIndex) -> Curation:
    """``--curation FILE`` (which must exist), else the default file when there is one; its
    problems are said on stderr and the rest is used."""
    from shirtsim.feed.curation import default_curation_path, load_curation  # noqa: PLC0415

    path = Path(args.curation) if args.curation else default_curation_path(engine.catalog.root)
    if args.curation and not path.is_file():
        raise ShirtsimError(f"--curation {args.curation}: no such file.")
    curation = load_curation(path, set(index.ids))
    for problem in curation.problems:
        say(f"note: {problem}", err=True)
    return curation


def note_short(found: int, k: int, rules: Rules | None, curation: Curation) -> None:
    """Say on stderr why a list has fewer than ``k`` shirts (it is never padded): ``k`` here is
    what the catalog could give without the rules and the blocks."""
    if found >= k:
        return
    why = f"the rules ({rules.describe()})" if rules else "the catalog"
    if curation.blocks:
        why += " and the blocks"
    if found == 0:
        say(f"note: no shirt passes {why}: the list is empty.", err=True)
    else:
        say(f"note: {found} of {k}: {why} leave no more.", err=True)
