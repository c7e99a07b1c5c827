"""Command line: ``python -m shirtsim COMMAND`` (or ``shirtsim COMMAND`` once installed); ``--help`` lists them.

Errors are translated here, at the edge: one line on stderr and exit status 2 for bad input,
never a traceback.
"""

from __future__ import annotations

import argparse

from shirtsim.cli import app, bench, demo, export, fit, overview, search
from shirtsim.cli.args import OneLineParser
from shirtsim.cli.output import EXIT_BAD_INPUT, os_error_line, say
from shirtsim.errors import RemovalRefused, ShirtsimError


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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


def parser() -> argparse.ArgumentParser:
    """``shirtsim``'s argument parser: each command module adds its own commands."""
    p = OneLineParser(prog="shirtsim", description="Find visually similar shirts.")
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    for commands in (search, export, overview, fit, demo, app, bench):
        commands.add_parsers(sub)
    return p
