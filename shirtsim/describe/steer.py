"""Steering a query: like / unlike results, and "this pattern in that colour".

Both work on prepared vectors (centred, each part at its layout length), so they serve the
in-memory index and Milvus alike: the result is one query vector, ranked by the mode's weights
in one search.

- :func:`combine`: several liked (and unliked) shirts become one query, Qdrant's average-vector
  rule ``2 x mean(liked) - mean(unliked)`` (``mean(liked)`` alone without unliked shirts), part
  by part, each part then brought back to its length so the scores stay cosines.
- :func:`with_colour_of`: the texture side of one query (``texture``, ``texture_learned``) with
  the colour side (``lab``, ``hsv``, ``colour_learned``) of another vector: another shirt's, or
  a colour's (:func:`colour_swatch`). The query's texture part is made colour-blind first
  (:mod:`shirtsim.describe.colour_blind`), so its own colours stop pulling towards shirts of its colour.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

import numpy as np

from shirtsim.describe.descriptors import COLOUR_START, STYLE_KIND, Layout, Mode, colour_histograms
from shirtsim.errors import ShirtsimError

COLOUR_SIDE = ("lab", "hsv", "colour_learned")
# (texture side's share, learned part's share of it, learned part's share of the colour side) when
# the colour is asked for. The learned colour part knows real photos' colour names, not a colour.
RECOLOURED = (0.5, 0.15, 0.0)
SWATCH_SPREAD = 10.0  # standard deviation, in RGB levels, of a colour swatch's pixels
# Below this colour-side cosine no catalog shirt comes near the colour asked for, and the results
# follow the pattern. Measured on the demo catalog: each of its 16 colours has a shirt at 0.54 or
# more; a pure magenta or green, which no demo shirt has, reaches 0.13.
FAR_COLOUR = 0.3
COLOUR_ONLY = Mode("colour alone", STYLE_KIND, 0.0, "only the colour parts", (0.0, 0.0, 0.0))
HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def combine(layout: Layout, liked: list[np.ndarray], unliked: list[np.ndarray]) -> np.ndarray:
    """One prepared query from prepared liked and unliked vectors (at least one liked)."""
    if not liked:
        raise ShirtsimError("Like at least one shirt to steer by.")
    query = np.mean(np.stack(liked).astype(np.float64), axis=0)
    if unliked:
        query = 2 * query - np.mean(np.stack(unliked).astype(np.float64), axis=0)
    return renormalise(layout, query)


def with_colour_of(
    layout: Layout, query: np.ndarray, colour: np.ndarray, colour_directions: np.ndarray | None = None
) -> np.ndarray:
    """``query`` with its colour side replaced by ``colour``'s (both prepared) and its texture
    part without ``colour_directions`` (:func:`shirtsim.describe.colour_blind.remove_colour`)."""
    out = np.array(query, np.float32, copy=True)
    for name, part in zip(layout.names, layout.parts):
        if name in COLOUR_SIDE:
            out[part] = colour[part]
        elif name == "texture" and colour_directions is not None:
            out[part] = remove_colour(out[part], colour_directions)
    return out


def remove_colour(texture: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``texture`` (a prepared texture part) without its components along ``directions``
    (orthonormal rows: :mod:`shirtsim.describe.colour_blind`), at its own length again; zeros when
    nothing is left (a texture made only of colour has no pattern to keep)."""
    texture = np.asarray(texture, np.float64)
    kept = texture - directions.T @ (directions @ texture)
    length, norm = float(np.linalg.norm(texture)), float(np.linalg.norm(kept))
    if norm <= 1e-9 * length or norm == 0.0:
        return np.zeros_like(texture, np.float32)
    return (kept * (length / norm)).astype(np.float32)


def recoloured(mode: Mode) -> Mode:
    """The weights for a query whose colour side comes from elsewhere, whatever ``mode`` was: one
    setting for every query, chosen with ``python benchmarks/steering.py`` (docs/quality.md)."""
    share, learned_texture, learned_colour = RECOLOURED
    return replace(
        mode, name=f"{mode.name}, recoloured", texture_weight=share, learned=(share, learned_texture, learned_colour)
    )


def renormalise(layout: Layout, vector: np.ndarray) -> np.ndarray:
    out = np.array(vector, np.float32, copy=True)
    for part, length in zip(layout.parts, layout.lengths):
        norm = float(np.linalg.norm(out[part]))
        out[part] *= length / norm if norm > 1e-12 else 0.0
    return out


def parse_hex(text: str) -> tuple[int, int, int]:
    """``#1f3a93`` (or ``1f3a93``) as (r, g, b); ShirtsimError for anything else."""
    match = HEX.fullmatch(text.strip())
    if not match:
        raise ShirtsimError(f"--colour {text[:40]!r}: write a colour as #rrggbb, for example '#1f3a93'.")
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def colour_swatch(rgb: tuple[int, int, int]) -> np.ndarray:
    """A raw ``style`` descriptor whose colour parts are those of a shirt of colour ``rgb`` in a
    product photo: that colour on a white background, as the garment box of a photo sees it
    (its texture side is zero: only the colour side of it is ever used). The colour is spread by
    :data:`SWATCH_SPREAD` (fixed noise, so the same colour gives the same swatch): no photo shows
    a garment as one flat value, and a flat one only meets shirts whose colours fall in its very
    bins (measured better than a flat swatch: docs/quality.md)."""
    raw = np.zeros(STYLE_KIND.dim, np.float32)
    raw[COLOUR_START:] = _swatch_histograms(tuple(int(v) for v in rgb))
    return raw


@functools.lru_cache(maxsize=64)
def _swatch_histograms(rgb: tuple[int, int, int]) -> np.ndarray:
    """Kept per colour: a colour asked for is ranked and checked (how near the catalog comes) on
    every rerun of the page, with the same noise each time."""
    noise = np.random.default_rng(0).normal(0.0, SWATCH_SPREAD, (170, 140, 3))
    picture = np.full((224, 224, 3), 255, np.uint8)
    picture[34:204, 42:182] = np.clip(np.asarray(rgb, np.float64) + noise, 0, 255).astype(np.uint8)
    histograms = colour_histograms(picture)
    histograms.flags.writeable = False  # shared by every caller
    return histograms
