"""The mass-removal guard: a catalog folder that is suddenly empty or nearly so (a network share
that is not mounted, a wrong path) must not wipe the index.

A sync that would remove more than ``SHIRTSIM_REMOVAL_LIMIT`` percent of the indexed shirts (default
20) *and* more than :data:`ALWAYS_ALLOWED` shirts is refused with :class:`RemovalRefused` until a
person confirms (``--allow-removals`` in the CLI, a button on the page). Small catalogs are never
blocked: removing 3 of 5 shirts is an edit, not an accident.
"""

from __future__ import annotations

from shirtsim.errors import RemovalRefused, ShirtsimError
from shirtsim.settings import REMOVAL_LIMIT

ALWAYS_ALLOWED = 10  # removing this many shirts or fewer is never refused


def limit_percent() -> float:
    """``$SHIRTSIM_REMOVAL_LIMIT`` as a percentage from 0 to 100 (default 20)."""
    text = REMOVAL_LIMIT.get().rstrip("%").strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 100.0:
        raise ShirtsimError(f"SHIRTSIM_REMOVAL_LIMIT={REMOVAL_LIMIT.get()[:20]!r}: use a percentage from 0 to 100.")
    return value


def refused(removed: int, indexed: int) -> bool:
    """Would removing ``removed`` of ``indexed`` shirts need a person's confirmation?"""
    return removed > ALWAYS_ALLOWED and removed > indexed * limit_percent() / 100.0


def check_removals(removed: int, indexed: int, where: str, allow: bool = False) -> None:
    """Raise :class:`RemovalRefused` when removing ``removed`` of ``indexed`` shirts needs a
    confirmation that ``allow`` does not give."""
    if not allow and refused(removed, indexed):
        raise RemovalRefused(removed, indexed, limit_percent(), where)
