"""What is compared: descriptor kinds (what the cache stores) and similarity modes (how they are weighed).

Two descriptor kinds are stored per image:

- ``seed``: the notebook's embedding, VGG16 ``block5_pool`` (7x7x512) flattened to 25,088
  values, on the whole picture resized to 224x224 with nearest-neighbour, as
  ``keras.utils.load_img`` does.
- ``style`` (996 float32 values, 3.9 KB): two texture parts and two colour parts, all taken from
  the garment region of the photo (see :data:`GARMENT_BOX`: product photos show a model, and the
  head, legs and background say nothing about the shirt):

  * texture: second-order statistics (a Gram matrix) of VGG16 ``block4_conv3`` over the garment
    region of its 28x28 map, the network seeing the whole picture as in ``seed`` (one forward
    pass serves both kinds). The 512 channels are square-rooted (tempers bursty channels) and
    projected onto a fixed 32-channel basis (a PCA fitted without labels, one per set of
    weights: :mod:`shirtsim.describe.texture`) so the Gram's upper triangle is 528 values; each is
    signed-square-rooted. Which channels fire *together* is what tells a check from a stripe:
    with the channel means instead, pattern precision was lower (docs/quality.md).
  * periodicity: how the brightness of the same region repeats, from the pixels (31 values): its
    power spectrum in 6 bands of scale by 5 of direction, each band's share of the whole, plus the
    contrast. A stripe's or a check's repeat finer than the network's 8-pixel cells is still
    seen here, and which way it runs (it raised cross-fitted pattern precision: docs/quality.md).
  * colour: two histograms of the crop's pixels, a 5x7x7 CIE Lab one (perceptual: equal steps
    look equally different), smoothed so that neighbouring shades still match, and a 12x4x4 HSV
    one (hue-first, as shops name colours); both square-rooted (Hellinger). Two quantisations
    of the same pixels disagree on different borderline shades, so together they match colour
    better than either (measured: baseColour +0.02 at the same pattern precision).

Every mode but ``seed`` reads the same ``style`` vectors: the mode only sets how much each part
counts, ``w * (0.7 cos(texture) + 0.3 cos(periodicity)) + (1 - w) / 2 * (cos(lab) + cos(hsv))``
(the periodicity's share of the texture side is :data:`PERIODICITY_SHARE`), the plain cosine of
the parts scaled by the square roots of their weights. So switching modes in the app re-weighs
the query alone, never re-embeds the catalog. A learned projection (:mod:`shirtsim.describe.projection`)
appends two more named parts, ``texture_learned`` and ``colour_learned``, when the index is built;
the cache keeps the raw vectors, so a new projection never re-embeds either.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image

# (left, top, right, bottom) as fractions of the picture: the torso of a model photo; for a
# flat product shot it is the body of the shirt, which is what should be compared there too.
GARMENT_BOX = (0.15, 0.15, 0.85, 0.70)
TEXTURE_BOX = (0.20, 0.20, 0.80, 0.65)  # a little tighter on the feature map, whose cells see wide
TEXTURE_LAYER = "block4_conv3"
TEXTURE_CHANNELS = 32  # the Gram of 32 projected channels: 528 values (512 would need 131,328)
TEXTURE_DIM = TEXTURE_CHANNELS * (TEXTURE_CHANNELS + 1) // 2
LAB_BINS = (5, 7, 7)  # L, a, b
LAB_RANGES = ((0.0, 100.0), (-80.0, 80.0), (-80.0, 80.0))
HSV_BINS = (12, 4, 4)  # hue, saturation, value (PIL's 0..255 scale)
COLOUR_DIM = int(np.prod(LAB_BINS)) + int(np.prod(HSV_BINS))
COLOUR_PIXELS = (48, 48)  # the crop is resized to this before the histogram: same work for any photo
PERIODICITY_PIXELS = 128  # the texture box is resized to this square before its spectrum (about its size)
PERIODICITY_BANDS = 6  # of scale, log-spaced from 2 cycles per box to the finest (2 pixels)
PERIODICITY_ANGLES = 5  # of direction, over 180 degrees
PERIODICITY_DIM = PERIODICITY_BANDS * PERIODICITY_ANGLES + 1  # plus the contrast
# The periodicity part's share of the texture side (the Gram has the rest): chosen by
# cross-fitting with the learned parts (mean 0.6313 against 0.6306 at 0.15 and 0.6298 at none).
PERIODICITY_SHARE = 0.3
STYLE_VERSION = "style6"  # part of the cache fingerprint: change it whenever the recipe above (or decoding) changes


@dataclass(frozen=True)
class Kind:
    name: str
    layers: tuple[str, ...]
    dim: int
    fingerprint: str
    # Slices of the vector that are centred, normalised and weighed separately (search.py), and
    # the length each part is stored at. The lengths shape the stored geometry only (what an
    # approximate index clusters on); ``weigh`` divides them out, so scores do not depend on them.
    parts: tuple[slice, ...] = (slice(None),)
    part_lengths: tuple[float, ...] = (1.0,)
    part_names: tuple[str, ...] = ("seed",)
    # May the network run in bfloat16 where the CPU has it natively? Several times faster; the
    # block4_conv3 activations move by ~0.3% and the quality figures did not change
    # (docs/quality.md). Never for ``seed``: it must be the notebook's float32 embedding.
    bfloat16: bool = False

    @property
    def layout(self) -> Layout:
        """The parts of this kind's vectors as stored, before any learned projection."""
        return Layout(self.part_names, self.parts, self.part_lengths, self.dim)


