"""The garment in a photo from outside: a proposed box, and the background inside it made white.

Catalog photos are studio shots on white; a phone photo shows a shirt on a bed, a person in a
room. Cropping to the shirt is not enough: the background left inside the box is not white,
while every catalog photo's is, and the colour and texture parts count it. So a cut-out is:

1. the box (fractions of the upright picture: x0, y0, x1, y1), proposed by :func:`propose_box`
   or given by the user;
2. inside it, the background made white: the pixels close to one of the colours along the box's
   edge and joined to that edge (a flood fill, so a shirt of the wall's colour in the middle of
   the box stays);
3. reduced to at most :data:`CUT_SIDE` px and padded to a white square, as catalog photos are;
   the descriptor then applies its own garment region inside it, as it does for a catalog photo.

The proposal is the same background model on the whole picture: what the flood from the
picture's edge does not reach is the garment (and whoever wears it). Everything runs on small
copies (:data:`WORK_SIDE`): a few milliseconds for any photo.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the upright picture

WHOLE: Box = (0.0, 0.0, 1.0, 1.0)
MIN_SIDE = 0.05  # a box narrower or lower than this share of the picture is refused
WORK_SIDE = 320  # the background model runs on a copy this large (long side)
EDGE_COLOURS = 4  # the edge's background is at most this many colours (a wall and a floor, a bedspread)
EDGE_SHARE = 0.08  # ... each at least this share of the edge; rarer edge colours are the garment's
TOLERANCE = 40.0  # RGB distance from an edge colour still counted as background (noise, shading)
SPREAD = 2.5  # ... or this many times the colour's own spread along the edge, if larger,
MAX_TOLERANCE = 80.0  # ... but never more: a busy edge must not whiten the shirt
MARGIN = 0.03  # the proposed box leaves this much room around what it found (share of its side)
MIN_FOUND = 0.02  # a row or column holds the garment when this share of it is not background
STUDIO_LIGHT = 215  # an edge whose main colours are all this light in every channel is a studio backdrop
KEEPS_AT_LEAST = 0.1  # whitening that would leave less of the box than this is a close-up's: none is done
WHITE = (255, 255, 255)
CUT_SIDE = 1024  # a cut-out is at most this large before it is padded to a square (the model sees 224)
MAX_SWEEPS = 64  # row-and-column passes of the flood; a spiral of background could need more, and stays


def parse_box(text: str) -> Box:
    """``x0,y0,x1,y1`` (fractions of the upright picture) as a :data:`Box`, or ValueError."""
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)):
        raise ValueError(f"a box is four fractions x0,y0,x1,y1 (for example 0.1,0.2,0.8,0.9), not {text[:40]!r}")
    return check_box(values)  # type: ignore[arg-type]


def check_box(box: Box) -> Box:
    """``box`` if it lies inside the picture and is at least :data:`MIN_SIDE` wide and high."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise ValueError(f"a box needs 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, not {x0:g},{y0:g},{x1:g},{y1:g}")
    if x1 - x0 < MIN_SIDE - 1e-9 or y1 - y0 < MIN_SIDE - 1e-9:  # 0.30 - 0.25 is 0.0499... in binary
        raise ValueError(f"a box must be at least {MIN_SIDE:g} of the picture wide and high")
    return (x0, y0, x1, y1)


def background(img: Image.Image | np.ndarray) -> np.ndarray:
    """True where ``img`` is background, on a copy at most :data:`WORK_SIDE` px on the long side
    (``img`` may be that copy already: :func:`work_copy`): close to one of the colours along the
    picture's edge and joined to the edge through such pixels. Computed once per photo;
    :func:`propose_box` and :func:`cut_out` both use it, so a box that cuts through the garment
    never makes the garment's own colours background."""
    return _background(img if isinstance(img, np.ndarray) else work_copy(img))


def studio_shot(img: Image.Image | np.ndarray) -> bool:
    """Whether ``img`` (or its :func:`work_copy`) is on a light, plain backdrop along all its
    edge, as catalog photos are: such a photo is framed like them already and is searched as it is."""
    edge = _edge(img if isinstance(img, np.ndarray) else work_copy(img))
    return all(colour.min() >= STUDIO_LIGHT for colour, _ in _edge_colours(edge))


def propose_box(img: Image.Image, mask: np.ndarray | None = None) -> Box:
    """The box around what is not background in ``img`` (the whole picture when nothing is)."""
    found = ~(background(img) if mask is None else mask)
    rows = np.flatnonzero(found.mean(axis=1) >= MIN_FOUND)
    cols = np.flatnonzero(found.mean(axis=0) >= MIN_FOUND)
    if len(rows) == 0 or len(cols) == 0:
        return WHOLE
    h, w = found.shape
    x0, x1 = cols[0] / w, (cols[-1] + 1) / w
    y0, y1 = rows[0] / h, (rows[-1] + 1) / h
    mx, my = MARGIN * (x1 - x0), MARGIN * (y1 - y0)
    box = (max(0.0, x0 - mx), max(0.0, y0 - my), min(1.0, x1 + mx), min(1.0, y1 + my))
    # four decimals, rounded outward: never narrower than what was found
    box = (
        float(np.floor(box[0] * 1e4) / 1e4),
        float(np.floor(box[1] * 1e4) / 1e4),
        float(min(1.0, np.ceil(box[2] * 1e4) / 1e4)),
        float(min(1.0, np.ceil(box[3] * 1e4) / 1e4)),
    )
    if box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
        return WHOLE
    return box


