"""Descriptors of pictures: the model's forward pass through the layers a kind reads, then the
kind's own arithmetic (:func:`shirtsim.describe.descriptors.describe`). Uploads, index builds and
the colour-direction fit all describe pictures this one way."""

from __future__ import annotations

import numpy as np

from shirtsim.describe.descriptors import STYLE_KIND, Kind, describe
from shirtsim.describe.texture import basis_for
from shirtsim.model.arithmetic import uses_bfloat16, uses_int8
from shirtsim.model.vgg16 import Embedder


def embed(embedder: Embedder, kind: Kind, inputs: np.ndarray) -> np.ndarray:
    """Descriptors (B, dim) for a batch of model inputs (B, 224, 224, 3) uint8."""
    basis = basis_for(embedder) if kind is STYLE_KIND else None
    maps = embedder.forward(inputs, kind.layers, bfloat16=uses_bfloat16(kind), int8=uses_int8(kind))
    return describe(kind, maps, inputs, basis)
