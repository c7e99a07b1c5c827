"""``shirtsim app [--port N]``: the web page from an installed shirtsim, in any folder.

It runs ``python -m streamlit run`` on the package's router (``shirtsim/web/app.py``) with the
settings of ``shirtsim/web/config.toml`` (the same as a checkout's ``.streamlit/config.toml``),
so streamlit itself is imported only by the web page's process, never by the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

from shirtsim.cli.args import int_between

WEB = Path(__file__).resolve().parent.parent / "web"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The app command."""
    sp = sub.add_parser("app", help="serve the web page (Streamlit) on this machine")
    sp.add_argument("--port", type=int_between(1, 65535), default=8501, help="port to serve on (default 8501)")
    sp.add_argument(
        "--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every one)"
    )
    sp.set_defaults(run=cmd_app)


def streamlit_command(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line: the router and every packaged setting as a flag."""
    config = tomllib.loads((WEB / "config.toml").read_text(encoding="utf-8"))
    flags = [f"--{section}.{key}={_flag(value)}" for section, values in config.items() for key, value in values.items()]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(WEB / "app.py"),
        *flags,
        f"--server.port={port}",
        f"--server.address={address}",
    ]


def _flag(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def cmd_app(args: argparse.Namespace) -> int:
    """Becomes the Streamlit server (exec, not a child): Ctrl-C and a service manager's SIGTERM
    reach the server itself, and nothing is left running."""
    command = streamlit_command(args.port, args.address)
    print(f"shirtsim: serving on http://{args.address}:{args.port} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os.execv(command[0], command)
    return 0  # not reached