def cut_out(img: Image.Image, box: Box, mask: np.ndarray | None = None) -> Image.Image:
    """The part of ``img`` inside ``box``, its background white, padded to a white square.
    When whitening would leave almost nothing (a close-up: the shirt itself reaches the
    picture's edge and its colours are the edge's), nothing is whitened."""
    x0, y0, x1, y1 = check_box(box)
    mask = background(img) if mask is None else mask
    w, h = img.size
    left, top = min(w - 1, int(round(x0 * w))), min(h - 1, int(round(y0 * h)))  # at least a pixel, inside
    right, bottom = max(left + 1, int(round(x1 * w))), max(top + 1, int(round(y1 * h)))
    crop = img.crop((left, top, right, bottom))
    if max(crop.size) > CUT_SIDE:  # the model sees 224 px: a larger cut-out only costs memory
        crop = crop.resize(_fit(crop.size, CUT_SIDE), Image.BOX)
    crop = crop.convert("RGB")
    mh, mw = mask.shape
    inside = mask[
        int(y0 * mh) : max(int(y0 * mh) + 1, int(np.ceil(y1 * mh))),
        int(x0 * mw) : max(int(x0 * mw) + 1, int(np.ceil(x1 * mw))),
    ]
    if 1.0 - inside.mean() >= KEEPS_AT_LEAST:
        white = Image.fromarray(inside.astype(np.uint8) * 255)
        # grown by a pixel (the seam between shirt and background is neither), scaled to the crop
        white = white.filter(ImageFilter.MaxFilter(3)).resize(crop.size, Image.BILINEAR)
        crop.paste(WHITE, mask=white)
    side = max(crop.size)
    square = Image.new("RGB", (side, side), WHITE)
    square.paste(crop, ((side - crop.width) // 2, (side - crop.height) // 2))
    return square


def draw_box(img: Image.Image, box: Box, width: int = 3) -> Image.Image:
    """A copy of ``img`` with ``box`` drawn on it, to show which part of an upload is searched."""
    out = img.convert("RGB")
    w, h = out.size
    x0, y0, x1, y1 = box
    rect = (x0 * (w - 1), y0 * (h - 1), x1 * (w - 1), y1 * (h - 1))
    draw = ImageDraw.Draw(out)
    draw.rectangle(rect, outline=(255, 255, 255), width=width + 2)  # a light halo: visible on any photo
    draw.rectangle(rect, outline=(230, 30, 90), width=width)
    return out


def work_copy(img: Image.Image) -> np.ndarray:
    """``img`` at most WORK_SIDE px on the long side, lightly blurred (sensor noise, weave), float:
    what :func:`background` and :func:`studio_shot` look at. Made once per photo."""
    small = img.resize(_fit(img.size, WORK_SIDE), Image.BOX) if max(img.size) > WORK_SIDE else img
    return np.asarray(small.convert("RGB").filter(ImageFilter.BoxBlur(1)), dtype=np.float32)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` scaled to ``side`` px on its long side, each side at least a pixel."""
    scale = side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _background(pixels: np.ndarray) -> np.ndarray:
    """True where a pixel is background: close to one of the edge's main colours and joined to
    the edge through such pixels."""
    h, w, _ = pixels.shape
    edge = _edge(pixels)
    near = np.zeros((h, w), bool)
    for colour, spread in _edge_colours(edge):
        limit = min(max(TOLERANCE, SPREAD * spread), MAX_TOLERANCE)
        near |= np.linalg.norm(pixels - colour, axis=2) <= limit
    return joined_to_edge(near)


def joined_to_edge(near: np.ndarray, sweeps: int = MAX_SWEEPS) -> np.ndarray:
    """The ``near`` pixels joined to the picture's edge through ``near`` pixels: grown along
    rows, then columns, until nothing changes or after ``sweeps`` passes (a flood fill in numpy;
    PIL's floodfill is a Python loop, ~300 ms on a work copy)."""
    reached = np.zeros(near.shape, bool)
    reached[[0, -1], :] = near[[0, -1], :]
    reached[:, [0, -1]] |= near[:, [0, -1]]
    for _ in range(sweeps):
        grown = _along_rows(_along_rows(reached, near).T, near.T).T
        if (grown == reached).all():
            break
        reached = grown
    return reached


def _along_rows(reached: np.ndarray, near: np.ndarray) -> np.ndarray:
    """``reached`` grown along each row through runs of ``near`` pixels."""
    h, w = near.shape
    padded = np.zeros((h, w + 1), bool)  # a False column: no run continues into the next row
    padded[:, :w] = near
    flat = padded.ravel()
    starts = flat & ~np.concatenate(([False], flat[:-1]))
    run = np.cumsum(starts) * flat  # each near pixel's run number, 0 elsewhere
    hit = np.zeros(int(run.max()) + 1, bool)
    hit[run.reshape(h, w + 1)[:, :w][reached]] = True
    hit[0] = False
    return hit[run].reshape(h, w + 1)[:, :w]


def _edge(pixels: np.ndarray) -> np.ndarray:
    """The pixels along the picture's edge, (n, 3)."""
    return np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])


def _edge_colours(edge: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """The edge's main colours (each at least EDGE_SHARE of it) and each one's spread (RMS)."""
    strip = Image.fromarray(edge.astype(np.uint8)[None])
    quantised = strip.quantize(EDGE_COLOURS, method=Image.Quantize.MEDIANCUT)
    labels = np.asarray(quantised)[0]
    out = []
    for label in np.unique(labels):
        members = edge[labels == label]
        if len(members) < EDGE_SHARE * len(edge):
            continue
        colour = members.mean(axis=0)
        spread = float(np.sqrt(((members - colour) ** 2).sum(axis=1).mean()))
        out.append((colour, spread))
    return out
