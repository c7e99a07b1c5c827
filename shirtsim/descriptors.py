"""What is compared: descriptor kinds (what the cache stores) and similarity modes (how they are weighed).

Two descriptor kinds are stored per image:

- ``seed``: the notebook's embedding, VGG16 ``block5_pool`` (7x7x512) flattened to 25,088
  values, on the whole picture resized to 224x224 with nearest-neighbour, as
  ``keras.utils.load_img`` does.
- ``style`` (757 float32 values, 3 KB): a texture part and a colour part, both taken from the
  garment region of the photo (see :data:`GARMENT_BOX`: product photos show a model, and the
  head, legs and background say nothing about the shirt):

  * texture: the square root of the per-channel mean of VGG16 ``block4_conv3`` over the
    garment region of its 28x28 map, with the network seeing the whole picture as in ``seed``
    (so one forward pass serves both kinds). Channel means of a mid-level layer are texture
    statistics (the diagonal of a Gram matrix); the square root tempers bursty channels.
    Measured: cropping the picture before the network scored lower than pooling the crop.
  * colour: a 5x7x7 histogram of the crop's pixels in CIE Lab (perceptual: equal steps look
    equally different), smoothed so that neighbouring shades still match, then square-rooted
    (Hellinger).

Every mode but ``seed`` reads the same ``style`` vectors: the mode only sets how much the
texture and colour cosines count, ``w * cos(texture) + (1 - w) * cos(colour)``, which is the
plain cosine of the two parts scaled by ``sqrt(w)`` and ``sqrt(1 - w)``.  So switching modes in
the app re-weighs the query alone, never re-embeds the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


# (left, top, right, bottom) as fractions of the picture: the torso of a model photo; for a
# flat product shot it is the body of the shirt, which is what should be compared there too.
GARMENT_BOX = (0.15, 0.15, 0.85, 0.70)
TEXTURE_BOX = (0.20, 0.20, 0.80, 0.65)  # a little tighter on the feature map, whose cells see wide
TEXTURE_LAYER = "block4_conv3"
TEXTURE_DIM = 512
LAB_BINS = (5, 7, 7)  # L, a, b
LAB_RANGES = ((0.0, 100.0), (-80.0, 80.0), (-80.0, 80.0))
COLOUR_DIM = int(np.prod(LAB_BINS))
COLOUR_PIXELS = (48, 48)  # the crop is resized to this before the histogram: same work for any photo
STYLE_VERSION = "style3"  # part of the cache fingerprint: change it whenever the recipe above changes


@dataclass(frozen=True)
class Kind:
    name: str
    layers: tuple[str, ...]
    dim: int
    fingerprint: str
    # May the network run in bfloat16 where the CPU has it natively? Twice the speed; the
    # style descriptor's channel means move by ~0.3% and the quality figures did not change
    # (README, Quality). Never for ``seed``: it must be the notebook's float32 embedding.
    bfloat16: bool = False


SEED_KIND = Kind("seed", ("block5_pool",), 7 * 7 * 512, "seed1")
STYLE_KIND = Kind("style", (TEXTURE_LAYER,), TEXTURE_DIM + COLOUR_DIM, STYLE_VERSION, bfloat16=True)
KINDS = {k.name: k for k in (SEED_KIND, STYLE_KIND)}


@dataclass(frozen=True)
class Mode:
    name: str
    kind: Kind
    texture_weight: float  # ignored by ``seed``
    help: str


MODES = {
    m.name: m
    for m in (
        Mode("balanced", STYLE_KIND, 0.6, "pattern and colour together (default)"),
        Mode("pattern", STYLE_KIND, 0.9, "mostly pattern and cut, any colour"),
        Mode("colour", STYLE_KIND, 0.15, "mostly colour, any pattern"),
        Mode("seed", SEED_KIND, 1.0, "the notebook's flattened block5_pool cosine"),
    )
}
DEFAULT_MODE = "balanced"


def _box(height: int, width: int, box=GARMENT_BOX) -> tuple[slice, slice]:
    left, top, right, bottom = box
    rows = slice(int(top * height), max(int(top * height) + 1, int(bottom * height)))
    cols = slice(int(left * width), max(int(left * width) + 1, int(right * width)))
    return rows, cols


def describe(kind: Kind, layer_outputs: dict[str, np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """Descriptors (B, kind.dim) float32 from one batch's layer outputs and its model inputs."""
    if kind is SEED_KIND:
        out = layer_outputs["block5_pool"]
        return out.reshape(len(out), -1).astype(np.float32)
    feats = layer_outputs[TEXTURE_LAYER].astype(np.float32)
    rows, cols = _box(*feats.shape[1:3], box=TEXTURE_BOX)
    texture = np.sqrt(np.maximum(feats[:, rows, cols].mean(axis=(1, 2)), 0.0))
    colour = np.stack([colour_histogram(x) for x in inputs])
    return np.hstack([texture, colour]).astype(np.float32)


def colour_histogram(pixels: np.ndarray) -> np.ndarray:
    """Square-rooted, smoothed Lab histogram of an RGB uint8 picture (H, W, 3) -> (COLOUR_DIM,)."""
    rows, cols = _box(*pixels.shape[:2])
    small = np.asarray(Image.fromarray(np.ascontiguousarray(pixels[rows, cols])).resize(COLOUR_PIXELS, Image.BILINEAR))
    lab = rgb_to_lab(small).reshape(-1, 3)
    hist, _ = np.histogramdd(lab, bins=LAB_BINS, range=LAB_RANGES)
    hist = _smooth(hist / max(1, len(lab)))
    return np.sqrt(hist.ravel()).astype(np.float32)


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
