"""``index``, ``similar`` and ``explain``: build a catalog's index, ask it, and ask why."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from shirtsim.cli.args import box, catalog_opts, engine_for, int_between
from shirtsim.cli.output import EXIT_BAD_INPUT, ProgressBar, say, to_json
from shirtsim.cli.rules import curation_from, note_short, rule_opts, rules_from
from shirtsim.engine import MAX_K
from shirtsim.errors import ShirtsimError

if TYPE_CHECKING:
    from shirtsim.describe.descriptors import Mode
    from shirtsim.engine import Engine, Query
    from shirtsim.index.build import IndexReport


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The index, similar, explain commands."""
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
    rule_opts(sp)
    sp.add_argument("--json", action="store_true", help="print a JSON list of {id, score, pinned}")
    sp.set_defaults(run=cmd_similar)

    sp = sub.add_parser("explain", help="why RESULT matches QUERY: the score part by part, and both palettes")
    sp.add_argument("query", help="a catalog id, or the path of an image file")
    sp.add_argument("result", help="a catalog id")
    catalog_opts(sp)
    sp.add_argument("--mode", default=None, help="balanced (default), pattern, colour or seed")
    sp.add_argument("--json", action="store_true", help="print the explanation as JSON")
    sp.set_defaults(run=cmd_explain)


def cmd_index(args: argparse.Namespace) -> int:
    """Its job is to write the cache: a write that fails (a full disk) is an error here, and a
    mass removal is refused until ``--allow-removals`` confirms it."""
    from shirtsim.engine import get_mode  # noqa: PLC0415
    from shirtsim.store import writes_required  # noqa: PLC0415

    mode = get_mode(args.mode)
    engine = engine_for(args)
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
    from shirtsim.engine import Steering, get_mode  # noqa: PLC0415

    mode = get_mode(args.mode)
    if args.query is None and not args.like:
        raise ShirtsimError("Give a QUERY, or --like ID.")
    if args.colour is not None and args.colour_of is not None:
        raise ShirtsimError("Give --colour or --colour-of, not both.")
    engine = engine_for(args)
    rules = rules_from(args, engine)
    index, report = engine.index_with_report(mode.kind, progress=ProgressBar())
    _notes(engine, report)
    curation = curation_from(args, engine, index)
    crop = "auto" if args.auto_box else args.box
    if crop is not None and (args.query is None or args.query in index):
        raise ShirtsimError("--box and --auto-box cut a photo: give an image file as QUERY, not a catalog id.")
    query = _query(args.query, engine, mode, crop) if args.query is not None else None
    if args.like or args.unlike or args.colour is not None or args.colour_of is not None:
        like = ([query] if query is not None else []) + [engine.check_id(i, index) for i in args.like]
        unlike = tuple(engine.check_id(i, index) for i in args.unlike)
        steering = Steering(tuple(like), unlike, args.colour, args.colour_of)
        matches = engine.steered(mode, steering, args.k, rules=rules, curation=curation)
        _note_a_far_colour(engine, args.colour)
    elif isinstance(query, str):
        matches = engine.similar_to_id(query, mode, args.k, rules=rules, curation=curation)
    else:
        matches = engine.similar_to_vector(query.vector, mode, args.k, rules=rules, curation=curation)
    left_out = {query} if isinstance(query, str) else set()  # the query itself and marked shirts
    if rules or curation.blocks:
        left_out |= set(args.like) | set(args.unlike)
        note_short(len(matches), min(args.k, len(index) - len(left_out)), rules, curation)
    if args.json:
        print(to_json([m.as_json() for m in matches]))
    else:
        for rank, m in enumerate(matches, 1):
            say(f"{rank:3d}  {m.id:<24} {m.score:.4f}{'  pinned' if m.pinned else ''}")
    return 0


def _note_a_far_colour(engine: Engine, colour: str | None) -> None:
    from shirtsim.describe.steer import FAR_COLOUR  # noqa: PLC0415

    if colour is not None and (nearest := engine.nearest_in_colour(colour)) < FAR_COLOUR:
        say(
            f"note: no shirt in this catalog comes near {colour.strip()} (the nearest colours match {nearest:.2f}): "
            "the results follow the pattern more than the colour.",
            err=True,
        )


def _query(text: str, engine: Engine, mode: Mode, crop: tuple | str | None = None) -> Query:
    """A catalog id, else an image file read as an upload (cut by ``crop``: Engine.read_upload)."""
    from shirtsim.catalog.images import read_limited  # noqa: PLC0415
    from shirtsim.errors import BadImageError, UnknownShirtError  # noqa: PLC0415

    if text in engine.index(mode.kind):
        return text
    path = Path(text)
    if path.is_file():
        return engine.read_upload(read_limited(path), path.name, mode.kind, crop)
    if path.exists():
        raise BadImageError(f"{text}: not a file.")
    raise UnknownShirtError(f"{text[:80]!r} is neither a catalog id nor an image file.")


def cmd_explain(args: argparse.Namespace) -> int:
    from shirtsim.engine import get_mode  # noqa: PLC0415

    mode = get_mode(args.mode)
    engine = engine_for(args)
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
