"""Why a result matched: its score split by part, the colours both pictures show, and where
their textures agree.

- :func:`part_scores`: the score of a (query, result) pair split into one entry per part: the
  cosine of that part exactly as the search computes it (centred, normalised), the mode's
  weight, and their product. The products add up to the score the search reports. Lab and HSV
  are one entry, ``colour``: the weight-averaged cosine of the two histograms, which is what
  ``weigh`` combines from them; the Gram and the periodicity likewise one, ``texture``.
- :func:`palette`: the dominant colours of the garment region and their shares (median-cut
  quantisation of the same crop the colour parts describe).
- :func:`texture_agreement`: for each cell of one picture's ``block4_conv3`` map inside the
  texture box, how much that cell's own texture statistics agree with the other picture's
  texture part; :func:`heat_map` paints it over the picture. Computed on demand, never stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from shirtsim.describe.descriptors import (
    COLOUR_PIXELS,
    TEXTURE_BOX,
    TEXTURE_CHANNELS,
    Layout,
    Mode,
    TextureBasis,
    box_slices,
    rgb_to_lab,
)

# Parts shown as one: both histograms are the colour; the Gram and the periodicity the texture.
GROUPS = {"lab": "colour", "hsv": "colour", "periodicity": "texture"}
MAX_COLOURS = 5
MIN_SHARE = 0.03  # colours covering less of the garment region are left out of a palette
DIM = 0.25  # brightness of a heat map where the textures disagree most
SAME_SHADE = 12.0  # CIE Lab distance under which two quantised colours are one swatch


@dataclass(frozen=True)
class PartScore:
    name: str
    cosine: float
    weight: float

    @property
    def contribution(self) -> float:
        return self.cosine * self.weight


@dataclass(frozen=True)
class Swatch:
    hex: str
    share: float


def part_scores(layout: Layout, mode: Mode, query: np.ndarray, result: np.ndarray) -> list[PartScore]:
    """The score of prepared ``result`` for prepared ``query`` under ``mode``, part by part."""
    grouped: dict[str, list[tuple[float, float]]] = {}
    for name, part, length, weight in zip(layout.names, layout.parts, layout.lengths, mode.part_weights(layout.names)):
        cosine = float(np.dot(query[part].astype(np.float64), result[part].astype(np.float64))) / length**2
        grouped.setdefault(GROUPS.get(name, name), []).append((weight, cosine))
    out = []
    for name, pairs in grouped.items():
        weight = sum(w for w, _ in pairs)
        cosine = sum(w * c for w, c in pairs) / weight if weight else float(np.mean([c for _, c in pairs]))
        out.append(PartScore(name, cosine, weight))
    return out


def side_contributions(parts: list[PartScore]) -> dict[str, float]:
    """The score split in two: the texture side (texture and its learned part) and the colour
    side (the histograms and their learned part); ``seed`` counts as texture."""
    sides = {"texture": 0.0, "colour": 0.0}
    for p in parts:
        sides["colour" if p.name in ("colour", "colour_learned") else "texture"] += p.contribution
    return sides


def palette(picture: Image.Image, max_colours: int = MAX_COLOURS) -> list[Swatch]:
    """The dominant colours of the garment region, largest share first: a median-cut
    quantisation to 8 colours, shades closer than :data:`SAME_SHADE` (CIE Lab distance) merged."""
    pixels = np.asarray(picture.convert("RGB"))
    rows, cols = box_slices(*pixels.shape[:2])
    crop = Image.fromarray(np.ascontiguousarray(pixels[rows, cols])).resize(COLOUR_PIXELS, Image.BILINEAR)
    quantised = crop.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    table = np.array(quantised.getpalette() or [], np.float64).reshape(-1, 3)
    found = sorted(quantised.getcolors() or [], key=lambda c: (-c[0], c[1]))
    groups: list[tuple[float, np.ndarray, np.ndarray]] = []  # (pixels, summed rgb, lab of the first)
    for count, index in found:
        rgb = table[index]
        lab = rgb_to_lab(rgb.astype(np.uint8)[None])[0]
        for n, (total, summed, first_lab) in enumerate(groups):
            if np.linalg.norm(lab - first_lab) < SAME_SHADE:
                groups[n] = (total + count, summed + count * rgb, first_lab)
                break
        else:
            groups.append((count, count * rgb, lab))
    area = COLOUR_PIXELS[0] * COLOUR_PIXELS[1]
    swatches = [
        Swatch("#{:02x}{:02x}{:02x}".format(*np.rint(summed / total).astype(int)), round(total / area, 3))
        for total, summed, _ in sorted(groups, key=lambda g: -g[0])
    ]
    return [s for s in swatches if s.share >= MIN_SHARE][:max_colours]


def texture_agreement(feature_map: np.ndarray, other_texture: np.ndarray, basis: TextureBasis) -> np.ndarray:
    """(rows, cols) in [0, 1] over the texture box of one ``block4_conv3`` map (28, 28, 512): how
    well each cell's texture statistics agree with ``other_texture`` (the other picture's texture
    part, centred on the catalog). 1 is the best-agreeing cell of this picture, 0 the worst."""
    rows, cols = box_slices(*feature_map.shape[:2], box=TEXTURE_BOX)
    cells = np.sqrt(np.maximum(np.asarray(feature_map[rows, cols], np.float32), 0.0))
    shape = cells.shape[:2]
    projected = (cells.reshape(-1, cells.shape[-1]) - basis.mean) @ basis.components.T
    upper_rows, upper_cols = np.triu_indices(TEXTURE_CHANNELS)
    per_cell = projected[:, upper_rows] * projected[:, upper_cols]  # each cell's share of the Gram
    per_cell = np.sign(per_cell) * np.sqrt(np.abs(per_cell))
    per_cell -= per_cell.mean(axis=0)  # what every cell of this picture shares says nothing
    norms = np.linalg.norm(per_cell, axis=1) * max(float(np.linalg.norm(other_texture)), 1e-12)
    agreement = per_cell @ other_texture / np.maximum(norms, 1e-12)
    spread = float(agreement.max() - agreement.min())
    scaled = (agreement - agreement.min()) / spread if spread > 0 else np.zeros_like(agreement)
    return scaled.reshape(shape).astype(np.float32)


def heat_map(picture: Image.Image, agreement: np.ndarray, size: int = 512) -> bytes:
    """``picture`` (the model's 224x224 input) lit where its texture agrees with the other one's:
    full brightness at the best-agreeing cells, dimmed where they disagree and outside the texture
    box (which the texture part never sees). Any shirt colour stays readable. A JPEG."""
    base = np.asarray(picture.convert("RGB").resize((size, size), Image.BILINEAR), np.float32)
    rows, cols = box_slices(size, size, box=TEXTURE_BOX)
    cells = Image.fromarray((agreement * 255).astype(np.uint8)).resize(
        (cols.stop - cols.start, rows.stop - rows.start), Image.BILINEAR
    )
    light = np.full((size, size), DIM, np.float32)
    light[rows, cols] = DIM + (1 - DIM) * np.asarray(cells, np.float32) / 255
    out = io.BytesIO()
    Image.fromarray((base * light[..., None]).clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def swatch_strip(swatches: list[Swatch], width: int = 320, height: int = 40) -> bytes:
    """The swatches as one PNG strip, each as wide as its share (a grey strip when there are none)."""
    strip = Image.new("RGB", (width, height), (236, 236, 236))
    total = sum(s.share for s in swatches) or 1.0
    x = 0.0
    for swatch in swatches:
        step = width * swatch.share / total
        strip.paste(tuple(int(swatch.hex[i : i + 2], 16) for i in (1, 3, 5)), (round(x), 0, round(x + step), height))
        x += step
    out = io.BytesIO()
    strip.save(out, "PNG")
    return out.getvalue()
