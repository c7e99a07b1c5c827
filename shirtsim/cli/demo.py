"""``make-demo-catalog`` and ``download-seed-shirts``: catalogs to try shirtsim on."""

from __future__ import annotations

import argparse
from pathlib import Path

from shirtsim.cli.args import int_between, seconds
from shirtsim.cli.output import ProgressBar, say
from shirtsim.outputs import refuse_to_fill


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The make-demo-catalog, download-seed-shirts commands."""
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


def cmd_make_demo(args: argparse.Namespace) -> int:
    from shirtsim.catalog.demo import make_demo_catalog  # noqa: PLC0415

    refuse_to_fill(Path(args.dir), args.force)
    rows = make_demo_catalog(args.dir, count=args.count)
    say(f"drew {len(rows)} shirts into {args.dir}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from shirtsim.catalog.download import SEED_SHIRTS_URL, download_seed_shirts  # noqa: PLC0415

    refuse_to_fill(Path(args.dir), args.force)
    files = download_seed_shirts(args.dir, args.url or SEED_SHIRTS_URL, timeout=args.timeout, progress=ProgressBar())
    say(f"unpacked {len(files)} files into {args.dir}")
    return 0