@dataclass(frozen=True)
class Layout:
    """The named parts of a prepared vector: what is centred, normalised (to ``lengths``) and
    weighed separately. A kind's own (:attr:`Kind.layout`) or a projection's (more parts)."""

    names: tuple[str, ...]
    parts: tuple[slice, ...]
    lengths: tuple[float, ...]
    dim: int


SEED_KIND = Kind("seed", ("block5_pool",), 7 * 7 * 512, "seed2")  # seed2: photos of 2048+ px decode reduced
COLOUR_START = TEXTURE_DIM + PERIODICITY_DIM  # the texture side comes first, then the colour side
_LAB_END = COLOUR_START + int(np.prod(LAB_BINS))
STYLE_KIND = Kind(
    "style",
    (TEXTURE_LAYER,),
    COLOUR_START + COLOUR_DIM,
    STYLE_VERSION,
    parts=(
        slice(0, TEXTURE_DIM),
        slice(TEXTURE_DIM, COLOUR_START),
        slice(COLOUR_START, _LAB_END),
        slice(_LAB_END, COLOUR_START + COLOUR_DIM),
    ),
    # The Gram and the colour side as long as each other, as before colour had two histograms:
    # faiss IVF's recall in pattern mode fell from 0.96 to 0.90 with three unit parts. The
    # periodicity part at 0.4: IVF recall in every mode at or above its level before the part
    # (0.3 to 0.6 tried: docs/quality.md).
    part_lengths=(1.0, 0.4, 0.5**0.5, 0.5**0.5),
    part_names=("texture", "periodicity", "lab", "hsv"),
    bfloat16=True,
)


class TextureBasis(NamedTuple):
    mean: np.ndarray  # (512,) mean of the square-rooted block4_conv3 activations
    components: np.ndarray  # (TEXTURE_CHANNELS, 512)


@dataclass(frozen=True)
class Mode:
    """How much each part of the descriptor counts. ``texture_weight`` is the texture side's
    share of the score on the raw parts (the colour parts share the rest); with a learned
    projection, ``learned`` = (texture side's share, the learned part's share of the texture
    side, the learned part's share of the colour side), chosen by cross-fitting (docs/quality.md)."""

    name: str
    kind: Kind
    texture_weight: float  # ignored by ``seed``
    help: str
    learned: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def part_weights(self, names: tuple[str, ...] | None = None) -> tuple[float, ...]:
        """The weight of each named part in the score (``names``: a layout's, default the kind's
        own). They sum to 1; a learned part that is absent gives its share back to its side."""
        names = names or self.kind.part_names
        if len(names) == 1:
            return (1.0,)
        has = set(names)
        texture_side, learned_t, learned_c = self.learned if has & LEARNED_PARTS else (self.texture_weight, 0.0, 0.0)
        learned_t = learned_t if "texture_learned" in has else 0.0
        learned_c = learned_c if "colour_learned" in has else 0.0
        colour_side = 1.0 - texture_side
        weights = {
            "texture": texture_side * (1.0 - learned_t) * (1.0 - PERIODICITY_SHARE),
            "periodicity": texture_side * (1.0 - learned_t) * PERIODICITY_SHARE,
            "texture_learned": texture_side * learned_t,
            "lab": colour_side * (1.0 - learned_c) / 2,
            "hsv": colour_side * (1.0 - learned_c) / 2,
            "colour_learned": colour_side * learned_c,
        }
        return tuple(weights[n] for n in names)


