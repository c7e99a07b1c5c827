"""Where the files that ship with shirtsim are: the demo catalog and its vectors.

In a checkout they are ``assets/demo-catalog`` and ``assets/demo-vectors`` beside the package,
the one committed copy. A built wheel carries them as package data under ``shirtsim/assets/``
(``pyproject.toml`` maps that package folder onto the top-level ``assets/`` when it builds), so an
installed shirtsim finds them there, whatever the working directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the shirtsim folder


def asset(name: str) -> Path:
    """``assets/<name>`` of this installation: inside the package (a wheel) or beside it (a checkout)."""
    packaged = PACKAGE / "assets" / name
    return packaged if packaged.exists() else PACKAGE.parent / "assets" / name


DEMO_CATALOG = asset("demo-catalog")
DEMO_VECTORS = asset("demo-vectors")