LEARNED_PARTS = {"texture_learned", "colour_learned"}
# Raw-part texture weights chosen on real-shirts-dev (docs/quality.md): 0.6-0.65 is a plateau of
# the mean precision; 0.65 keeps pattern and colour equally far above the floors. The
# ``learned`` weights were chosen by cross-fitting the two halves of real-shirts-dev
# (``python benchmarks/crossfit.py`` prints them): balanced for the widest margin over the
# quality goals of every column at once, pattern for pattern and cut, colour for colour, each
# keeping the demo catalog's own figures for the columns it is about.
MODES = {
    m.name: m
    for m in (
        Mode("balanced", STYLE_KIND, 0.65, "pattern and colour together (default)", (0.7, 0.6, 0.6)),
        Mode("pattern", STYLE_KIND, 0.9, "mostly pattern and cut, any colour", (0.9, 0.7, 0.1)),
        Mode("colour", STYLE_KIND, 0.2, "mostly colour, any pattern", (0.2, 0.4, 0.2)),
        Mode("seed", SEED_KIND, 1.0, "the notebook's flattened block5_pool cosine"),
    )
}
DEFAULT_MODE = "balanced"


def box_slices(height: int, width: int, box: tuple[float, float, float, float] = GARMENT_BOX) -> tuple[slice, slice]:
    """The rows and columns of a ``height`` x ``width`` grid (picture or feature map) inside ``box``."""
    left, top, right, bottom = box
    rows = slice(int(top * height), max(int(top * height) + 1, int(bottom * height)))
    cols = slice(int(left * width), max(int(left * width) + 1, int(right * width)))
    return rows, cols


def describe(
    kind: Kind, layer_outputs: dict[str, np.ndarray], inputs: np.ndarray, basis: TextureBasis | None = None
) -> np.ndarray:
    """Descriptors (B, kind.dim) float32 from one batch's layer outputs and its model inputs
    (``style`` needs the weights' texture basis: :func:`shirtsim.describe.texture.basis_for`)."""
    if kind is SEED_KIND:
        out = layer_outputs["block5_pool"]
        return out.reshape(len(out), -1).astype(np.float32)
    texture = texture_gram(layer_outputs[TEXTURE_LAYER], basis)
    repeats = np.stack([periodicity(x) for x in inputs])
    colour = np.stack([colour_histograms(x) for x in inputs])
    return np.hstack([texture, repeats, colour]).astype(np.float32)


def garment_activations(feature_maps: np.ndarray) -> np.ndarray:
    """Square-rooted ``block4_conv3`` activations of the garment cells: (B, cells, 512)."""
    rows, cols = box_slices(*feature_maps.shape[1:3], box=TEXTURE_BOX)
    cells = np.asarray(feature_maps[:, rows, cols], np.float32)
    return np.sqrt(np.maximum(cells, 0.0)).reshape(len(cells), -1, cells.shape[-1])


def texture_gram(feature_maps: np.ndarray, basis: TextureBasis) -> np.ndarray:
    """The texture part (B, TEXTURE_DIM) from ``block4_conv3`` outputs (B, 28, 28, 512)."""
    cells = garment_activations(feature_maps) - basis.mean
    # One BLAS product per picture, not one over the whole batch: a product's rounding may depend
    # on its row count, and a picture's vector must not depend on what it was batched with (the
    # same picture alone or in an index build: the same vector; docs/similarity.md, "Reproducible").
    projected = np.matmul(cells, basis.components.T)
    gram = np.matmul(projected.transpose(0, 2, 1), projected) / projected.shape[1]  # BLAS, unlike einsum here
    rows, cols = np.triu_indices(TEXTURE_CHANNELS)
    upper = gram[:, rows, cols]
    return np.sign(upper) * np.sqrt(np.abs(upper))


def periodicity(pixels: np.ndarray) -> np.ndarray:
    """The periodicity part (PERIODICITY_DIM,) of an RGB uint8 picture (H, W, 3): the power
    spectrum of the texture box's brightness (mean removed, Hann-windowed so the box's edges do
    not count as a repeat) summed in bands of scale and direction, each as log(1 + 1000 x its
    share of the whole), then log(1 + the brightness variance the bands hold): how strong the
    pattern is at all."""
    rows, cols = box_slices(*pixels.shape[:2], box=TEXTURE_BOX)
    crop = Image.fromarray(np.ascontiguousarray(pixels[rows, cols])).convert("L")
    grey = np.asarray(crop.resize((PERIODICITY_PIXELS,) * 2, Image.BILINEAR), np.float64)
    window = np.hanning(PERIODICITY_PIXELS)
    power = np.abs(np.fft.fft2((grey - grey.mean()) * np.outer(window, window))) ** 2
    cells = PERIODICITY_BANDS * PERIODICITY_ANGLES
    sums = np.bincount(_spectrum_bins().ravel(), weights=power.ravel(), minlength=cells + 1)[:cells]
    total = float(sums.sum())
    shares = np.log1p(1000.0 * sums / total) if total > 0 else np.zeros(cells)
    return np.append(shares, np.log1p(total / PERIODICITY_PIXELS**4)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _spectrum_bins() -> np.ndarray:
    """Each frequency of the spectrum's band-and-direction cell; the last (left out) holds the
    mean and what lies outside the bands."""
    freq = np.fft.fftfreq(PERIODICITY_PIXELS)
    fy, fx = np.meshgrid(freq, freq, indexing="ij")
    band = np.digitize(np.hypot(fx, fy), np.geomspace(2 / PERIODICITY_PIXELS, 0.5, PERIODICITY_BANDS + 1)) - 1
    direction = np.mod(np.arctan2(fy, fx), np.pi) / np.pi * PERIODICITY_ANGLES
    cell = band * PERIODICITY_ANGLES + np.minimum(direction.astype(np.int64), PERIODICITY_ANGLES - 1)
    inside = (band >= 0) & (band < PERIODICITY_BANDS)
    return np.where(inside, cell, PERIODICITY_BANDS * PERIODICITY_ANGLES)


def colour_histograms(pixels: np.ndarray) -> np.ndarray:
    """The colour parts (COLOUR_DIM,) of an RGB uint8 picture (H, W, 3): Lab, then HSV."""
    rows, cols = box_slices(*pixels.shape[:2])
    small = Image.fromarray(np.ascontiguousarray(pixels[rows, cols])).resize(COLOUR_PIXELS, Image.BILINEAR)
    lab_hist = _smooth(_histogram(rgb_to_lab(np.asarray(small)).reshape(-1, 3), LAB_BINS, LAB_RANGES))
    hsv = np.asarray(small.convert("HSV")).reshape(-1, 3)
    hsv_hist = _histogram(hsv, HSV_BINS, ((0, 256),) * 3)
    return np.sqrt(np.concatenate([lab_hist.ravel(), hsv_hist.ravel()])).astype(np.float32)


def _histogram(values: np.ndarray, bins: tuple[int, ...], ranges: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Normalised histogram of (N, D) values on a regular grid. Values outside ``ranges`` count
    in the edge bins: saturated sRGB reaches a = 98 (magenta) and b = -108 (blue) in Lab, and
    dropping them (as ``np.histogramdd`` does) would leave such a shirt no colour at all. One
    ``bincount`` instead of ``histogramdd``'s sorted edge search: 10x faster per image."""
    lows = np.array([lo for lo, _ in ranges], np.float32)
    widths = np.array([(hi - lo) / b for (lo, hi), b in zip(ranges, bins)], np.float32)
    cells = np.clip(((values - lows) / widths).astype(np.int64), 0, np.array(bins) - 1)
    counts = np.bincount(np.ravel_multi_index(cells.T, bins), minlength=int(np.prod(bins)))
    return (counts / max(1, len(values))).reshape(bins)


def _smooth(hist: np.ndarray) -> np.ndarray:
    """Spread each bin a little into its neighbours along every axis (a small Gaussian, sigma 0.7)."""
    kernel = np.array([0.14, 0.72, 0.14])  # ~ sampled Gaussian with sigma 0.7, sums to 1
    for axis in range(hist.ndim):
        padded = np.pad(hist, [(1, 1) if a == axis else (0, 0) for a in range(hist.ndim)], mode="edge")
        parts = [np.take(padded, range(i, i + hist.shape[axis]), axis=axis) for i in range(3)]
        hist = sum(w * p for w, p in zip(kernel, parts))
    return hist


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) to CIE Lab (D65)."""
    c = rgb.astype(np.float32) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], np.float32)
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883], np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)
